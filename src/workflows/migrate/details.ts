// The migration's current details in the Temporal UI (Markdown). Pure: unit-tested.
import { precopyTable, type PrecopySummary } from '../../domain/precopy.js';
import type { MigrationProgress, MigrationResult, Phase } from '../../domain/types.js';
import { freezeFigure } from '../../domain/freeze-report.js';
import { mib, seconds } from './format.js';

export interface DetailsView {
  progress: MigrationProgress;
  /** Once the migration ended: its freeze attempts and kept logs. */
  result?: Pick<MigrationResult, 'freezeAttempts' | 'criuLogs'>;
  /** Figures only known once a step has run: one cell per phase. */
  figures: Partial<Record<Phase, string>>;
  rollbackNotes: readonly string[];
  precopy?: PrecopySummary;
}

/** Head line while the migration runs. */
export const runningHead = (p: MigrationProgress): string =>
  `Phase **${p.phase}** · ${mib(p.bytesTransferred)} MiB sent`;

/** Head line once the migration has its outcome. */
export function outcomeHead(r: MigrationResult): string {
  const downtime = r.downtimeMs !== undefined ? ` · downtime ${r.downtimeMs} ms` : '';
  const frozen = r.freezes !== undefined ? ` · ${freezeFigure(r)}` : '';
  const where = stillOnSource(r);
  const cause = r.cause ? `\n\nCause: ${r.cause.type}: ${r.cause.message}` : '';
  return `**Outcome: ${r.outcome}**${downtime}${frozen} · total ${seconds(r.totalMs)} · ${mib(r.bytesTransferred)} MiB sent${where}${cause}`;
}

/**
 * The endings before the final freeze say plainly whether the workload was frozen: a failed dump
 * attempt or a pre-copy round froze it briefly, and CRIU resumed it each time.
 */
function stillOnSource(r: MigrationResult): string {
  if (r.outcome !== 'failed-before-freeze' && r.outcome !== 'cancelled') return '';
  if (r.freezes === undefined) return '';
  if (r.freezes === 0 && !r.freezesUnknown)
    return `\n\n${r.runtime}/${r.workload} was never frozen and runs on ${r.source} as before.`;
  return `\n\n${r.runtime}/${r.workload} was frozen ${r.freezes}× (${r.frozenMsTotal} ms in all) by dump attempts or pre-copy rounds and resumed each time: it runs on ${r.source}.`;
}

/** One row per CRIU command that could freeze the workload, and the CRIU logs kept. */
export function freezeTable(r: Pick<MigrationResult, 'freezeAttempts' | 'criuLogs'>): string {
  const attempts = r.freezeAttempts ?? [];
  const rows = attempts.map(
    (a) =>
      `| ${a.attempt} | ${a.froze ? 'yes' : 'no'} | ${a.frozenMs !== undefined ? `${a.frozenMs} ms` : a.froze ? 'unknown' : ''} | ${a.measuredBy ?? ''} | ${a.outcome} | ${a.log ?? ''} |`,
  );
  const table = attempts.length
    ? `**Freezes**\n\n| attempt | froze | frozen | measured by | outcome | CRIU log |\n|---|---|---|---|---|---|\n${rows.join('\n')}`
    : '';
  const logs = (r.criuLogs ?? []).map((l) => `- ${l.host}: \`${l.path}\``).join('\n');
  return [table, logs ? `**CRIU logs kept**\n\n${logs}` : ''].filter(Boolean).join('\n\n');
}

/** Head, numbered rollback steps, the table of phases, and the pre-copy rounds if any. */
export function renderDetails(v: DetailsView, head = runningHead(v.progress)): string {
  const { progress } = v;
  const last = progress.phases.at(-1);
  const rows = progress.phases
    .map((p) => {
      const running = p === last && p.phase === progress.phase && !p.durationMs;
      return `| ${p.phase} | ${running ? 'running' : seconds(p.durationMs)} | ${v.figures[p.phase] ?? ''} |`;
    })
    .join('\n');
  const rollback = v.rollbackNotes.length
    ? `\n\n**Rollback**\n\n${v.rollbackNotes.map((n, i) => `${i + 1}. ${n}`).join('\n')}`
    : '';
  const rounds = v.precopy ? `\n\n**Pre-copy rounds**\n\n${precopyTable(v.precopy)}` : '';
  const freezes = v.result ? freezeTable(v.result) : '';
  return `${head}${rollback}\n\n| phase | took | figures |\n|---|---|---|\n${rows}${rounds}${freezes ? `\n\n${freezes}` : ''}`;
}
