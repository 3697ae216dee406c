// The migrate workflow: one workload from source to destination (docs/architecture.md). When
// anything fails after the freeze it is put back on the source (docs/failure-handling.md).
import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import { ErrorType } from '../../domain/errors.js';
import type { MigrateRequest, MigrationResult } from '../../domain/types.js';
import { validateMigrateRequest } from '../../domain/validation.js';
import { capabilitiesOf } from '../../runtimes/capabilities.js';
import { progressQuery, resolveSignal } from '../definitions.js';
import { precopy, preflight, presync, shipImage } from './before-freeze.js';
import { endBeforeFreeze } from './cleanup.js';
import { newMigration } from './context.js';
import { postcopy } from './postcopy.js';
import { stopAndCopy } from './stop-and-copy.js';

/** Never two running copies, never zero without saying so. */
export async function migrate(req: MigrateRequest): Promise<MigrationResult> {
  const problems = validateMigrateRequest(req, capabilitiesOf);
  if (problems.length) throw ApplicationFailure.nonRetryable(problems.join('; '), ErrorType.InvalidInput);

  const m = newMigration(req);
  setHandler(progressQuery, () => m.run.progress);
  setHandler(resolveSignal, (s) => m.run.onResolve(s));

  // 1-2. Nothing is frozen yet: any failure or a cancel ends here, the workload untouched.
  try {
    await preflight(m);
    await shipImage(m);
    await presync(m);
    await precopy(m);
  } catch (err) {
    return endBeforeFreeze(m, err);
  }

  // 3-7. The freeze, and everything after it, by mode.
  return m.run.mode === 'postcopy' ? postcopy(m) : stopAndCopy(m);
}
