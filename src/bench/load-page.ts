// docs/bench-load.md as npm run bench:load writes it: the figures of the run. The analysis of
// what limits throughput is written by hand below the marker and kept across runs.
import type { LoadReport } from './load-report.js';
import { cpuRows, phaseMeans, summaryRows, table } from './load-report.js';

/** Everything after this line in the page is kept as it is when the bench writes it again. */
export const ANALYSIS_MARKER = '<!-- written by hand below: kept by npm run bench:load -->';

/** The analysis part of an existing page (from the marker on), or a placeholder. */
export function keptAnalysis(existing: string | undefined): string {
  const at = existing?.indexOf(ANALYSIS_MARKER) ?? -1;
  return at >= 0
    ? existing!.slice(at)
    : `${ANALYSIS_MARKER}\n\n## What limits throughput\n\n(to be written)\n`;
}

export function renderLoadPage(
  r: LoadReport,
  facts: { date: string; kernel: string },
  existing?: string,
): string {
  const phases = phaseMeans(r.results).map((p) => [p.phase, `${Math.round(p.meanMs)} ms`]);
  return [
    '# Load: many small migrations at once',
    '',
    `Written by \`npm run bench:load\` on ${facts.date} (kernel ${facts.kernel}, this 2-core machine shared with`,
    `other agents). ${r.hosts} simulated hosts of one dev environment (Temporal CLI dev server on SQLite,`,
    'one sshd and one ferry worker per host, default limits: 2 CRIU and 2 transfer slots per host),',
    `${r.workloads} workloads (ferry-stateful with 1-4 MiB, process and runc alternately) spread over them,`,
    `${r.migrations} migrations at concurrency ${r.concurrency} through the typed client (each to another host),`,
    `then an evacuation of ${r.evacuation?.workloads ?? 0} workloads off node-a at the same concurrency.`,
    "Downtime is the result's (freeze to running, the hosts' one clock); history events are each",
    "migration's history length; RSS is each worker's VmRSS before the first and after the last",
    "migration; the counts come from asking every host's runtimes for every workload afterwards.",
    '',
    table(['figure', 'value'], summaryRows(r)),
    '',
    "## Where a migration's time goes (mean per phase)",
    '',
    table(['phase', 'mean'], phases),
    '',
    ...(r.cpu
      ? [
          `## CPU during the run (${Math.round(r.cpu.wallS)} s of wall time)`,
          '',
          table(['who', 'CPU'], cpuRows(r.cpu)),
          '',
        ]
      : []),
    ...(r.errors.length ? ['## Client errors', '', ...r.errors.map((e) => `- ${e}`), ''] : []),
    keptAnalysis(existing),
  ].join('\n');
}
