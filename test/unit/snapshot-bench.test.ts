import { firstSince, largestBeatGap, parseSlowBoot } from '../../src/bench/slow-boot-lines.js';
import {
  medianRestore,
  ratio,
  renderSnapshotPage,
  throughput,
  type RestoreMeasure,
  type SnapshotRow,
} from '../../src/bench/snapshot-table.js';

const OUTPUT = [
  'plan 1000 mib=16 seconds=2',
  'ready 3000 89ebc8ef53933be8 mib=16 build_ms=1990 iterations=7274180',
  'beat 3000 1 89ebc8ef53933be8',
  'beat 3050 2 89ebc8ef53933be8',
  'beat 3400 3 89ebc8ef53933be8',
  '(00.001) criu says something',
  'verify 3420 89ebc8ef53933be8 compute_ms=12',
  'beat 3450 4 89ebc8ef53933be8',
  'beat 35', // torn last line
].join('\n');

describe('slow-boot workload lines', () => {
  it('reads ready, heartbeats and answers, skipping anything else', () => {
    const o = parseSlowBoot(OUTPUT);
    expect(o.ready).toEqual({ atMs: 3000, checksum: '89ebc8ef53933be8', mib: 16, buildMs: 1990 });
    expect(o.beats.map((b) => b.n)).toEqual([1, 2, 3, 4]);
    expect(o.verifies).toEqual([{ atMs: 3420, checksum: '89ebc8ef53933be8', computeMs: 12 }]);
  });

  it('finds the first line since a moment and the largest heartbeat gap in a window', () => {
    const o = parseSlowBoot(OUTPUT);
    expect(firstSince(o.beats, 3100)?.n).toBe(3);
    expect(firstSince(o.verifies, 3421)).toBeUndefined();
    expect(largestBeatGap(o.beats, 0, 10_000)).toBe(350);
    expect(largestBeatGap(o.beats, 3400, 10_000)).toBe(50);
    expect(largestBeatGap([], 0, 1)).toBe(0);
  });
});

const restore = (answeredMs: number, intact = true): RestoreMeasure => ({
  firstBeatMs: answeredMs - 50,
  answeredMs,
  totalMs: answeredMs + 2000,
  stepMs: answeredMs / 2,
  intact,
});

describe('snapshot bench table', () => {
  it('takes the median answer, intact only when every run was', () => {
    expect(medianRestore([restore(900), restore(300), restore(600)]).answeredMs).toBe(600);
    expect(medianRestore([restore(900), restore(300, false), restore(600)]).intact).toBe(false);
    expect(() => medianRestore([])).toThrow();
  });

  it('renders ratios and throughput, and a dash where a figure is missing', () => {
    expect(ratio(1500, 500)).toBe('3.00x');
    expect(ratio(1, 0)).toBe('-');
    expect(ratio(undefined, 5)).toBe('-');
    expect(throughput(512 * 2 ** 20, 1000)).toBe('512 MiB/s');
  });

  it('puts each size in all three tables with its ratios', () => {
    const row: SnapshotRow = {
      mib: 512,
      targetSeconds: 20,
      coldMs: 20_400,
      buildMs: 20_000,
      snapshot: { sizeBytes: 540 * 2 ** 20, frozenMs: 900, outsideGapMs: 950, durationMs: 4000 },
      ferry: restore(1200),
      floor: { ...restore(400), totalMs: 300, stepMs: 250 },
      disk: { bytes: 512 * 2 ** 20, ms: 500 },
      originalIntact: true,
    };
    const page = renderSnapshotPage([row], { runAt: 'then', machine: 'here', versions: 'v', reps: 3 });
    expect(page).toContain('| 512 MiB | 20 s | 20.4 s | 1200 ms | 17.00x | 400 ms | 3.00x |');
    expect(page).toContain(
      '| 512 MiB | 540 MiB | 600 ms | 550 ms | 300 ms | 2.00x | 250 ms | 2.40x | 512 MiB at 1024 MiB/s | 500 ms | 2.40x |',
    );
    expect(page).toContain('| 512 MiB | 540 MiB | 900 ms | 1707 ms | 950 ms | 4000 ms |');
    expect(page).toContain('yes/yes/yes');
  });
});
