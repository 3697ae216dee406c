// Reads the output of ferry-stateful ("<unix-ms> <counter> <checksum>" per line) to judge a
// migration from outside: continuity of state and the largest gap (downtime as the workload saw it).

export interface StatefulLine {
  atMs: number;
  counter: number;
  checksum: string;
}

export function parseStatefulOutput(text: string): StatefulLine[] {
  const out: StatefulLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d{10,}) (\d+) ([0-9a-f]{16})$/.exec(line.trim());
    if (m) out.push({ atMs: Number(m[1]), counter: Number(m[2]), checksum: m[3]! });
  }
  return out;
}

export interface Continuity {
  lines: number;
  /** Times the counter went back to 1 after the first line: a restart, state lost. */
  restarts: number;
  /** Places where the counter did not go up by exactly one. */
  counterBreaks: number;
  distinctChecksums: number;
  largestGapMs: number;
  /** Index of the line after the largest gap. */
  largestGapAt: number;
}

export function analyseContinuity(lines: StatefulLine[]): Continuity {
  let restarts = 0;
  let counterBreaks = 0;
  let largestGapMs = 0;
  let largestGapAt = 0;
  for (let i = 1; i < lines.length; i++) {
    const prev = lines[i - 1]!;
    const cur = lines[i]!;
    if (cur.counter === 1) restarts++;
    if (cur.counter !== prev.counter + 1) counterBreaks++;
    const gap = cur.atMs - prev.atMs;
    if (gap > largestGapMs) {
      largestGapMs = gap;
      largestGapAt = i;
    }
  }
  return {
    lines: lines.length,
    restarts,
    counterBreaks,
    distinctChecksums: new Set(lines.map((l) => l.checksum)).size,
    largestGapMs,
    largestGapAt,
  };
}
