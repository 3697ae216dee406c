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

/**
 * CRIU log paths named in a runtime's failure message. runc says "log file: /x/restore.log",
 * containerd (docker) passes runc's wording on, podman says "CRIU log file: ..." or
 * "(see /x/dump.log)"; quotes and escaped newlines are dropped.
 */
export function criuLogPathsIn(message: string): string[] {
  const found = new Set<string>();
  const re = /(?:log file|log)[:\s]+"?(\/[^\s"',)\\]+\.log)/gi;
  for (const m of message.replace(/\\n/g, '\n').matchAll(re)) found.add(m[1]!);
  const bare = /\/[^\s"',()\\]+\/(?:dump|restore)[^\s"',()\\/]*\.log/g;
  for (const m of message.replace(/\\n/g, '\n').matchAll(bare)) found.add(m[0]);
  return [...found];
}
