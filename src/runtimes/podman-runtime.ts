import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { CriuDumpStats, CriuOptions, CriuRestoreStats } from '../domain/types.js';
import { explainCriuFailure } from '../criu/criu.js';
import { run } from '../exec/run.js';
import { directorySize } from '../host/disk-usage.js';
import type { PodmanSettings } from '../host/engine-settings.js';
import {
  ContainerEngineRuntime,
  ENGINE_CHECKPOINT_TIMEOUT_MS,
  type EngineInspect,
} from './container-engine.js';
import { criuFlags } from './criu-options.js';
import { restoreTimeoutMs } from './criu-steps.js';
import { PODMAN_CAPABILITIES } from './podman-capabilities.js';
import type { CheckpointOutcome, RestoreOutcome, RuntimeContext } from './runtime.js';

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
export class PodmanRuntime extends ContainerEngineRuntime<PodmanInspect> {
  readonly name = 'podman' as const;
  readonly capabilities = PODMAN_CAPABILITIES;
  protected readonly noSuchContainer = /no such container/i;
  protected readonly inspectFormat = ['--format', 'json'];
  protected readonly imageCheck = {
    args: (image: string) => ['image', 'exists', image],
    recreatedBy: 'podman restore --import recreates the container from it',
  };
  protected readonly removeAtOnce = ['-t', '0'];

  constructor(
    ctx: RuntimeContext,
    private readonly settings: PodmanSettings = {},
  ) {
    super(ctx);
  }

  protected engine(args: string[], opts: { timeoutMs?: number } = {}) {
    const global = [
      ...(this.settings.root ? ['--root', this.settings.root] : []),
      ...(this.settings.runroot ? ['--runroot', this.settings.runroot] : []),
    ];
    const env: Record<string, string> = { ...(process.env as Record<string, string>) };
    if (this.settings.containersConf) env.CONTAINERS_CONF = this.settings.containersConf;
    return run('podman', [...global, ...args], { timeoutMs: 120_000, env, ...opts });
  }

  protected imageOf(c: PodmanInspect): string {
    return c.ImageName;
  }

  async unavailableReason(): Promise<string | undefined> {
    try {
      await this.engine(['version', '--format', '{{.Client.Version}}'], { timeoutMs: 20_000 });
      return undefined;
    } catch (err) {
      return `podman does not work here (${(err as Error).message.split('\n')[0]}); install the Debian package podman and see docs/runtimes.md (podman needs runc, cgroupfs and explicit ulimits on some hosts)`;
    }
  }

  /** Named volumes travel inside the export archive; bind mounts are checked on the destination. */
  notMovable(): Promise<string[]> {
    return Promise.resolve([]);
  }

  async checkpoint(name: string, migrationId: string, opts: CriuOptions = {}): Promise<CheckpointOutcome> {
    await this.runningContainer(name);
    const archive = path.join(this.ctx.paths.imagesDir(migrationId), ARCHIVE);
    const logPath = path.join(this.ctx.paths.workDir(migrationId), 'dump.log');
    try {
      // Uncompressed: zstd costs more time than it saves on fast links (rsync compresses anyway).
      const { stdout } = await this.engine(
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
        { timeoutMs: ENGINE_CHECKPOINT_TIMEOUT_MS },
      );
      return { stats: dumpStats(stdout), logPath };
    } catch (err) {
      throw this.checkpointFailed(name, await explainCriuFailure(err));
    }
  }

  async restore(name: string, migrationId: string, opts: CriuOptions = {}): Promise<RestoreOutcome> {
    const archive = path.join(this.ctx.paths.imagesDir(migrationId), ARCHIVE);
    const work = this.ctx.paths.workDir(migrationId);
    await mkdir(work, { recursive: true, mode: 0o700 });
    await this.freeName(name);
    try {
      const { stdout } = await this.engine(
        ['container', 'restore', '--import', archive, '--print-stats', ...criuFlags(opts)],
        { timeoutMs: restoreTimeoutMs(await directorySize(this.ctx.paths.imagesDir(migrationId))) },
      );
      const c = await this.inspectRaw(name);
      return { pid: c?.State.Pid, stats: restoreStats(stdout), logPath: path.join(work, 'restore.log') };
    } catch (err) {
      throw await this.restoreFailed(name, await explainCriuFailure(err));
    }
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
