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

/**
 * Every line of a CRIU log that reports a problem (Error, Warn, BUG), without its timestamp or
 * the parasite's "pie: PID:" prefix: a refusal can show as a warning before the first error
 * (e.g. "Unable to interrupt task" when another tracer holds the process).
 */
export function criuProblemLines(log: string): string[] {
  return log
    .split('\n')
    .map((l) =>
      l
        .replace(/^\(\s*[\d.]+\)\s*/, '')
        .replace(/^pie: \d+: /, '')
        .trim(),
    )
    .filter((l) => /^(Error|Warn)\b|\bBUG\b/.test(l) && !HARMLESS.some((re) => re.test(l)));
}

/** Seconds since CRIU started, from a log line's "(SS.uuuuuu)" prefix. */
function stampOf(line: string): number | undefined {
  const m = /^\(\s*(\d+\.\d+)\)/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/**
 * How long CRIU kept the workload frozen, from its log: from the first task seized (or the
 * cgroup freeze) to "Unfreezing tasks" (resumed, or killed after a dump). Undefined when CRIU
 * never froze it (it failed before). A log cut short (CRIU was killed) counts up to its last line.
 */
export function frozenSpanMs(log: string): number | undefined {
  const stamped = log
    .split('\n')
    .map((line) => ({ line, at: stampOf(line) }))
    .filter((l): l is { line: string; at: number } => l.at !== undefined);
  const start = stamped.find((l) => /Seized task \d+|freezing (cgroup|processes)/i.test(l.line));
  if (!start) return undefined;
  const end = stamped.find((l) => /Unfreezing tasks into/.test(l.line)) ?? stamped.at(-1)!;
  return Math.max(0, Math.round((end.at - start.at) * 1000));
}

/**
 * The lines of a CRIU log that matter to a person reading why it failed: its version line,
 * every problem line (without the harmless ones) with `context` lines before the first real
 * one, and its last lines. At most `max` lines; "…" marks what was left out.
 */
export function criuLogExcerpt(log: string, opts: { context?: number; max?: number } = {}): string[] {
  const context = opts.context ?? 3;
  const max = opts.max ?? 30;
  const lines = log.split('\n').filter((l) => l.trim() !== '');
  const problem = (l: string) => /\b(Error|Warn)\b|\bBUG\b/.test(l) && !HARMLESS.some((re) => re.test(l));
  const keep = new Set<number>();
  const version = lines.findIndex((l) => /Version:/.test(l));
  if (version >= 0) keep.add(version);
  const first = lines.findIndex(problem);
  if (first >= 0) for (let i = Math.max(0, first - context); i < first; i++) keep.add(i);
  lines.forEach((l, i) => problem(l) && keep.add(i));
  for (let i = Math.max(0, lines.length - 2); i < lines.length; i++) keep.add(i);
  const out: string[] = [];
  let last = -1;
  for (const i of [...keep].sort((a, b) => a - b)) {
    if (last >= 0 && i !== last + 1) out.push('…');
    out.push(lines[i]!);
    last = i;
  }
  return out.length > max ? [...out.slice(0, max - 1), '…'] : out;
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
