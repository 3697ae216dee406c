import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ErrorType } from '../domain/errors.js';
import type {
  CriuDumpStats,
  CriuOptions,
  CriuRestoreStats,
  WorkloadInfo,
  WorkloadNeeds,
} from '../domain/types.js';
import { ferryFailure } from '../domain/failures.js';
import { PODMAN_CAPABILITIES } from './podman-capabilities.js';
import { directorySize } from '../host/disk-usage.js';
import type { PodmanSettings } from '../host/engine-settings.js';
import { explainCriuFailure } from '../criu/criu.js';
import { CommandError, run } from '../exec/run.js';
import {
  containerNames,
  engineWorkloadInfo,
  missingImage,
  runArgs,
  type EngineInspect,
} from './container-engine.js';
import { DEV_IMAGE } from './dev-image.js';
import { criuFlags } from './criu-options.js';
import { missingHostPaths } from './needs.js';
import { restoreTimeoutMs } from './criu-steps.js';
import type {
  CheckpointOutcome,
  RestoreOutcome,
  RuntimeContext,
  SpawnOptions,
  Unfit,
  WorkloadRuntime,
} from './runtime.js';
import { removeTree } from './workload-files.js';

interface PodmanInspect extends EngineInspect {
  Name: string;
  ImageName: string;
}

/** `--print-stats` output of podman checkpoint/restore: CRIU's own figures. */
interface PodmanStats {
  container_statistics?: { criu_statistics?: Record<string, number> }[];
}

/** The archive podman checkpoint --export writes: images, rootfs changes, config, its log. */
const ARCHIVE = 'podman-checkpoint.tar';

/**
 * Podman containers, checkpointed with `podman container checkpoint --export` (one archive that
 * also carries the container's rootfs changes, its config and its log) and restored on the
 * destination with `podman container restore --import`, which recreates the container under the
 * same name. The image must already exist on the destination under the same name.
 * Each host may have its own storage (--root/--runroot) and containers.conf (CONTAINERS_CONF).
 */
export class PodmanRuntime implements WorkloadRuntime {
  readonly name = 'podman' as const;
  readonly capabilities = PODMAN_CAPABILITIES;
  constructor(
    private readonly ctx: RuntimeContext,
    private readonly settings: PodmanSettings = {},
  ) {}

  private podman(args: string[], opts: { timeoutMs?: number; logPath?: string } = {}) {
    const global = [
      ...(this.settings.root ? ['--root', this.settings.root] : []),
      ...(this.settings.runroot ? ['--runroot', this.settings.runroot] : []),
    ];
    const env: Record<string, string> = { ...(process.env as Record<string, string>) };
    if (this.settings.containersConf) env.CONTAINERS_CONF = this.settings.containersConf;
    return run('podman', [...global, ...args], { timeoutMs: 120_000, env, ...opts });
  }

  async unavailableReason(): Promise<string | undefined> {
    try {
      await this.podman(['version', '--format', '{{.Client.Version}}'], { timeoutMs: 20_000 });
      return undefined;
    } catch (err) {
      return `podman does not work here (${(err as Error).message.split('\n')[0]}); install the Debian package podman and see docs/runtimes.md (podman needs runc, cgroupfs and explicit ulimits on some hosts)`;
    }
  }

  private async inspectRaw(name: string): Promise<PodmanInspect | undefined> {
    try {
      const { stdout } = await this.podman(['container', 'inspect', name, '--format', 'json']);
      return (JSON.parse(stdout) as PodmanInspect[])[0];
    } catch (err) {
      if (err instanceof CommandError && /no such container/i.test(err.stderr)) return undefined;
      throw err;
    }
  }

  async list(): Promise<WorkloadInfo[]> {
    const { stdout } = await this.podman(['ps', '-a', '--format', '{{.Names}}']);
    const infos = await Promise.all(containerNames(stdout).map((n) => this.inspect(n)));
    return infos.filter((i): i is WorkloadInfo => i !== undefined);
  }

  async inspect(name: string): Promise<WorkloadInfo | undefined> {
    const c = await this.inspectRaw(name);
    if (!c) return undefined;
    return engineWorkloadInfo('podman', name, c, c.ImageName);
  }

  async output(name: string): Promise<string> {
    const r = await this.podman(['logs', name]).catch(() => ({ stdout: '', stderr: '' }));
    return r.stdout + (r.stdout && r.stderr ? '\n' : '') + r.stderr;
  }

  /** Named volumes travel inside the export archive; bind mounts are checked on the destination. */
  notMovable(): Promise<string[]> {
    return Promise.resolve([]);
  }

