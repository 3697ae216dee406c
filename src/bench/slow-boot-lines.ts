// The slow-boot workload's lines (src/bench/slow-boot.py), parsed. Pure: unit-tested.
//   plan <ms> mib=<MIB> seconds=<S>
//   ready <ms> <checksum> mib=<MIB> build_ms=<B> iterations=<N>
//   beat <ms> <n> <checksum>
//   verify <ms> <checksum> compute_ms=<C>
// Times are epoch milliseconds from the workload's own clock (the bench's, on one machine).

export interface ReadyLine {
  atMs: number;
  checksum: string;
  mib: number;
  buildMs: number;
}
export interface BeatLine {
  atMs: number;
  n: number;
  checksum: string;
}
export interface VerifyLine {
  atMs: number;
  checksum: string;
  computeMs: number;
}
export interface SlowBootOutput {
  ready?: ReadyLine;
  beats: BeatLine[];
  verifies: VerifyLine[];
}

const READY = /^ready (\d+) ([0-9a-f]{16}) mib=(\d+) build_ms=(\d+)/;
const BEAT = /^beat (\d+) (\d+) ([0-9a-f]{16})$/;
const VERIFY = /^verify (\d+) ([0-9a-f]{16}) compute_ms=(\d+)$/;

/** Every line it knows; anything else (CRIU's words, a torn last line) is skipped. */
export function parseSlowBoot(text: string): SlowBootOutput {
  const out: SlowBootOutput = { beats: [], verifies: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = READY.exec(line)))
      out.ready = { atMs: Number(m[1]), checksum: m[2]!, mib: Number(m[3]), buildMs: Number(m[4]) };
    else if ((m = BEAT.exec(line))) out.beats.push({ atMs: Number(m[1]), n: Number(m[2]), checksum: m[3]! });
    else if ((m = VERIFY.exec(line)))
      out.verifies.push({ atMs: Number(m[1]), checksum: m[2]!, computeMs: Number(m[3]) });
  }
  return out;
}

/** The first line printed at or after a moment (lines printed before a restore come back with it). */
export function firstSince<T extends { atMs: number }>(lines: readonly T[], sinceMs: number): T | undefined {
  return lines.find((l) => l.atMs >= sinceMs);
}

/** The largest gap between consecutive heartbeats printed within [fromMs, toMs]: a freeze seen from outside. */
export function largestBeatGap(beats: readonly BeatLine[], fromMs: number, toMs: number): number {
  const inside = beats.filter((b) => b.atMs >= fromMs && b.atMs <= toMs);
  let gap = 0;
  for (let i = 1; i < inside.length; i++) gap = Math.max(gap, inside[i]!.atMs - inside[i - 1]!.atMs);
  return gap;
}
