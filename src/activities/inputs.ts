import type { RequestedMode } from '../domain/modes.js';
import type { AdoptTarget, CriuOptions } from '../domain/types.js';
import type { RuntimeName } from '../domain/names.js';
import type { PageServerAddress } from '../domain/page-server.js';

export interface WorkloadRef {
  workload: string;
  runtime: RuntimeName;
}
export interface MigrationStepInput extends WorkloadRef {
  migrationId: string;
  /** CRIU options of the request (checkpoint and every restore of it use the same). */
  criu?: CriuOptions;
}
export interface PreflightSourceInput extends WorkloadRef {
  /** Only post-copy needs its extra probe. */
  mode?: RequestedMode;
  /** A process tree ferry did not start: checked, then recorded as the workload (process runtime). */
  adopt?: AdoptTarget;
  /** The request's CRIU options: what adoption accepts depends on them (--tcp-established). */
  criu?: CriuOptions;
  /**
   * The request's CRIU options: when given, the workload is also checked (from /proc, nothing
   * frozen) for what a dump with these options would refuse. Left out when the question is only
   * whether it runs (after a failed dump).
   */
  checkpointable?: CriuOptions;
  /** The destination: the source checks it reaches its sshd as the transfer will (host keys). */
  peer?: string;
}
export interface PreflightDestinationInput extends MigrationStepInput {
  /** Only post-copy needs its extra probe. */
  mode?: RequestedMode;
  /** The request's replaceStopped: a stopped same-name container there may be replaced. */
  replaceStopped?: boolean;
}
export interface CheckpointInput extends MigrationStepInput {
  /** Streamed mode: the destination's page server receives the pages. */
  pageServer?: PageServerAddress;
  /** The last pre-copy round: the final dump writes only pages dirtied since. */
  parentRound?: number;
}
export interface RestoreInput extends MigrationStepInput {
  /** Post-copy: restore before the memory arrived; it is fetched from this lazy page server. */
  lazyPagesFrom?: PageServerAddress;
  /** A snapshot's restore: a new container id (RestoreOptions.freshId). */
  freshId?: boolean;
}
export interface TransferInput extends MigrationStepInput {
  destination: string;
  /** The pages are already there (streamed): send the rest, never delete them. */
  pagesStreamed?: boolean;
}
export interface VerifyInput extends WorkloadRef {
  windowMs: number;
}
export interface CleanupInput extends MigrationStepInput {
  /** Source side: the workload has moved, remove its files here too. */
  removeWorkloadFiles: boolean;
  keepImages: boolean;
}
export interface PreDumpInput extends MigrationStepInput {
  /** 1, 2, ...: round n uses round n-1 as its parent. */
  round: number;
}
export interface ImageRef extends WorkloadRef {
  /** The full id of the container's image on the source ("sha256:…"). */
  imageId: string;
}
export interface SendImageInput extends MigrationStepInput {
  imageId: string;
  destination: string;
}
export interface LoadImageInput extends MigrationStepInput {
  /** The name the container was created from: the loaded image gets it too. */
  image: string;
  imageId: string;
}
export interface NameImageInput extends ImageRef {
  image: string;
}
