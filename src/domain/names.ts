// Names, identifiers and their validation. Pure and deterministic: used by workflows too.

export const RUNTIMES = ['runc', 'process', 'podman', 'docker'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

/** Task queue that only the worker of one host polls: activities about that host run there. */
export const WORKFLOW_TASK_QUEUE = 'ferry';
export const hostTaskQueue = (host: string): string => `ferry-host-${host}`;

// Workload and host names end up in file paths, runc ids, task queues and workflow ids:
// a conservative alphabet keeps all of those safe without quoting.
export const NAME_RE = /^[a-z0-9]([a-z0-9_.-]{0,61}[a-z0-9])?$/;

export class InvalidNameError extends Error {}

function describeBadName(kind: string, value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return `${kind} name is missing`;
  if (value.length > 63) return `${kind} name "${value}" is longer than 63 characters`;
  if (value.includes('/') || value.includes('..'))
    return `${kind} name "${value}" contains "/" or "..": names may not be paths`;
  if (/\s/.test(value)) return `${kind} name "${value}" contains white space`;
  if (!NAME_RE.test(value))
    return `${kind} name "${value}" has characters outside [a-z0-9_.-] or does not start and end with a letter or digit`;
  return undefined;
}

/** Returns an error message naming the problem and the fix, or undefined when valid. */
export function checkName(kind: 'workload' | 'host', value: unknown): string | undefined {
  const problem = describeBadName(kind, value);
  return problem && `${problem}. Use 1-63 characters of a-z, 0-9, "-", "_" or "." (e.g. "web-1").`;
}

export function isRuntimeName(value: unknown): value is RuntimeName {
  return typeof value === 'string' && (RUNTIMES as readonly string[]).includes(value);
}

/**
 * One migration per workload at a time: the id names where the workload is now, so a
 * second start while the first runs is refused by Temporal (conflict policy FAIL).
 */
export function migrationWorkflowId(runtime: RuntimeName, source: string, workload: string): string {
  return `migrate-${runtime}-${source}-${workload}`;
}
