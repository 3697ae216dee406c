import { createHash } from 'node:crypto';
import path from 'node:path';
import type { RuntimeName } from '../domain/names.js';
import { precopyRoundDirName } from '../domain/precopy.js';

/**
 * Where a host keeps things, under its state directory:
 *   workloads/<runtime>/<name>/   metadata, captured output.log, runc bundle
 *   migrations/<id>/images/       checkpoint images (0700: they hold process memory)
 *   migrations/<id>/work/         CRIU logs and stats
 *   migrations/<id>/rounds/round-N/  pre-copy round N (0700); its parent link is ../round-(N-1)
 *   migrations/<id>/image/image.tar  a container image being shipped (0600, removed once loaded)
 *   logs/<id>/                    CRIU logs of failed steps and the freeze record of the migration
 *                                 (outlive it; retention in src/host/kept-logs.ts)
 *   snapshots/<id>/images/        a kept snapshot's checkpoint images (0700)
 *   snapshots/<id>/workload/      the workload's files as they were (bundle, metadata, output.log)
 *   snapshots/<id>/snapshot.json  its record and manifest (checksums of every file)
 *   runc/                         the runc state root of a simulated host (the dev environment
 *                                 sets runc.root to it; real hosts use runc's own /run/runc)
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
  roundsDir(migrationId: string): string {
    return path.join(this.migrationDir(migrationId), 'rounds');
  }
  roundDir(migrationId: string, round: number): string {
    return path.join(this.roundsDir(migrationId), precopyRoundDirName(round));
  }
  roundWorkDir(migrationId: string, round: number): string {
    return path.join(this.workDir(migrationId), precopyRoundDirName(round));
  }
  /** The container image archive a migration ships to a destination lacking it. */
  imageArchive(migrationId: string): string {
    return path.join(this.migrationDir(migrationId), 'image', 'image.tar');
  }
  logsRoot(): string {
    return path.join(this.stateDir, 'logs');
  }
  logsDir(migrationId: string): string {
    return path.join(this.logsRoot(), migrationId);
  }
  snapshotsRoot(): string {
    return path.join(this.stateDir, 'snapshots');
  }
  /** Callers pass a validated id (checkSnapshotId): it becomes a folder name. */
  snapshotDir(id: string): string {
    return path.join(this.snapshotsRoot(), id);
  }
  snapshotImagesDir(id: string): string {
    return path.join(this.snapshotDir(id), 'images');
  }
  snapshotWorkloadDir(id: string): string {
    return path.join(this.snapshotDir(id), 'workload');
  }
  snapshotRecordFile(id: string): string {
    return path.join(this.snapshotDir(id), 'snapshot.json');
  }
  /** A simulated host's own runc root; the runtime uses the config's runc.root. */
  runcRoot(): string {
    return path.join(this.stateDir, 'runc');
  }
  /**
   * Parent cgroup of this host's containers. Simulated hosts of several environments share
   * one kernel, so the name carries a hash of the state directory to keep them apart.
   */
  cgroupParent(host: string): string {
    return `/ferry/${host}-${this.stateHash()}`;
  }
  /** Short stable id of this state directory (cgroup and SSH control socket names). */
  stateHash(): string {
    return createHash('sha256').update(this.stateDir).digest('hex').slice(0, 12);
  }
}
