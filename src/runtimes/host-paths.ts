import path from 'node:path';
import type { RuntimeName } from '../domain/names.js';

/**
 * Where a host keeps things, under its state directory:
 *   workloads/<runtime>/<name>/   metadata, captured output.log, runc bundle
 *   migrations/<id>/images/       checkpoint images (0700: they hold process memory)
 *   migrations/<id>/work/         CRIU logs and stats
 *   runc/                         this host's runc state root
 * Every host uses the same layout, so a path on one host maps to the other's by stateDir.
 */
export class HostPaths {
  constructor(readonly stateDir: string) {}

  workloadsRoot(runtime: RuntimeName): string {
    return path.join(this.stateDir, 'workloads', runtime);
  }
  workloadDir(runtime: RuntimeName, name: string): string {
    return path.join(this.workloadsRoot(runtime), name);
  }
  outputLog(runtime: RuntimeName, name: string): string {
    return path.join(this.workloadDir(runtime, name), 'output.log');
  }
  migrationsRoot(): string {
    return path.join(this.stateDir, 'migrations');
  }
  migrationDir(migrationId: string): string {
    return path.join(this.migrationsRoot(), migrationId);
  }
  imagesDir(migrationId: string): string {
    return path.join(this.migrationDir(migrationId), 'images');
  }
  workDir(migrationId: string): string {
    return path.join(this.migrationDir(migrationId), 'work');
  }
  runcRoot(): string {
    return path.join(this.stateDir, 'runc');
  }
}
