// Turns a CRIU log into the line that explains a failure: the log path alone is not an
// explanation, so errors quote the first real error CRIU wrote.

const HARMLESS = [/Can't setup RLIMIT_NOFILE/, /Can't keep kdat cache/];

/** CRIU error lines look like "(00.012345) Error (criu/file.c:123): message". */
export function criuErrorLines(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => /\bError\b|\bBUG\b/.test(l) && !HARMLESS.some((re) => re.test(l)))
    .map((l) => l.replace(/^\(\s*[\d.]+\)\s*/, '').trim());
}

/** The most telling error line: the first one, which is usually the root cause. */
export function criuRootCause(log: string): string | undefined {
  return criuErrorLines(log)[0];
}

/** Restoring a plain process needs its old PIDs; another process may briefly hold one. */
export function isPidBusy(log: string): boolean {
  return /Can't fork for \d+: File exists/.test(log) || /PID \d+ is already in use/i.test(log);
}

export function parseCriuVersion(output: string): string | undefined {
  return /^Version:\s*(\S+)/m.exec(output)?.[1];
}
