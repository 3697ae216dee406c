// What the podman and docker adapters share: both CLIs list, inspect, log, run, start and
// remove containers alike, and their `inspect` records agree on the fields ferry reads. Each
// adapter keeps its own engine call, availability check, notMovable and checkpoint/restore.
import { chmod, rm, writeFile } from 'node:fs/promises';
import type { RuntimeCapabilities } from '../domain/capabilities.js';
import { ErrorType } from '../domain/errors.js';
import { ferryFailure } from '../domain/failures.js';
import type { WorkloadInfo, WorkloadNeeds } from '../domain/types.js';
import { CommandError, type RunResult } from '../exec/run.js';
import { treeRssBytes } from '../host/procfs.js';
import { fromContainerLabels, toContainerLabels } from './container-labels.js';
import { DEV_IMAGE } from './dev-image.js';
import { normalizeImageId, parseLoadOutput } from '../domain/images.js';
import { missingHostPaths } from './needs.js';
import { ContainerOwnership } from './container-ownership.js';
import type {
  CheckpointOptions,
  CheckpointOutcome,
  NameHolder,
  RestoreOptions,
  RestoreOutcome,
  RuntimeContext,
  SpawnOptions,
  StopOptions,
  Unfit,
  WorkloadRuntime,
} from './runtime.js';
import { pathExists, removeTree } from './workload-files.js';

export type EngineName = 'podman' | 'docker';

/** The part of `podman|docker container inspect` both engines print alike. */
export interface EngineInspect {
  /** The id of the image it runs (podman: 64 hex digits, docker: "sha256:" and those). */
  Image: string;
  Id: string;
  State: { Running: boolean; Pid: number; Status: string };
  Config: { Labels?: Record<string, string> | null };
  Mounts?: { Type: string; Source: string; Destination: string; Name?: string }[];
}

/** How long an engine's checkpoint may take (it freezes and dumps the whole container). */
export const ENGINE_CHECKPOINT_TIMEOUT_MS = 10 * 60_000;

/** How long saving or loading one image may take (they are read and written whole). */
export const IMAGE_TIMEOUT_MS = 30 * 60_000;

/** What an engine writes to stderr when an image does not exist. */
const NO_SUCH_IMAGE = /image not known|no such image/i;

