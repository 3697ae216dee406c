import type { RuntimeCapabilities } from '../domain/capabilities.js';
import type { RuntimeName } from '../domain/names.js';
import type {
  AdoptTarget,
  CriuDumpStats,
  CriuOptions,
  CriuRestoreStats,
  WorkloadInfo,
  WorkloadNeeds,
} from '../domain/types.js';
import type { PageServerAddress } from '../domain/page-server.js';
import type { DockerSettings, PodmanSettings, RuncSettings } from '../host/engine-settings.js';
import type { HostPaths } from '../host/host-paths.js';

export interface RuntimeContext {
  host: string;
  paths: HostPaths;
  /** This host's runc, podman and docker settings (config file); their defaults when absent. */
  runc?: RuncSettings;
  podman?: PodmanSettings;
  docker?: DockerSettings;
}

export interface CheckpointOutcome {
  stats: CriuDumpStats;
  logPath: string;
}

export interface RestoreOutcome {
  pid?: number;
  stats: CriuRestoreStats;
  logPath: string;
}

export interface CheckpointOptions extends CriuOptions {
  /** Streamed: where the final dump sends memory pages instead of the local images folder. */
  pageServer?: PageServerAddress;
  /**
   * The last pre-copy round's folder, relative to the images folder: only pages dirtied since
   * that round are written.
   */
  parent?: string;
  /** A snapshot: the workload goes on running after the dump (CRIU --leave-running). */
  leaveRunning?: boolean;
  /** process: reset the dirty-page bits (CRIU --track-mem) even without a parent. */
  trackMem?: boolean;
}

export interface PreDumpFolders {
  images: string;
  work: string;
  parent?: string;
}

export interface RestoreOptions extends CriuOptions {
  /** Post-copy: restore before the memory is here; a lazy-pages daemon fetches it from there. */
  lazyPagesFrom?: PageServerAddress;
  /**
   * A snapshot's restore: a new container, with an id of its own (the snapshot's may run
   * elsewhere, or again here as a clone). A migration keeps the container's id.
   */
  freshId?: boolean;
}

export interface SpawnOptions {
  /** Argument vector of the workload's command (no shell). */
  argv: string[];
  labels?: Record<string, string>;
  /** Image to run (podman, docker); the dev environment's ferry-stateful image by default. */
  image?: string;
}

/** A container that holds a workload's name on a host (podman, docker), whatever its state. */
export interface NameHolder {
  id: string;
  /** The engine's word for its state: running, exited, created, paused, … */
  state: string;
  running: boolean;
  /** What an operator runs on that host to remove it (the engine's own command line). */
  removeCommand: string;
}

export interface StopOptions {
  /**
   * Also remove a container that no migration on this host checkpointed or created (the dev
   * environment's teardown, tests). Without it such a container is left alone.
   */
  anyOwner?: boolean;
}

/** A reason the destination cannot take the workload, typed for the workflow (preflight). */
export interface Unfit {
  type: 'ImageMissing' | 'NotMovable';
  message: string;
}

/**
 * One module per runtime behind this interface; activities never branch on the runtime.
 * Checkpoint/restore use images in paths.imagesDir(id) and logs in paths.workDir(id).
 * The optional members below exist exactly where the capability record says so
 * (test/unit/runtime-capabilities.test.ts); callers ask the record, not the member.
 */
