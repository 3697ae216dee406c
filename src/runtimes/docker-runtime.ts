import { copyFile, lstat, mkdir, realpath, rm, writeFile } from 'node:fs/promises';
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
  shellLine,
  type EngineInspect,
} from './container-engine.js';
import { dockerApi } from './docker-api.js';
import { createBody, MIGRATION_LABEL, notCarried, restartFlag, type DockerSpec } from './docker-spec.js';
import { restoreTimeoutMs } from './criu-steps.js';
import { DOCKER_CAPABILITIES } from './docker-capabilities.js';
import type { WorkloadNeeds } from '../domain/types.js';
import type {
  CheckpointOptions,
  CheckpointOutcome,
  RestoreOutcome,
  RuntimeContext,
  Unfit,
} from './runtime.js';
import { readJson, writeJsonAtomic } from './workload-files.js';

/** The parts of `docker inspect` ferry reads; the record is kept whole and recreated from. */
export interface DockerInspect extends EngineInspect, DockerSpec {
  Id: string;
  Name: string;
  LogPath?: string;
  Config: DockerSpec['Config'];
  Mounts?: { Type: string; Source: string; Destination: string; Name?: string; RW?: boolean }[];
  GraphDriver?: { Name: string; Data?: { UpperDir?: string } | null };
}

/** What a docker container needs on the destination: the common needs, and docker's init. */
export interface DockerNeeds extends WorkloadNeeds {
  init?: boolean;
}

/** Where a program name resolves on this host's PATH (as dockerd looks its init up). */
async function onPath(program: string): Promise<string | undefined> {
  const dirs = [
    ...(process.env.PATH ?? '').split(':'),
    '/usr/local/sbin',
    '/usr/local/bin',
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/bin',
  ];
  for (const dir of dirs.filter(Boolean)) {
    const file = path.join(dir, program);
    if (
      await lstat(file).then(
        () => true,
        () => false,
      )
    )
      return file;
  }
  return undefined;
}

const CHECKPOINT = 'ferry';
const SPEC = 'docker-container.json';
const ROOTFS_DIFF = 'rootfs-diff.tar';
const LOG = 'docker-json.log';

