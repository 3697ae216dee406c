import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorType } from '../domain/errors.js';
import { ferryFailure } from '../domain/failures.js';
import { explainCriuFailure } from '../criu/criu.js';
import { run } from '../exec/run.js';
import { directorySize } from '../host/disk-usage.js';
import type { DockerSettings } from '../host/engine-settings.js';
import {
  ContainerEngineRuntime,
  ENGINE_CHECKPOINT_TIMEOUT_MS,
  type EngineInspect,
} from './container-engine.js';
import { restoreTimeoutMs } from './criu-steps.js';
import { DOCKER_CAPABILITIES } from './docker-capabilities.js';
import type { CheckpointOutcome, RestoreOutcome, RuntimeContext } from './runtime.js';
import { readJson, writeJsonAtomic } from './workload-files.js';

/** The parts of `docker inspect` ferry reads and recreates. */
export interface DockerInspect extends EngineInspect {
  Id: string;
  Name: string;
  LogPath?: string;
  Config: {
    Image: string;
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Env?: string[] | null;
    Labels?: Record<string, string> | null;
    WorkingDir?: string;
    User?: string;
    Hostname?: string;
  };
  HostConfig: {
    NetworkMode?: string;
    RestartPolicy?: { Name: string; MaximumRetryCount: number };
    Binds?: string[] | null;
  };
  Mounts?: { Type: string; Source: string; Destination: string; Name?: string; RW?: boolean }[];
  GraphDriver?: { Name: string; Data?: { UpperDir?: string } | null };
}

const CHECKPOINT = 'ferry';
const SPEC = 'docker-container.json';
const ROOTFS_DIFF = 'rootfs-diff.tar';
const LOG = 'docker-json.log';

/**
 * Docker containers (dockerd --experimental). `docker checkpoint create` dumps into the
 * migration's images folder; the container's filesystem changes (its overlay upper dir), its
 * json log and its inspect record go along. On the destination the same container (image,
 * command, env, labels, restart policy, network mode, bind mounts) is created under the same
 * name, the checkpoint and the changes are put into it, and `docker start --checkpoint`
 * restores it. Named volumes cannot move: such a container is refused before any freeze.
 */
export class DockerRuntime extends ContainerEngineRuntime<DockerInspect> {
  readonly name = 'docker' as const;
  readonly capabilities = DOCKER_CAPABILITIES;
  protected readonly noSuchContainer = /no such (container|object)/i;
  protected readonly inspectFormat = [];
  protected readonly imageCheck = {
    args: (image: string) => ['image', 'inspect', image],
    recreatedBy: 'the container is recreated from it',
  };
  protected readonly removeAtOnce = [];
  private dataRoot?: string;

  constructor(
    ctx: RuntimeContext,
    private readonly settings: DockerSettings = { socket: '/var/run/docker.sock', client: '/usr/bin/docker' },
  ) {
    super(ctx);
  }

  protected engine(args: string[], opts: { timeoutMs?: number } = {}) {
    return run(this.settings.client, ['-H', `unix://${this.settings.socket}`, ...args], {
      timeoutMs: 120_000,
      ...opts,
    });
  }

  protected imageOf(c: DockerInspect): string {
    return c.Config.Image;
  }

  async unavailableReason(): Promise<string | undefined> {
    try {
      const { stdout } = await this.engine(['info', '--format', '{{.ExperimentalBuild}}'], {
        timeoutMs: 20_000,
      });
      if (stdout.trim() !== 'true')
        return `dockerd at ${this.settings.socket} runs without --experimental: docker checkpoints need it (start dockerd with --experimental)`;
      return undefined;
    } catch (err) {
      return `docker does not answer at ${this.settings.socket} (${(err as Error).message.split('\n')[0]}); install the Debian package docker.io and start dockerd --experimental, see docs/runtimes.md`;
    }
  }

  private async root(): Promise<string> {
    this.dataRoot ??= (await this.engine(['info', '--format', '{{.DockerRootDir}}'])).stdout.trim();
    return this.dataRoot;
  }

  async notMovable(name: string): Promise<string[]> {
    const c = await this.inspectRaw(name);
    if (!c) return [];
    const problems: string[] = [];
    for (const m of c.Mounts ?? [])
      if (m.Type === 'volume')
        problems.push(
          `docker volume ${m.Name ?? m.Source} (mounted at ${m.Destination}) lives in ${this.ctx.host}'s docker and ferry cannot carry volume contents; use a bind mount of a path that exists on both hosts, or move the data first`,
        );
      else if (m.Type !== 'bind')
        problems.push(`mount of type ${m.Type} at ${m.Destination} cannot be recreated on another daemon`);
    if (c.GraphDriver && c.GraphDriver.Name !== 'overlay2')
      problems.push(
        `storage driver ${c.GraphDriver.Name}: ferry carries filesystem changes only for overlay2`,
      );
    const mode = c.HostConfig.NetworkMode ?? 'default';
    if (mode.startsWith('container:'))
      problems.push(`network mode ${mode} joins another container, which does not move with it`);
    return problems;
  }