/** Container names from `ps -a --format {{.Names}}`. */
export function containerNames(psOutput: string): string[] {
  return psOutput
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

export { shellLine } from '../exec/shell-line.js';

/** `run` arguments of a dev-environment container: detached, no network, ferry's labels. */
export function runArgs(name: string, opts: SpawnOptions, defaultImage: string): string[] {
  // No network: a simulated host's containers must not share a bridge with the others'.
  return [
    'run',
    '-d',
    '--name',
    name,
    '--network',
    'none',
    ...toContainerLabels(opts.labels),
    opts.image ?? defaultImage,
    ...opts.argv,
  ];
}

/**
 * A container engine's CLI behind WorkloadRuntime. Subclasses say how to call their engine and
 * where its commands differ (the abstract members); everything else is the same command lines.
 */
export abstract class ContainerEngineRuntime<I extends EngineInspect> implements WorkloadRuntime {
  abstract readonly name: EngineName;
  abstract readonly capabilities: RuntimeCapabilities;
  private ownership?: ContainerOwnership;
  constructor(protected readonly ctx: RuntimeContext) {}

  /** What each migration on this host answers for (ferry removes nothing else). */
  protected get owned(): ContainerOwnership {
    return (this.ownership ??= new ContainerOwnership(this.ctx.paths, this.name));
  }

  /** One call of the engine's CLI with this host's settings (an argument array, no shell). */
  protected abstract engine(args: string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
  /** The same call as a command line an operator pastes on this host (messages, dev status). */
  abstract commandLine(args: string[]): string;
  /** One command of this host's engine, as an operator would run it (tests, dev tools). */
  cli(args: string[], opts?: { timeoutMs?: number }): Promise<RunResult> {
    return this.engine(args, opts);
  }
  /** The migration that created this container, when ferry labelled it (docker). */
  protected createdBy(_c: I): string | undefined {
    return undefined;
  }
  /** What the engine writes to stderr when a container does not exist. */
  protected abstract readonly noSuchContainer: RegExp;
  /** `container inspect NAME` arguments that make it print JSON (docker does by default). */
  protected abstract readonly inspectFormat: readonly string[];
  /** The image a container runs, as its inspect record names it. */
  protected abstract imageOf(c: I): string;
  /** An engine command that fails when an image is absent, and what restore does with the image. */
  protected abstract readonly imageCheck: { args: (image: string) => string[]; recreatedBy: string };
  /** `rm -f` options that remove a running container at once (podman would wait its stop timeout). */
  protected abstract readonly removeAtOnce: readonly string[];

  abstract unavailableReason(): Promise<string | undefined>;
  abstract notMovable(name: string): Promise<string[]>;
  abstract checkpoint(
    name: string,
    migrationId: string,
    opts?: CheckpointOptions,
  ): Promise<CheckpointOutcome>;
  abstract restore(name: string, migrationId: string, opts?: RestoreOptions): Promise<RestoreOutcome>;

  protected async inspectRaw(name: string): Promise<I | undefined> {
    try {
      const { stdout } = await this.engine(['container', 'inspect', name, ...this.inspectFormat]);
      return (JSON.parse(stdout) as I[])[0];
    } catch (err) {
      if (err instanceof CommandError && this.noSuchContainer.test(err.stderr)) return undefined;
      throw err;
    }
  }

  async list(): Promise<WorkloadInfo[]> {
    const { stdout } = await this.engine(['ps', '-a', '--format', '{{.Names}}']);
    const infos = await Promise.all(containerNames(stdout).map((n) => this.inspect(n)));
    return infos.filter((i): i is WorkloadInfo => i !== undefined);
  }

  /** State, memory, ferry labels, and what the container needs on a destination. */
  async inspect(name: string): Promise<WorkloadInfo | undefined> {
    const c = await this.inspectRaw(name);
    if (!c) return undefined;
    const running = c.State.Running;
    return {
      name,
      runtime: this.name,
      running,
      pid: running ? c.State.Pid : undefined,
      rssBytes: running ? await treeRssBytes(c.State.Pid) : undefined,
      labels: fromContainerLabels(c.Config.Labels),
      needs: this.needsOf(c),
    };
  }

  /** What the container needs on a destination: its image, the host paths it bind-mounts. */
  protected needsOf(c: I): WorkloadNeeds {
    return {
      image: this.imageOf(c),
      imageId: normalizeImageId(c.Image ?? ''),
      hostPaths: (c.Mounts ?? []).filter((m) => m.Type === 'bind').map((m) => m.Source),
    };
  }

  async output(name: string): Promise<string> {
    const r = await this.engine(['logs', name]).catch(() => ({ stdout: '', stderr: '' }));
    return r.stdout + (r.stdout && r.stderr ? '\n' : '') + r.stderr;
  }

  async unfitFor(needs: WorkloadNeeds): Promise<Unfit[]> {
    return [...(await this.missingImage(needs.image)), ...(await missingHostPaths(needs, this.ctx.host))];
  }

  /** The destination lacks the container's image: what to run to fix it. */
  private async missingImage(image: string | undefined): Promise<Unfit[]> {
    if (!image) return [];
    const has = await this.engine(this.imageCheck.args(image)).then(
      () => true,
      () => false,
    );
    const engine = this.name;
    const host = this.ctx.host;
    return has
      ? []
      : [
          {
            type: 'ImageMissing',
            message: `${engine} image ${image} is not on ${host}: load it there first (${engine} load -i IMAGE.tar, ${engine} pull, or in the dev environment: ferry dev load-image --host ${host} --image ${image}); ${this.imageCheck.recreatedBy}`,
          },
        ];
  }

  async spawn(name: string, opts: SpawnOptions): Promise<WorkloadInfo> {
    await this.engine(runArgs(name, opts, DEV_IMAGE[this.name]));
    return (await this.inspect(name))!;
  }

  async pause(name: string): Promise<string> {
    await this.engine(['pause', name]);
    return this.commandLine(['unpause', name]);
  }

  /** Starts again, state lost, the container a migration here checkpointed or created (never another). */
  async startFresh(name: string): Promise<WorkloadInfo> {
    const c = await this.inspectRaw(name);
    if (!c || !(await this.ownedByAnyMigration(name, c)))
      throw ferryFailure(
        ErrorType.WorkloadNotFound,
        c
          ? `the ${this.name} container ${name} on ${this.ctx.host} (id ${shortId(c.Id)}) is not one a migration here checkpointed or created: ferry does not start it`
          : `no ${this.name} container ${name} on ${this.ctx.host} to start fresh`,
      );
    await this.engine(['start', name]);
    return (await this.inspect(name))!;
  }

  async stop(name: string, opts: StopOptions = {}): Promise<void> {
    const c = await this.inspectRaw(name);
    if (!c) return;
    // A container of the same name that no migration here made is someone else's: left alone.
    if (!opts.anyOwner && !(await this.ownedByAnyMigration(name, c))) return;
    await this.engine(['rm', '-f', ...this.removeAtOnce, c.Id]);
  }

  async nameHolder(name: string): Promise<NameHolder | undefined> {
    const c = await this.inspectRaw(name);
    if (!c) return undefined;
    const running = c.State.Running;
    return {
      id: c.Id,
      state: c.State.Status,
      running,
      removeCommand: this.commandLine(['rm', ...(running ? ['-f'] : []), shortId(c.Id)]),
    };
  }

  async allowReplacing(name: string, migrationId: string, holder: NameHolder): Promise<void> {
    await this.owned.replaceable(migrationId, name, holder);
  }

  /**
   * A migration on this host checkpointed or created it and is not finished here (its folder is
   * still there). Once it is, the container is the user's workload like any other.
   */
  private async ownedByAnyMigration(name: string, c: I): Promise<boolean> {
    const by = this.createdBy(c);
    if (by && (await pathExists(this.ctx.paths.migrationDir(by)))) return true;
    return (await this.owned.anyMigration(name)).has(c.Id);
  }

  async removeFiles(name: string): Promise<void> {
    await removeTree(this.ctx.paths.workloadDir(this.name, name));
  }

  /** Checkpoint, first step: the container's record; it must be running. */
  protected async runningContainer(name: string): Promise<I> {
    const c = await this.inspectRaw(name);
    if (!c?.State.Running)
      throw ferryFailure(
        ErrorType.WorkloadNotRunning,
        `${this.name} container ${name} is not running on ${this.ctx.host}`,
      );
    return c;
  }

  protected checkpointFailed(name: string, why: string): Error {
    return ferryFailure(ErrorType.CheckpointFailed, `${this.name} checkpoint of ${name} failed: ${why}`);
  }

  /**
   * Restore, before recreating it: the name must be free, and only what this migration answers
   * for may make room: the container it checkpointed here (a rollback), one an earlier attempt
   * of this restore created, or the stopped container its preflight was allowed to replace.
   * Anything else holding the name stops the restore (typed like the preflight's refusal).
   */
  protected async makeRoom(name: string, migrationId: string): Promise<void> {
    const c = await this.inspectRaw(name);
    if (!c) return;
    const owned = await this.owned.read(migrationId, name);
    const ours =
      c.Id === owned.checkpointed || owned.created.includes(c.Id) || this.createdBy(c) === migrationId;
    const replaceable = !c.State.Running && owned.replaceable?.id === c.Id;
    if (!ours && !replaceable) {
      const holder = (await this.nameHolder(name))!;
      throw ferryFailure(
        c.State.Running ? ErrorType.WorkloadAlreadyOnDestination : ErrorType.NameTakenOnDestination,
        `${this.name} restore of ${name} on ${this.ctx.host}: a container ferry did not create holds the name (state ${holder.state}, id ${shortId(c.Id)}); ferry leaves it alone. Remove it there (${holder.removeCommand}) and migrate again`,
      );
    }
    await this.engine(['rm', '-f', ...this.removeAtOnce, c.Id]);
    // The source container is gone now: what holds the name from here on is the restore's.
    if (c.Id === owned.checkpointed) await this.owned.checkpointedRemoved(migrationId, name);
  }

  /**
   * Removes what a failed restore of this migration created under the name (never a container
   * it did not create, nor the checkpointed source container); returns the failure to throw.
   */
  protected async restoreFailed(name: string, migrationId: string, why: string): Promise<Error> {
    const c = await this.inspectRaw(name).catch(() => undefined);
    if (c) {
      const owned = await this.owned.read(migrationId, name);
      const created =
        (owned.created.includes(c.Id) || this.createdBy(c) === migrationId) && c.Id !== owned.checkpointed;
      if (created) await this.engine(['rm', '-f', ...this.removeAtOnce, c.Id]).catch(() => undefined);
    }
    return ferryFailure(ErrorType.RestoreFailed, `${this.name} restore of ${name} failed: ${why}`);
  }

  // Images, for a destination that lacks the container's (docs/runtimes.md): always by id, the
  // exact image the container runs, whatever its name points at by now.

  /** The full id ("sha256:…") of the image a name or id refers to here; undefined when there is none. */
  async imageIdOf(ref: string): Promise<string | undefined> {
    try {
      const { stdout } = await this.engine(['image', 'inspect', '--format', '{{.Id}}', ref]);
      return normalizeImageId(stdout);
    } catch (err) {
      if (err instanceof CommandError && NO_SUCH_IMAGE.test(err.stderr)) return undefined;
      throw err;
    }
  }

  /** Whether an image with this full id is in this engine's store (under any name or none). */
  async hasImageId(imageId: string): Promise<boolean> {
    const id = await this.imageIdOf(imageId);
    return id !== undefined && id === normalizeImageId(imageId);
  }

  /** Every image id in this engine's store ("sha256:…"). */
  async imageIds(): Promise<string[]> {
    const { stdout } = await this.engine(['images', '--quiet', '--no-trunc']);
    return [...new Set(stdout.split('\n').flatMap((l) => normalizeImageId(l) ?? []))];
  }

  /**
   * Writes the image with this id to file as an archive `load` reads back (docker-archive). The
   * file is created 0600 before the engine writes into it (podman keeps the mode of an existing
   * file, docker writes 0600 itself): an image may hold secrets.
   */
  async saveImage(imageId: string, file: string): Promise<void> {
    await rm(file, { force: true });
    await writeFile(file, '', { mode: 0o600, flag: 'wx' });
    await this.engine(['save', '--output', file, imageId], { timeoutMs: IMAGE_TIMEOUT_MS });
    await chmod(file, 0o600);
  }

  /** Loads an archive of `save`; returns the ids and names it reported. */
  async loadImage(file: string): Promise<{ ids: string[]; names: string[] }> {
    const { stdout } = await this.engine(['load', '--input', file], { timeoutMs: IMAGE_TIMEOUT_MS });
    const loaded = parseLoadOutput(stdout);
    // An archive saved by name reports the name only: its id is what that name now points at.
    if (!loaded.ids.length)
      for (const name of loaded.names) {
        const id = await this.imageIdOf(name);
        if (id && !loaded.ids.includes(id)) loaded.ids.push(id);
      }
    return loaded;
  }

  /** Creates an image from a root filesystem tar (`import`); returns its id. */
  async importImage(file: string, name: string): Promise<string> {
    await this.engine(['import', file, name], { timeoutMs: IMAGE_TIMEOUT_MS });
    const id = await this.imageIdOf(name);
    if (!id) throw new Error(`${this.name} import of ${file} as ${name} left no image ${name}`);
    return id;
  }

  /** Gives the image with this id a name too (its other names stay). */
  async tagImage(imageId: string, name: string): Promise<void> {
    await this.engine(['tag', imageId, name]);
  }

  /**
   * Removes the image with this id, never by force: an image some container uses, or one with
   * other names as well, stays. Returns why it stayed, or undefined when it is gone.
   */
  async removeImage(imageId: string): Promise<string | undefined> {
    try {
      await this.engine(['rmi', imageId]);
      return undefined;
    } catch (err) {
      if (err instanceof CommandError && NO_SUCH_IMAGE.test(err.stderr)) return undefined;
      return (err instanceof CommandError ? err.stderr.trim() : String(err)).split('\n').at(-1);
    }
  }
}

/** The first 12 hex digits, as the engines print ids. */
export const shortId = (id: string) => id.slice(0, 12);
