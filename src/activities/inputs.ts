import type { RuntimeName } from '../domain/names.js';

export interface WorkloadRef {
  workload: string;
  runtime: RuntimeName;
}
export interface MigrationStepInput extends WorkloadRef {
  migrationId: string;
}
export interface TransferInput extends MigrationStepInput {
  destination: string;
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
export interface CheckpointInput extends MigrationStepInput {
  /** The last pre-copy round: the final dump writes only pages dirtied since. */
  parentRound?: number;
}
