import type { CriuOptions } from '../domain/types.js';
import type { RuntimeName } from '../domain/names.js';

export interface WorkloadRef {
  workload: string;
  runtime: RuntimeName;
}
export interface MigrationStepInput extends WorkloadRef {
  migrationId: string;
  /** CRIU options of the request (checkpoint and every restore of it use the same). */
  criu?: CriuOptions;
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