/**
 * Docker containers (dockerd --experimental). `docker checkpoint create` dumps into the
 * migration's images folder; the container's filesystem changes (its overlay upper dir), its
 * json log and its inspect record go along. On the destination the same container is created
 * from that record under the same name (docker-spec.ts: every field on its allow-list, labelled
 * with the migration), the checkpoint and the changes are put into it, and `docker start
 * --checkpoint` restores it. A rollback restores the checkpointed container itself. What cannot
 * be recreated (named volumes, user-defined networks, …) is refused before any freeze.
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

  commandLine(args: string[]): string {
    return shellLine([this.settings.client, '-H', `unix://${this.settings.socket}`, ...args]);
  }

  protected imageOf(c: DockerInspect): string {
    return c.Config.Image;
  }

  protected override createdBy(c: DockerInspect): string | undefined {
    return c.Config.Labels?.[MIGRATION_LABEL];
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

  /** Docker's needs also say whether it runs docker's init (checked on the destination). */
  protected override needsOf(c: DockerInspect): DockerNeeds {
    return { ...super.needsOf(c), ...(c.HostConfig.Init ? { init: true } : {}) };
  }

  async notMovable(name: string): Promise<string[]> {
    const c = await this.inspectRaw(name);
    if (!c) return [];
    const problems = notCarried(c);
    if (c.GraphDriver && c.GraphDriver.Name !== 'overlay2')
      problems.push(
        `storage driver ${c.GraphDriver.Name}: ferry carries filesystem changes only for overlay2`,
      );
    // A rollback restores it here: this daemon's init must be restorable too.
    const init = c.HostConfig.Init ? await this.initUnrestorable() : undefined;
    if (init) problems.push(init);
    return problems;
  }

  override async unfitFor(needs: DockerNeeds): Promise<Unfit[]> {
    const unfit = await super.unfitFor(needs);
    const init = needs.init ? await this.initUnrestorable() : undefined;
    if (init) unfit.push({ type: 'NotMovable', message: init });
    return unfit;
  }

  /**
   * `--init` bind-mounts dockerd's init binary into the container. When that path is a symlink
   * (Debian's /usr/bin/docker-init -> tini-static), CRIU cannot restore the mount
   * (mnt-v2: Can't remount … with MS_PRIVATE): why not, and the fix, or undefined.
   */
  private async initUnrestorable(): Promise<string | undefined> {
    const { stdout } = await this.engine(['info', '--format', '{{.InitBinary}}']);
    const binary = stdout.trim() || 'docker-init';
    const file = path.isAbsolute(binary) ? binary : await onPath(binary);
    if (!file || !(await lstat(file)).isSymbolicLink()) return undefined;
    const target = await realpath(file);
    return `it runs with --init and dockerd on ${this.ctx.host} mounts its init from ${file}, a symlink to ${target}: CRIU cannot restore a bind mount of a symlink. Set "init-path": "${target}" in that dockerd's daemon.json (on both hosts) and restart it, or run the container without --init`;
  }

  async checkpoint(
    name: string,
    migrationId: string,
    opts: CheckpointOptions = {},
  ): Promise<CheckpointOutcome> {
    const c = await this.runningContainer(name);
    const images = this.ctx.paths.imagesDir(migrationId);
    const work = this.ctx.paths.workDir(migrationId);
    const logPath = path.join(work, 'dump.log');
    // An earlier attempt may have turned its restart policy off already: keep the user's.
    const earlier = await readJson<DockerInspect>(path.join(images, SPEC));
    const policy = earlier?.Id === c.Id ? earlier.HostConfig.RestartPolicy : c.HostConfig.RestartPolicy;
    await writeJsonAtomic(path.join(images, SPEC), {
      ...c,
      HostConfig: { ...c.HostConfig, RestartPolicy: policy },
    });
    await this.owned.checkpointed(migrationId, name, c.Id);
    // dockerd's restart manager would start the checkpointed container again at once, fresh
    // (its state lost, a second copy once restored elsewhere): off while it is away.
    // A snapshot leaves it running: nothing to start it again, its policy stays.
    const restarts = !opts.leaveRunning && restartFlag(policy) !== 'no';
    if (restarts) await this.engine(['update', '--restart', 'no', c.Id]);
    try {
      const leave = opts.leaveRunning ? ['--leave-running'] : [];
      await this.engine(['checkpoint', 'create', ...leave, '--checkpoint-dir', images, name, CHECKPOINT], {
        timeoutMs: ENGINE_CHECKPOINT_TIMEOUT_MS,
      });
    } catch (err) {
      if (restarts)
        await this.engine(['update', '--restart', restartFlag(policy), c.Id]).catch(() => undefined);
      throw this.checkpointFailed(name, await this.explainFailure(err, c.Id, 'dump.log', work));
    }
    // Frozen and stopped (a snapshot: running again, its files as they are now): its
    // filesystem changes and its log.
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
    const timeoutMs = restoreTimeoutMs(await directorySize(images));
    const existing = await this.inspectRaw(name);
    // A rollback: the checkpointed container is still here, stopped, with its files and log.
    if (existing?.Id === spec.Id) return this.restoreInPlace(name, migrationId, spec, timeoutMs);
    await this.makeRoom(name, migrationId);
    let id: string | undefined;
    try {
      id = (
        await dockerApi<{ Id: string }>(
          this.settings.socket,
          'POST',
          `/containers/create?name=${encodeURIComponent(name)}`,
          createBody(spec, migrationId),
        )
      ).Id;
      await this.owned.created(migrationId, name, id);
      const created = (await this.inspectRaw(id))!;
      const dir = path.join(await this.root(), 'containers', id);
      await this.putCheckpoint(images, dir);
      const upper = created.GraphDriver?.Data?.UpperDir;
      if (upper) await upperDirTar(upper, ['-xpf', path.join(images, ROOTFS_DIFF)]);
      // The history of its output moves with it (json-file appends to an existing log).
      await copyFile(path.join(images, LOG), path.join(dir, `${id}-json.log`)).catch(() =>
        writeFile(path.join(dir, `${id}-json.log`), ''),
      );
      await this.engine(['start', '--checkpoint', CHECKPOINT, id], { timeoutMs });
      const c = await this.inspectRaw(id);
      return { pid: c?.State.Pid, stats: {}, logPath: path.join(dir, 'checkpoints', CHECKPOINT) };
    } catch (err) {
      throw await this.restoreFailed(
        name,
        migrationId,
        await this.explainFailure(err, id, 'restore.log', work),
      );
    }
  }

  /** Rollback on the source: the stopped container restored from its checkpoint, policy back on. */
  private async restoreInPlace(
    name: string,
    migrationId: string,
    spec: DockerInspect,
    timeoutMs: number,
  ): Promise<RestoreOutcome> {
    const images = this.ctx.paths.imagesDir(migrationId);
    const work = this.ctx.paths.workDir(migrationId);
    const dir = path.join(await this.root(), 'containers', spec.Id);
    try {
      await this.putCheckpoint(images, dir);
      await this.engine(['start', '--checkpoint', CHECKPOINT, spec.Id], { timeoutMs });
    } catch (err) {
      // The container stays (stopped): a fresh start, if allowed, starts this one.
      throw await this.restoreFailed(
        name,
        migrationId,
        await this.explainFailure(err, spec.Id, 'restore.log', work),
      );
    }
    const restart = restartFlag(spec.HostConfig.RestartPolicy);
    if (restart !== 'no') await this.engine(['update', '--restart', restart, spec.Id]).catch(() => undefined);
    const c = await this.inspectRaw(spec.Id);
    return { pid: c?.State.Pid, stats: {}, logPath: path.join(dir, 'checkpoints', CHECKPOINT) };
  }

  /** `--checkpoint-dir` is refused by `docker start`: the checkpoint goes into the container's own folder. */
  private async putCheckpoint(images: string, containerDir: string): Promise<void> {
    const target = path.join(containerDir, 'checkpoints', CHECKPOINT);
    await rm(target, { recursive: true, force: true });
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await run('cp', ['-a', path.join(images, CHECKPOINT), target]);
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
