import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { CriuDumpStats, CriuRestoreStats } from '../domain/types.js';
import { explainCriuFailure } from '../criu/criu.js';
import { run } from '../exec/run.js';
import { directorySize } from '../host/disk-usage.js';
import type { PodmanSettings } from '../host/engine-settings.js';
import {
  ContainerEngineRuntime,
  ENGINE_CHECKPOINT_TIMEOUT_MS,
  shellLine,
  type EngineInspect,
} from './container-engine.js';
import { editMember } from './tar-member.js';
import { removeNamedCgroups } from './cgroups.js';
import { criuFlags } from './criu-options.js';
import { restoreTimeoutMs } from './criu-steps.js';
import { restoreScriptUnavailable, writeRestoreConfig } from '../criu/restore-config.js';
import { PODMAN_CAPABILITIES } from './podman-capabilities.js';
import type {
  CheckpointOptions,
  CheckpointOutcome,
  RestoreOptions,
  RestoreOutcome,
  RuntimeContext,
} from './runtime.js';

interface PodmanInspect extends EngineInspect {
  Name: string;
  ImageName: string;
  Pod?: string;
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, unknown> | null };
  Mounts?: { Type: string; Source: string; Destination: string; Name?: string }[];
}

/** The network podman attaches a container to when none is named (containers.conf default). */
const DEFAULT_NETWORK = 'podman';

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

  /** podman with this host's storage, inside its network namespace when it has one. */
  private argv(args: string[]): string[] {
    const s = this.settings;
    return [
      ...(s.netns ? ['nsenter', `--net=${s.netns}`] : []),
      'podman',
      ...(s.root ? ['--root', s.root] : []),
      ...(s.runroot ? ['--runroot', s.runroot] : []),
      ...args,
    ];
  }

  protected engine(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}) {
    const env: Record<string, string> = { ...(process.env as Record<string, string>), ...opts.env };
    if (this.settings.containersConf) env.CONTAINERS_CONF = this.settings.containersConf;
    const [file, ...rest] = this.argv(args);
    return run(file!, rest, { timeoutMs: 120_000, ...opts, env });
  }

  commandLine(args: string[]): string {
    const conf = this.settings.containersConf;
    return shellLine([...(conf ? [`CONTAINERS_CONF=${conf}`] : []), ...this.argv(args)]);
  }

  protected imageOf(c: PodmanInspect): string {
    return c.ImageName;
  }

  async unavailableReason(): Promise<string | undefined> {
    try {
      await this.engine(['version', '--format', '{{.Client.Version}}'], { timeoutMs: 20_000 });
    } catch (err) {
      return `podman does not work here (${(err as Error).message.split('\n')[0]}); install the Debian package podman and see docs/runtimes.md (podman needs runc, cgroupfs and explicit ulimits on some hosts)`;
    }
    return restoreScriptUnavailable();
  }

  /**
   * What the export archive and `restore --import` cannot carry. Volumes: podman refuses to
   * import one that exists, and the source's still does on a rollback; their data would also
   * stay behind on the source after a success.
   */
  async notMovable(name: string): Promise<string[]> {
    const c = await this.inspectRaw(name);
    if (!c) return [];
    const problems: string[] = [];
    for (const m of c.Mounts ?? [])
      if (m.Type === 'volume')
        problems.push(
          `podman volume ${m.Name ?? m.Source} (mounted at ${m.Destination}) lives on ${this.ctx.host} and ferry does not move volumes (a rollback could not import it again); use a bind mount of a path that exists on both hosts, or move the data first`,
        );
    if (c.Pod) problems.push(`it belongs to pod ${c.Pod}: ferry migrates single containers, not pods`);
    const mode = c.HostConfig?.NetworkMode ?? '';
    if (mode.startsWith('container:') || mode.startsWith('ns:'))
      problems.push(`network mode ${mode} joins a namespace that does not move with it`);
    const networks = Object.keys(c.NetworkSettings?.Networks ?? {}).filter((n) => n !== DEFAULT_NETWORK);
    if (networks.length)
      problems.push(
        `network ${networks.join(', ')}: ferry does not recreate podman networks; use the default network (${DEFAULT_NETWORK}), host or none`,
      );
    return problems;
  }

  async checkpoint(
    name: string,
    migrationId: string,
    opts: CheckpointOptions = {},
  ): Promise<CheckpointOutcome> {
    const c = await this.runningContainer(name);
    await this.owned.checkpointed(migrationId, name, c.Id);
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
          ...(opts.leaveRunning ? ['--leave-running'] : []),
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

  async restore(name: string, migrationId: string, opts: RestoreOptions = {}): Promise<RestoreOutcome> {
    const archive = path.join(this.ctx.paths.imagesDir(migrationId), ARCHIVE);
    const work = this.ctx.paths.workDir(migrationId);
    await mkdir(work, { recursive: true, mode: 0o700 });
    const archived = await hostNeutralArchive(archive);
    // A snapshot's restore (or one under another name) is a new container: podman gives it a new id.
    const clone = !!opts.freshId || (archived.name !== undefined && archived.name !== name);
    await this.makeRoom(name, migrationId);
    // `restore --import` keeps the container's id: what holds the name from now on is ours.
    if (archived.id && !clone) await this.owned.created(migrationId, name, archived.id);
    try {
      // lo up in the restored network namespace (runc restores it empty: src/criu/restore-config.ts).
      // Through conmon only HOME reaches CRIU: it reads $HOME/.criu/default.conf.
      const criuConfig = await writeRestoreConfig(work);
      const { stdout } = await this.engine(
        [
          'container',
          'restore',
          '--import',
          archive,
          '--print-stats',
          ...(clone ? ['--name', name] : []),
          ...criuFlags(opts),
        ],
        {
          timeoutMs: restoreTimeoutMs(await directorySize(this.ctx.paths.imagesDir(migrationId))),
          env: criuConfig.homeEnv,
        },
      );
      const c = await this.inspectRaw(name);
      if (clone && c) await this.owned.created(migrationId, name, c.Id);
      return { pid: c?.State.Pid, stats: restoreStats(stdout), logPath: path.join(work, 'restore.log') };
    } catch (err) {
      const why = await explainCriuFailure(err);
      const failure = await this.restoreFailed(name, migrationId, why);
      // The container's own cgroup (cgroupfs: PARENT/libpod-ID), made for CRIU, outlives the
      // container podman removed (found on cgroup v2: docs/cgroups.md). Its parent stays.
      if (archived.id) await removeNamedCgroups(`libpod-${archived.id}`);
      throw failure;
    }
  }
}

