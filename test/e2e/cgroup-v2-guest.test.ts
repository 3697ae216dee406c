import { runCgroupV2Guest } from '../../src/precopy-proof/run-guest.js';
import {
  PROVED_RUNTIMES,
  verdictLines,
  type CgroupGuestReport,
} from '../../src/precopy-proof/cgroup-v2-report.js';

/**
 * ferry's process, runc and podman runtimes on a cgroup v2 host (this machine has v1 only):
 * Debian's stock kernel under qemu with only cgroup2 mounted, ferry's own adapters and
 * activities spawning, checkpointing and restoring each on a second host folder, and a restore
 * that fails leaving no cgroup behind (docs/cgroups.md).
 */
describe('runtimes on a cgroup v2 host (qemu guest)', () => {
  let report: CgroupGuestReport;
  beforeAll(async () => {
    const run = await runCgroupV2Guest({ timeoutMs: 20 * 60_000 });
    report = run.report;
    process.stdout.write(
      `cgroup v2 guest report after ${run.bootToReportMs} ms: ${JSON.stringify(report)}\n`,
    );
  }, 21 * 60_000);

  it('the guest has only cgroup2, with controllers for its children', () => {
    expect(report.error).toBeUndefined();
    expect(report.layout).toBe('v2');
    expect(report.subtreeControl).toMatch(/\bmemory\b/);
    expect(report.subtreeControl).toMatch(/\bpids\b/);
  });

  it.each(PROVED_RUNTIMES)('%s: moved with its counter going on, its failed restore left no cgroup', (rt) => {
    const p = report.runtimes[rt]!;
    expect(verdictLines(report)).toContain(`cgroup v2 ${rt}: ok`);
    expect(p.destinationLayout).toBe('v2');
    expect(p.continuity).toMatchObject({ restarts: 0, counterBreaks: 0, distinctChecksums: 1 });
    expect(p.continuity!.lines).toBeGreaterThan(5);
    expect(p.failedRestore!.refused).toMatch(/^RestoreFailed: /);
    expect(p.failedRestore!.left).toEqual([]);
  });

  it('runc: each host keeps its containers under its own cgroup parent', () => {
    const p = report.runtimes.runc!;
    expect(p.sourceCgroup).toMatch(/^\/ferry\/guest-a-[0-9a-f]{12}\/counter-runc$/);
    expect(p.restoredCgroup).toMatch(/^\/ferry\/guest-b-[0-9a-f]{12}\/counter-runc$/);
  });
});
