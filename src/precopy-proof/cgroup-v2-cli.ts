// `npm run proof:cgroup-v2`: boots the guest with only cgroup2 mounted, proves the process, runc
// and podman runtimes there (cgroup-v2-main.ts) and ends with one verdict line per runtime.
import { mkdir } from 'node:fs/promises';
import { runCgroupV2Guest } from './run-guest.js';
import { verdictLines, PROVED_RUNTIMES, type CgroupGuestReport } from './cgroup-v2-report.js';

const CONSOLE_LOG = '.ferry/cgroup-v2-guest.log';
let report: CgroupGuestReport;
try {
  // The whole console, for when a line says failed (an ignored folder).
  await mkdir('.ferry', { recursive: true });
  const run = await runCgroupV2Guest({ consoleFile: CONSOLE_LOG });
  report = { ...run.report, runtimes: run.report.runtimes ?? {} };
  process.stdout.write(
    `guest kernel ${report.kernel}, cgroup layout ${report.layout} (subtree_control: ${report.subtreeControl}), CRIU ${report.criuVersion}, boot to report ${run.bootToReportMs} ms\n`,
  );
  for (const rt of PROVED_RUNTIMES) {
    const p = report.runtimes[rt];
    if (!p) continue;
    process.stdout.write(
      `${rt}: checkpoint ${p.checkpointMs ?? '-'} ms, restore ${p.restoreMs ?? '-'} ms; cgroup ${p.sourceCgroup ?? '-'} -> ${p.restoredCgroup ?? '-'}; counter ${p.continuity ? `${p.continuity.lines} lines, ${p.continuity.restarts} restarts, ${p.continuity.counterBreaks} breaks` : '-'}; failed restore: ${p.failedRestore ? `${p.failedRestore.refused ?? 'not refused'}; cgroups left: ${p.failedRestore.left.join(', ') || 'none'}` : '-'}\n`,
    );
  }
  if (report.error) process.stdout.write(`ERROR: ${report.error}\n`);
} catch (err) {
  process.stdout.write(`${(err as Error).message}\n(console: ${CONSOLE_LOG})\n`);
  report = { runtimes: {}, error: `the guest did not report: ${(err as Error).message.split('\n')[0]}` };
}
const lines = verdictLines(report);
process.stdout.write(lines.join('\n') + '\n');
process.exitCode = lines.every((l) => l.endsWith(': ok')) ? 0 : 1;