export interface WorkloadRuntime {
  readonly name: RuntimeName;
  /** What it can do: its record in src/runtimes/<name>-capabilities.ts (pure, read by workflows). */
  readonly capabilities: RuntimeCapabilities;
  /** Undefined when usable here, else what is missing and how to fix it. */
  unavailableReason(): Promise<string | undefined>;
  list(): Promise<WorkloadInfo[]>;
  inspect(name: string): Promise<WorkloadInfo | undefined>;
  spawn(name: string, opts: SpawnOptions): Promise<WorkloadInfo>;
  /** Its captured output so far (stdout and stderr, in order), the whole history since it started. */
  output(name: string): Promise<string>;
  /**
   * Source side, before anything is frozen: what about this workload no migration can carry
   * (e.g. a docker named volume). Empty when it can move.
   */
  notMovable(name: string): Promise<string[]>;
  /** Destination side: what this host lacks for a workload with these needs. Empty when fit. */
  unfitFor(needs: WorkloadNeeds): Promise<Unfit[]>;
  /**
   * Final dump: the workload is frozen, dumped and stopped. With opts.pageServer its memory
   * pages go straight to that CRIU page server; the other images stay local. CRIU options
   * outside capabilities.criuOptions never reach it (refuseUnsupportedCriuOptions).
   */
  checkpoint(name: string, migrationId: string, opts?: CheckpointOptions): Promise<CheckpointOutcome>;
  /**
   * Where the record lets streamed run: the checkpoint arguments that send the memory pages to
   * that page server. Declared so the capability test can check streamed without running CRIU.
   */
  pageServerArgs?(server: PageServerAddress): string[];
  /**
   * Where the record lets precopy run. One pre-copy round while the workload keeps running: its
   * memory (only pages dirtied since `parent`, relative to `images`, when given) goes to
   * `images`; CRIU's log and stats to `work`.
   */
  preDump?(name: string, round: PreDumpFolders): Promise<CheckpointOutcome>;
  /**
   * Where the record lets postcopy run (post-copy source): freeze, dump all but the memory, and
   * serve the memory from a lazy page server on address until the destination has it all.
   */
  startLazyCheckpoint?(name: string, migrationId: string, address: string): Promise<PageServerAddress>;
  /**
   * Where the runtime can take over a process tree that ferry did not start (process): on the
   * source, before anything is frozen, checks that CRIU can move it (typed, non-retryable
   * refusal with the fix otherwise), then records it as workload `name`. Idempotent for the same
   * process. Without this member the runtime refuses a request that asks for adoption.
   */
  adopt?(name: string, target: AdoptTarget, opts: CriuOptions): Promise<void>;
  /**
   * runc: the folder of a bundle a user made (runc run --bundle DIR), when the container runs
   * from one. The transfer copies it into the destination's workload folder as `bundle/`; ferry
   * never writes into it.
   */
  carriedBundle?(name: string): Promise<string | undefined>;
  /**
   * The shell line an operator runs on this host to restore the migration's kept checkpoint by
   * hand (failed-needs-operator): this host's paths, CRIU on PATH, output into a log. Undefined
   * when the record's generic text is all there is (capabilities.manualRestore).
   */
  handRestoreCommand?(name: string, migrationId: string, opts?: CriuOptions): Promise<string | undefined>;
  /** Restores from images already in place on this host. */
  restore(name: string, migrationId: string, opts?: RestoreOptions): Promise<RestoreOutcome>;
  /**
   * Freezes a running workload where it is (a restored snapshot for a debugger); returns the
   * command line that lets it go on.
   */
  pause(name: string): Promise<string>;
  /**
   * Last resort after a failed rollback: starts the workload again from its files on this host
   * (runc bundle, recorded command line). Its in-memory state is lost.
   */
  startFresh(name: string): Promise<WorkloadInfo>;
  /**
   * Container engines: the container holding this name here, in any state (preflight: ferry
   * replaces nothing it did not create unless asked to).
   */
  nameHolder?(name: string): Promise<NameHolder | undefined>;
  /**
   * Container engines, with the request's replaceStopped: lets this migration's restore here
   * remove that stopped container (and nothing else) to take its name.
   */
  allowReplacing?(name: string, migrationId: string, holder: NameHolder): Promise<void>;
  /**
   * Stops the workload if it runs and removes its runtime state; keeps its files. Container
   * engines remove only a container a migration on this host checkpointed or created, unless
   * opts.anyOwner.
   */
  stop(name: string, opts?: StopOptions): Promise<void>;
  /** Removes the workload's files on this host (metadata, log, bundle). */
  removeFiles(name: string): Promise<void>;
}
