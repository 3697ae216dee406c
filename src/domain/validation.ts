import { checkName, isRuntimeName, RUNTIME_CRIU_OPTIONS, RUNTIMES } from './names.js';
import type { MigrateRequest } from './types.js';

/** Every problem with a migrate request, each naming the fix. Empty when valid. */
export function validateMigrateRequest(req: Partial<MigrateRequest> | undefined): string[] {
  if (!req || typeof req !== 'object')
    return ['the migrate request must be an object (see docs/workflows.md)'];
  const problems: string[] = [];
  const workload = checkName('workload', req.workload);
  if (workload) problems.push(workload);
  if (!isRuntimeName(req.runtime))
    problems.push(`unknown runtime ${JSON.stringify(req.runtime)}: use one of ${RUNTIMES.join(', ')}`);
  const source = checkName('host', req.source);
  if (source) problems.push(`source ${source}`);
  const destination = checkName('host', req.destination);
  if (destination) problems.push(`destination ${destination}`);
  if (!source && !destination && req.source === req.destination)
    problems.push(`source and destination are both "${req.source}": pick a different destination host`);
  for (const flag of ['keepImages', 'allowStartFresh', 'tcpEstablished', 'fileLocks'] as const)
    if (req[flag] !== undefined && typeof req[flag] !== 'boolean')
      problems.push(`${flag} must be true or false`);
  if (isRuntimeName(req.runtime))
    for (const flag of ['tcpEstablished', 'fileLocks'] as const)
      if (req[flag] === true && !RUNTIME_CRIU_OPTIONS[req.runtime].includes(flag))
        problems.push(
          `${flag} is not supported by the ${req.runtime} runtime (${req.runtime} checkpoints cannot pass it to CRIU); drop it or use ${RUNTIMES.filter((r) => RUNTIME_CRIU_OPTIONS[r].includes(flag)).join(', ')}`,
        );
  if (
    req.verifyWindowMs !== undefined &&
    (!Number.isInteger(req.verifyWindowMs) || req.verifyWindowMs < 0 || req.verifyWindowMs > 600_000)
  )
    problems.push('verifyWindowMs must be an integer from 0 to 600000');
  return problems;
}
