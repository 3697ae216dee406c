import { runPrecopyGuest, type GuestRun } from '../../src/precopy-proof/run-guest.js';

/**
 * Pre-copy for real on a kernel that tracks dirty pages (this machine's does not): Debian's
 * stock kernel under qemu, running ferry's own preDump activity, stop rule and loop, the final
 * dump with the last round as parent, rsync to a second host folder and the restore activity.
 */
describe('pre-copy on a kernel with dirty-page tracking (qemu guest)', () => {
  let run: GuestRun;
  beforeAll(async () => {
    run = await runPrecopyGuest({ workloadMiB: 32, timeoutMs: 14 * 60_000 });
    process.stdout.write(`guest report after ${run.bootToReportMs} ms: ${JSON.stringify(run.report)}\n`);
  }, 15 * 60_000);

  it('the guest kernel tracks dirty pages', () => {
    expect(run.report.error).toBeUndefined();
    expect(run.report.dirtyTracking).toEqual({ supported: true });
  });

  it('ran rounds that shrank, and stopped by the rule', () => {
    const p = run.report.precopy!;
    expect(p.rounds.length).toBeGreaterThanOrEqual(2);
    const [first, ...later] = p.rounds;
    expect(first!.pagesWritten).toBeGreaterThan(8000); // 32 MiB = 8192 pages
    expect(first!.pagesSkipped).toBe(0);
    for (const r of later) {
      expect(r.pagesWritten).toBeLessThan(first!.pagesWritten / 10);
      expect(r.pagesSkipped).toBeGreaterThan(8000); // the parent round holds them
    }
    expect(p.stopReason).toBe('few-pages');
    expect(p.finalParentRound).toBe(p.rounds.length);
  });

  it('the final dump used the last round as its parent, and the link survived rsync', () => {
    const last = run.report.precopy!.rounds.length;
    expect(run.report.finalParentLink).toBe(`../rounds/round-${last}`);
    expect(run.report.parentLinkAfterRsync).toBe(`../rounds/round-${last}`);
    const stats = run.report.finalDump!.stats;
    expect(stats.pagesSkippedParent).toBeGreaterThan(8000);
    expect(stats.pagesWritten).toBeLessThan(1000);
    expect(run.report.finalDump!.imageBytes).toBeLessThan(run.report.precopy!.rounds[0]!.imageBytes / 10);
  });

  it('the restored workload continued its counter and checksum', () => {
    expect(run.report.restore!.stats.pagesRestored).toBeGreaterThan(8000);
    expect(run.report.continuity).toMatchObject({ restarts: 0, counterBreaks: 0, distinctChecksums: 1 });
    expect(run.report.continuity!.lines).toBeGreaterThan(10);
  });

  // Issue 13: snapshots of a series on a kernel that tracks dirty pages: the first full, each
  // later one writes only what changed since the one before (docs/snapshots.md).
  it('snapshots of a running workload: incremental after the first; the last restores whole', () => {
    const series = run.report.snapshots!;
    const [first, second, third] = series.taken;
    expect(series.taken).toHaveLength(3);
    expect(first).toMatchObject({ parent: null, fullBecause: expect.stringMatching(/first snapshot/) });
    expect(first!.pagesWritten).toBeGreaterThan(8000);
    expect(second!.parent).toBe(first!.id);
    expect(third!.parent).toBe(second!.id);
    for (const s of [second!, third!]) {
      expect(s.fullBecause).toBeNull();
      expect(s.pagesFromParent).toBeGreaterThan(2000);
      expect(s.pagesWritten).toBeLessThan(6000);
      expect(s.sizeBytes).toBeLessThan(first!.sizeBytes * 0.8);
    }
    expect(series.restoredPages).toBeGreaterThan(8000);
    expect(series.memoryIntact).toBe(true);
    expect(series.continuity).toMatchObject({ restarts: 0 });
  });
});
