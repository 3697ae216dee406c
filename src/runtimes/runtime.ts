import type { RuntimeName } from '../domain/names.js';
import type { CriuDumpStats, CriuRestoreStats, WorkloadInfo } from '../domain/types.js';
import type { HostPaths } from './host-paths.js';

export interface RuntimeContext {
  host: string;
  paths: HostPaths;
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

/** Where the final dump sends memory pages instead of the local images folder. */
export interface PageServerAddress {
  address: string;
  port: number;
}
export interface CheckpointOptions {
  pageServer?: PageServerAddress;
}

export interface RestoreOptions {
  /** Post-copy: restore before the memory is here; a lazy-pages daemon fetches it from there. */
  lazyPagesFrom?: PageServerAddress;
}

export interface SpawnOptions {
  /** Argument vector of the workload's command (no shell). */
  argv: string[];
  labels?: Record<string, string>;
}

/**
 * One module per runtime behind this interface; activities never branch on the runtime.
 * Checkpoint/restore use images in paths.imagesDir(id) and logs in paths.workDir(id).
 */
export interface WorkloadRuntime {
  readonly name: RuntimeName;
  /** Undefined when usable here, else what is missing and how to fix it. */
  unavailableReason(): Promise<string | undefined>;
  list(): Promise<WorkloadInfo[]>;
  inspect(name: string): Promise<WorkloadInfo | undefined>;
  spawn(name: string, opts: SpawnOptions): Promise<WorkloadInfo>;
  /**
   * Final dump: the workload is frozen, dumped and stopped. With opts.pageServer its memory
   * pages go straight to that CRIU page server; the other images stay local.
   */
  checkpoint(name: string, migrationId: string, opts?: CheckpointOptions): Promise<CheckpointOutcome>;
  /**
   * Post-copy source (container runtimes only): freeze, dump all but the memory, and serve the
   * memory from a lazy page server on address until the destination has it all.
   */
  startLazyCheckpoint?(name: string, migrationId: string, address: string): Promise<PageServerAddress>;
  /** Restores from images already in place on this host. */
  restore(name: string, migrationId: string, opts?: RestoreOptions): Promise<RestoreOutcome>;
  /**
   * Last resort after a failed rollback: starts the workload again from its files on this host
   * (runc bundle, recorded command line). Its in-memory state is lost.
   */
  startFresh(name: string): Promise<WorkloadInfo>;
  /** Stops the workload if it runs and removes its runtime state; keeps its files. */
  stop(name: string): Promise<void>;
  /** Removes the workload's files on this host (metadata, log, bundle). */
  removeFiles(name: string): Promise<void>;
}
