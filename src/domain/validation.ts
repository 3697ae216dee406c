import { CRIU_OPTION_NAMES, type CapabilitiesOf } from './capabilities.js';
import { checkName, isRuntimeName, RUNTIMES } from './names.js';
import { isRequestedMode, REQUESTED_MODES } from './modes.js';
import type { AdoptTarget, MigrateRequest } from './types.js';

/**
 * Every problem with a migrate request, each naming the fix. Empty when valid.
 * `capabilitiesOf` is src/runtimes/capabilities.ts (passed in: domain code imports no runtime).
 */
export function validateMigrateRequest(
  req: Partial<MigrateRequest> | undefined,
  capabilitiesOf: CapabilitiesOf,
): string[] {
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
  if (req.mode !== undefined && !isRequestedMode(req.mode))
    problems.push(`unknown mode ${JSON.stringify(req.mode)}: use one of ${REQUESTED_MODES.join(', ')}`);
  if (req.mode === 'postcopy' && req.acceptPostcopyRisk !== true)
    problems.push(
      'mode postcopy can lose the workload on both hosts if anything fails once the destination has started it; ' +
        'opt in with acceptPostcopyRisk: true (CLI: --accept-postcopy-risk), see docs/migration-modes.md',
    );
  for (const flag of [
    'keepImages',
    'allowStartFresh',
    'acceptPostcopyRisk',
    'tcpEstablished',
    'fileLocks',
    'shipImage',
    'replaceStopped',
  ] as const)
    if (req[flag] !== undefined && typeof req[flag] !== 'boolean')
      problems.push(`${flag} must be true or false`);
  if (isRuntimeName(req.runtime))
    for (const flag of CRIU_OPTION_NAMES)
      if (req[flag] === true && !capabilitiesOf(req.runtime).criuOptions.includes(flag))
        problems.push(
          `${flag} is not supported by the ${req.runtime} runtime (${req.runtime} checkpoints cannot pass it to CRIU); drop it or use ${RUNTIMES.filter((r) => capabilitiesOf(r).criuOptions.includes(flag)).join(', ')}`,
        );
  if (
    req.verifyWindowMs !== undefined &&
    (!Number.isInteger(req.verifyWindowMs) || req.verifyWindowMs < 0 || req.verifyWindowMs > 600_000)
  )
    problems.push('verifyWindowMs must be an integer from 0 to 600000');
  problems.push(...validatePrecopy(req.precopy));
  problems.push(...validateAdopt(req.adopt));
  return problems;
}

/** Highest pid Linux can hand out (PID_MAX_LIMIT on 64-bit). */
const PID_MAX = 4_194_304;
/** systemd's unit name alphabet; only services have a MainPID. */
const SERVICE_RE = /^[A-Za-z0-9:_.\\@-]{1,248}\.service$/;

/**
 * Shape only: whether the runtime can adopt is its adapter's answer (the source preflight),
 * and whether the pid, file or unit exists is the source host's.
 */
export function validateAdopt(a: AdoptTarget | undefined): string[] {
  if (a === undefined) return [];
  if (!a || typeof a !== 'object' || Array.isArray(a))
    return ['adopt must be an object with one of pid, pidFile, unit (e.g. {"pid": 4242})'];
  const given = (['pid', 'pidFile', 'unit'] as const).filter((k) => a[k] !== undefined);
  if (given.length !== 1)
    return [
      `adopt needs exactly one of pid, pidFile, unit (CLI: --pid, --pidfile, --unit)${given.length ? `, not ${given.join(' and ')}` : ''}`,
    ];
  if (a.pid !== undefined && (!Number.isInteger(a.pid) || a.pid < 2 || a.pid > PID_MAX))
    return [
      a.pid === 1
        ? 'adopt.pid 1 is the init process of the host: it cannot be migrated'
        : `adopt.pid must be a process id, an integer from 2 to ${PID_MAX}`,
    ];
  if (
    a.pidFile !== undefined &&
    (typeof a.pidFile !== 'string' ||
      !a.pidFile.startsWith('/') ||
      a.pidFile.length > 4096 ||
      a.pidFile.includes('\0'))
  )
    return ['adopt.pidFile must be an absolute path on the source host (e.g. /run/app.pid)'];
  if (a.unit !== undefined && (typeof a.unit !== 'string' || !SERVICE_RE.test(a.unit)))
    return ['adopt.unit must name a systemd service, e.g. "app.service"'];
  return [];
}

function validatePrecopy(p: MigrateRequest['precopy']): string[] {
  if (p === undefined) return [];
  if (!p || typeof p !== 'object') return ['precopy must be an object like {"maxRounds": 5}'];
  const problems: string[] = [];
  const int = (v: unknown, min: number, max: number) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
  if (p.maxRounds !== undefined && !int(p.maxRounds, 1, 20))
    problems.push('precopy.maxRounds must be an integer from 1 to 20');
  if (p.fewPages !== undefined && !int(p.fewPages, 0, 1e9))
    problems.push('precopy.fewPages must be a non-negative integer');
  if (p.downtimeBudgetMs !== undefined && !int(p.downtimeBudgetMs, 0, 3_600_000))
    problems.push('precopy.downtimeBudgetMs must be an integer from 0 to 3600000');
  if (
    p.shrinkRatio !== undefined &&
    !(typeof p.shrinkRatio === 'number' && p.shrinkRatio > 0 && p.shrinkRatio <= 1)
  )
    problems.push('precopy.shrinkRatio must be a number in (0, 1]');
  return problems;
}