/**
 * The archive's container config (config.dump) records where the SOURCE host's conmon wrote its
 * pid files: podman restores them as they are, so the destination's conmon would write into the
 * source's run root (and fail when that folder does not exist there). Default locations are
 * cleared in place, so that podman derives them from the destination's run root; a pid file the
 * user chose (--conmon-pidfile, --pidfile) is kept. Returns the container's id.
 */
export async function hostNeutralArchive(archive: string): Promise<{ id?: string; name?: string }> {
  let found: { id?: string; name?: string } = {};
  await editMember(archive, 'config.dump', (text) => {
    found = JSON.parse(text) as { id?: string; name?: string };
    return found.id ? clearDefaultPidFiles(text, found.id) : text;
  });
  return { id: found.id, name: found.name };
}

/** config.dump text with the default conmon and container pid files of container id cleared. */
export function clearDefaultPidFiles(text: string, id: string): string {
  const defaults: Record<string, string> = { conmonPidFile: 'conmon.pid', pid_file: 'pidfile' };
  return text.replace(
    /"(conmonPidFile|pid_file)"(\s*):(\s*)"((?:[^"\\]|\\.)*)"/g,
    (whole, key: string, a, b, raw: string) => {
      const value = JSON.parse(`"${raw}"`) as string;
      const isDefault = value.endsWith(`-containers/${id}/userdata/${defaults[key]}`);
      return isDefault ? `"${key}"${a}:${b}""` : whole;
    },
  );
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