  async unfitFor(needs: WorkloadNeeds): Promise<Unfit[]> {
    return [
      ...(await missingImage(
        'podman',
        this.ctx.host,
        needs.image,
        (image) => this.podman(['image', 'exists', image]),
        'podman restore --import recreates the container from it',
      )),
      ...(await missingHostPaths(needs, this.ctx.host)),
    ];
  }

  async spawn(name: string, opts: SpawnOptions): Promise<WorkloadInfo> {
    await this.podman(runArgs(name, opts, DEV_IMAGE.podman));
    return (await this.inspect(name))!;
  }

  async startFresh(name: string): Promise<WorkloadInfo> {
    const c = await this.inspectRaw(name);
    if (!c)
      throw ferryFailure(
        ErrorType.WorkloadNotFound,
        `no podman container ${name} on ${this.ctx.host} to start fresh`,
      );
    await this.podman(['start', name]);
    return (await this.inspect(name))!;
  }

  async checkpoint(name: string, migrationId: string, opts: CriuOptions = {}): Promise<CheckpointOutcome> {
    const c = await this.inspectRaw(name);
    if (!c?.State.Running)
      throw ferryFailure(
        ErrorType.WorkloadNotRunning,
        `podman container ${name} is not running on ${this.ctx.host}`,
      );
    const archive = path.join(this.ctx.paths.imagesDir(migrationId), ARCHIVE);
    const logPath = path.join(this.ctx.paths.workDir(migrationId), 'dump.log');
    try {
      // Uncompressed: zstd costs more time than it saves on fast links (rsync compresses anyway).
      const { stdout } = await this.podman(
        [
          'container',
          'checkpoint',
          '--export',
          archive,
          '--compress',
          'none',
          '--print-stats',
          ...criuFlags(opts),
          name,
        ],
        { timeoutMs: 10 * 60_000 },
      );
      return { stats: dumpStats(stdout), logPath };
    } catch (err) {
      throw ferryFailure(
        ErrorType.CheckpointFailed,
        `podman checkpoint of ${name} failed: ${await explainCriuFailure(err)}`,
      );
    }
  }

  async restore(name: string, migrationId: string, opts: CriuOptions = {}): Promise<RestoreOutcome> {
    const archive = path.join(this.ctx.paths.imagesDir(migrationId), ARCHIVE);
    const work = this.ctx.paths.workDir(migrationId);
    await mkdir(work, { recursive: true, mode: 0o700 });
    // The checkpointed source container (stopped) or a failed earlier attempt holds the name.
    const existing = await this.inspectRaw(name);
    if (existing && !existing.State.Running) await this.podman(['rm', '-f', name]);
    try {
      const { stdout } = await this.podman(
        ['container', 'restore', '--import', archive, '--print-stats', ...criuFlags(opts)],
        { timeoutMs: restoreTimeoutMs(await directorySize(this.ctx.paths.imagesDir(migrationId))) },
      );
      const c = await this.inspectRaw(name);
      return { pid: c?.State.Pid, stats: restoreStats(stdout), logPath: path.join(work, 'restore.log') };
    } catch (err) {
      const why = await explainCriuFailure(err);
      await this.podman(['rm', '-f', name]).catch(() => undefined);
      throw ferryFailure(ErrorType.RestoreFailed, `podman restore of ${name} failed: ${why}`);
    }
  }

  async stop(name: string): Promise<void> {
    if (!(await this.inspectRaw(name))) return;
    await this.podman(['rm', '-f', '-t', '0', name]);
  }

  async removeFiles(name: string): Promise<void> {
    await removeTree(this.ctx.paths.workloadDir('podman', name));
  }
}

function criuStats(stdout: string): Record<string, number> {
  try {
    return (JSON.parse(stdout) as PodmanStats).container_statistics?.[0]?.criu_statistics ?? {};
  } catch {
    return {};
  }
}

export function dumpStats(stdout: string): CriuDumpStats {
  const s = criuStats(stdout);
  return {
    freezingTimeUs: s.freezing_time,
    frozenTimeUs: s.frozen_time,
    memdumpTimeUs: s.memdump_time,
    memwriteTimeUs: s.memwrite_time,
    pagesScanned: s.pages_scanned,
    pagesWritten: s.pages_written,
  };
}

export function restoreStats(stdout: string): CriuRestoreStats {
  const s = criuStats(stdout);
  return { forkingTimeUs: s.forking_time, restoreTimeUs: s.restore_time, pagesRestored: s.pages_restored };
}