  async checkpoint(name: string, migrationId: string): Promise<CheckpointOutcome> {
    const c = await this.runningContainer(name);
    const images = this.ctx.paths.imagesDir(migrationId);
    const work = this.ctx.paths.workDir(migrationId);
    const logPath = path.join(work, 'dump.log');
    await writeJsonAtomic(path.join(images, SPEC), c);
    try {
      await this.engine(['checkpoint', 'create', '--checkpoint-dir', images, name, CHECKPOINT], {
        timeoutMs: ENGINE_CHECKPOINT_TIMEOUT_MS,
      });
    } catch (err) {
      throw this.checkpointFailed(name, await this.explainFailure(err, c.Id, 'dump.log', work));
    }
    // Frozen and stopped: its filesystem changes and its log no longer move.
    const upper = c.GraphDriver?.Data?.UpperDir;
    if (upper) await upperDirTar(upper, ['-cf', path.join(images, ROOTFS_DIFF), '.']);
    if (c.LogPath) await copyFile(c.LogPath, path.join(images, LOG)).catch(() => undefined);
    return { stats: {}, logPath };
  }

  async restore(name: string, migrationId: string): Promise<RestoreOutcome> {
    const images = this.ctx.paths.imagesDir(migrationId);
    const spec = await readJson<DockerInspect>(path.join(images, SPEC));
    if (!spec) throw ferryFailure(ErrorType.RestoreFailed, `no container record ${SPEC} in ${images}`);
    const work = this.ctx.paths.workDir(migrationId);
    await mkdir(work, { recursive: true, mode: 0o700 });
    await this.freeName(name);
    let id: string | undefined;
    try {
      id = (await this.engine(['create', '--name', name, ...createArgs(spec)])).stdout.trim();
      const created = (await this.inspectRaw(id))!;
      const dir = path.join(await this.root(), 'containers', id);
      await mkdir(path.join(dir, 'checkpoints'), { recursive: true, mode: 0o700 });
      await run('cp', ['-a', path.join(images, CHECKPOINT), path.join(dir, 'checkpoints', CHECKPOINT)]);
      const upper = created.GraphDriver?.Data?.UpperDir;
      if (upper) await upperDirTar(upper, ['-xpf', path.join(images, ROOTFS_DIFF)]);
      // The history of its output moves with it (json-file appends to an existing log).
      await copyFile(path.join(images, LOG), path.join(dir, `${id}-json.log`)).catch(() =>
        writeFile(path.join(dir, `${id}-json.log`), ''),
      );
      await this.engine(['start', '--checkpoint', CHECKPOINT, name], {
        timeoutMs: restoreTimeoutMs(await directorySize(images)),
      });
      const c = await this.inspectRaw(name);
      return { pid: c?.State.Pid, stats: {}, logPath: path.join(dir, 'checkpoints', CHECKPOINT) };
    } catch (err) {
      throw await this.restoreFailed(name, await this.explainFailure(err, id, 'restore.log', work));
    }
  }

  /**
   * CRIU's own words for a failed checkpoint or restore. containerd deletes a failed restore's
   * task folder, CRIU log included; dockerd's runc wrapper keeps the log under criuWorkRoot/ID
   * instead. It moves into the migration's work folder (private, removed with the migration)
   * and is quoted from there; without the wrapper, runc's summary is all there is.
   */
  private async explainFailure(
    err: unknown,
    containerId: string | undefined,
    logName: 'dump.log' | 'restore.log',
    work: string,
  ): Promise<string> {
    const root = this.settings.criuWorkRoot;
    if (!root || !containerId || !/^[0-9a-f]{64}$/.test(containerId)) return explainCriuFailure(err);
    const kept = path.join(root, containerId);
    const logPath = path.join(work, logName);
    await mkdir(work, { recursive: true, mode: 0o700 });
    const moved = await copyFile(path.join(kept, logName), logPath).then(
      () => true,
      () => false,
    );
    await rm(kept, { recursive: true, force: true });
    return explainCriuFailure(err, moved ? logPath : undefined);
  }
}

/** tar in an overlay upper dir, keeping xattrs (whiteouts) and numeric owners both ways. */
function upperDirTar(upper: string, args: string[]) {
  return run('tar', ['-C', upper, '--xattrs', '--numeric-owner', ...args]);
}

/** `docker create` arguments that recreate the container described by spec (name aside). */
export function createArgs(spec: DockerInspect): string[] {
  const args: string[] = [];
  const c = spec.Config;
  for (const e of c.Env ?? []) args.push('--env', e);
  for (const [k, v] of Object.entries(c.Labels ?? {})) args.push('--label', `${k}=${v}`);
  if (c.WorkingDir) args.push('--workdir', c.WorkingDir);
  if (c.User) args.push('--user', c.User);
  if (c.Hostname) args.push('--hostname', c.Hostname);
  const net = spec.HostConfig.NetworkMode;
  if (net && net !== 'default') args.push('--network', net);
  const rp = spec.HostConfig.RestartPolicy;
  if (rp?.Name && rp.Name !== 'no')
    args.push(
      '--restart',
      rp.Name === 'on-failure' && rp.MaximumRetryCount ? `on-failure:${rp.MaximumRetryCount}` : rp.Name,
    );
  for (const b of spec.HostConfig.Binds ?? []) args.push('--volume', b);
  const entrypoint = c.Entrypoint ?? [];
  if (entrypoint.length) args.push('--entrypoint', entrypoint[0]!);
  args.push(c.Image, ...entrypoint.slice(1), ...(c.Cmd ?? []));
  return args;
}
