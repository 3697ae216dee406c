// `npm run proof:precopy`: boots the proof guest and prints its rounds table (docs/precopy.md).
import { precopyTable } from '../domain/precopy.js';
import { runPrecopyGuest } from './run-guest.js';

const mib = Number(process.argv[2] ?? 32);
const { report, bootToReportMs } = await runPrecopyGuest({ workloadMiB: mib });
const kib = (b: number) => Math.round(b / 1024);
const lines = [
  `guest kernel ${report.kernel}, CRIU ${report.criuVersion}, boot to report ${bootToReportMs} ms`,
];
lines.push(
  `dirty-page tracking: ${report.dirtyTracking.supported ? 'supported' : report.dirtyTracking.reason}`,
);
if (report.error) lines.push(`ERROR: ${report.error}`);
if (report.precopy) lines.push('', precopyTable(report.precopy));
if (report.finalDump) {
  const full = report.precopy?.rounds[0]?.imageBytes ?? 0;
  const s = report.finalDump.stats;
  lines.push(
    '',
    `final dump (parent ${report.finalParentLink ?? 'none'}): ${s.pagesWritten} pages written, ${s.pagesSkippedParent} skipped, ${kib(report.finalDump.imageBytes)} KiB, ${report.finalDump.durationMs} ms; frozen ${Math.round((s.frozenTimeUs ?? 0) / 1000)} ms`,
    `a plain dump of the same memory (round 1, no parent): ${kib(full)} KiB; final/plain = ${full ? (report.finalDump.imageBytes / full).toFixed(5) : '-'}`,
    `final ship: ${kib(report.finalShip?.bytesSent ?? 0)} KiB sent in ${report.finalShip?.durationMs} ms; parent link after rsync: ${report.parentLinkAfterRsync}`,
  );
}
if (report.continuity)
  lines.push(
    `restored: ${report.restore?.stats.pagesRestored} pages in ${report.restore?.durationMs} ms; counter restarts ${report.continuity.restarts}, breaks ${report.continuity.counterBreaks}, distinct checksums ${report.continuity.distinctChecksums}, ${report.continuity.lines} lines`,
  );
const series = report.snapshots;
if (series) {
  lines.push('', 'snapshot | parent | pages written | pages left to the parent | size | frozen');
  for (const t of series.taken)
    lines.push(
      `${t.id} | ${t.parent ?? `none (${t.fullBecause})`} | ${t.pagesWritten} | ${t.pagesFromParent} | ${kib(t.sizeBytes)} KiB | ${t.frozenMs} ms`,
    );
  lines.push(`restore of the last one: ${series.restoredPages} pages, memory intact: ${series.memoryIntact}`);
}
process.stdout.write(lines.join('\n') + '\n');
const ok = report.continuity?.restarts === 0 && report.continuity.distinctChecksums === 1 && !report.error;
process.exitCode = ok ? 0 : 1;
