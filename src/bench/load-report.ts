// npm run bench:load: the figures of a run and their rendering. Pure (unit-tested).
import type { MigrationResult, Phase } from '../domain/types.js';

/** What was left behind after the run, by kind (each should be 0). */
export interface LeftBehind {
  /** criu/rsync commands still running, workload processes no runtime reports as a copy. */
  processes: string[];
  /** Entries under STATE/migrations of any host. */
  images: string[];
  /** Mounts under the environment's folder that were not there before the run. */
  mounts: string[];
}

export interface WorkerMemory {
  host: string;
  startKiB: number;
  endKiB: number;
}

/** CPU seconds each component used during the run (from /proc/PID/stat), and the machine's. */
export interface CpuUse {
  wallS: number;
  machineBusyS: number;
  cores: number;
  byComponent: Record<string, number>;
}

export interface LoadReport {
  migrations: number;
  concurrency: number;
  hosts: number;
  workloads: number;
  results: MigrationResult[];
  /** Migrations that did not return a result (the client threw): their error. */
  errors: string[];
  totalMs: number;
  /** History length of each migration's workflow (DescribeWorkflowExecution). */
  historyEvents: number[];
  evacuation?: { workloads: number; moved: number; totalMs: number; outcomes: Record<string, number> };
  lost: string[];
  duplicated: string[];
  leftBehind: LeftBehind;
  memory: WorkerMemory[];
  cpu?: CpuUse;
  /** Running migrations sampled now and then (live progress): how often a step waited for a slot. */
  slotSamples?: { samples: number; waiting: Record<string, number>; example?: string };
}

/** The p-th percentile (0..100) by nearest rank; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export const leftBehindCount = (l: LeftBehind): number =>
  l.processes.length + l.images.length + l.mounts.length;

/** The contract's closing line: `N migrations: lost L, duplicated D, left behind B`. */
export function closingLine(
  r: Pick<LoadReport, 'migrations' | 'lost' | 'duplicated' | 'leftBehind'>,
): string {
  return `${r.migrations} migrations: lost ${r.lost.length}, duplicated ${r.duplicated.length}, left behind ${leftBehindCount(r.leftBehind)}`;
}

export const loadRunClean = (r: Pick<LoadReport, 'lost' | 'duplicated' | 'leftBehind'>): boolean =>
  r.lost.length === 0 && r.duplicated.length === 0 && leftBehindCount(r.leftBehind) === 0;

/** Outcome → count. */
export function outcomeCounts(outcomes: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
  return counts;
}

/** Mean duration of each phase over the results, in the order phases first appear. */
export function phaseMeans(results: readonly MigrationResult[]): { phase: Phase; meanMs: number }[] {
  const sums = new Map<Phase, { total: number; n: number }>();
  for (const r of results)
    for (const p of r.phases) {
      const s = sums.get(p.phase) ?? { total: 0, n: 0 };
      s.total += p.durationMs;
      s.n++;
      sums.set(p.phase, s);
    }
  return [...sums].map(([phase, s]) => ({ phase, meanMs: s.total / s.n }));
}

const ms = (v: number) => (Number.isNaN(v) ? '-' : `${Math.round(v)} ms`);
const s1 = (v: number) => `${(v / 1000).toFixed(1)} s`;

/** The figures as table rows (Markdown), shared by the page and the bench's own log. */
export function summaryRows(r: LoadReport): string[][] {
  const downtimes = r.results.flatMap((x) => (x.downtimeMs === undefined ? [] : [x.downtimeMs]));
  const perMinute = r.totalMs > 0 ? (r.results.length / r.totalMs) * 60_000 : NaN;
  const outcomes = outcomeCounts(r.results.map((x) => x.outcome));
  const rows: string[][] = [
    [
      'migrations (concurrency)',
      `${r.migrations} (${r.concurrency}) over ${r.hosts} hosts, ${r.workloads} workloads`,
    ],
    [
      'outcomes',
      Object.entries(outcomes)
        .map(([o, n]) => `${o} ${n}`)
        .join(', ') + (r.errors.length ? `, client errors ${r.errors.length}` : ''),
    ],
    ['total time', s1(r.totalMs)],
    ['migrations per minute', perMinute.toFixed(1)],
    [
      'downtime p50 / p95 / max',
      `${ms(percentile(downtimes, 50))} / ${ms(percentile(downtimes, 95))} / ${ms(max(downtimes))}`,
    ],
    [
      'total per migration p50 / p95',
      `${ms(
        percentile(
          r.results.map((x) => x.totalMs),
          50,
        ),
      )} / ${ms(
        percentile(
          r.results.map((x) => x.totalMs),
          95,
        ),
      )}`,
    ],
    [
      'history events per migration mean / max',
      `${mean(r.historyEvents).toFixed(0)} / ${max(r.historyEvents)}`,
    ],
  ];
  if (r.evacuation)
    rows.push([
      `evacuation of ${r.evacuation.workloads}`,
      `${r.evacuation.moved} moved in ${s1(r.evacuation.totalMs)} (${Object.entries(r.evacuation.outcomes)
        .map(([o, n]) => `${o} ${n}`)
        .join(', ')})`,
    ]);
  if (r.slotSamples) {
    const w = Object.entries(r.slotSamples.waiting).map(([k, n]) => `${k} ${n}`);
    rows.push([
      'live progress samples waiting for a slot',
      `${w.length ? w.join(', ') : 'none'} of ${r.slotSamples.samples}${r.slotSamples.example ? ` (e.g. "${r.slotSamples.example}")` : ''}`,
    ]);
  }
  rows.push(
    [
      'worker RSS start → end',
      r.memory.map((m) => `${m.host} ${mib(m.startKiB)} → ${mib(m.endKiB)}`).join(', '),
    ],
    ['lost / duplicated', `${r.lost.length} / ${r.duplicated.length}`],
    [
      'left behind: processes / images / mounts',
      `${r.leftBehind.processes.length} / ${r.leftBehind.images.length} / ${r.leftBehind.mounts.length}`,
    ],
  );
  return rows;
}

/** CPU use by component over the run, largest first, as shares of the machine. */
export function cpuRows(c: CpuUse): string[][] {
  const capacity = c.wallS * c.cores;
  const share = (v: number) =>
    `${v.toFixed(0)} s (${((v / capacity) * 100).toFixed(0)} % of ${c.cores} cores)`;
  return [
    ['whole machine (every agent on it)', share(c.machineBusyS)],
    ...Object.entries(c.byComponent)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, share(v)]),
  ];
}

export const table = (head: string[], rows: string[][]): string =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

const max = (v: readonly number[]): number => (v.length ? Math.max(...v) : NaN);

function mean(v: readonly number[]): number {
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
