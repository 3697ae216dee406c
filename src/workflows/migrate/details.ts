// The migration's current details in the Temporal UI (Markdown). Pure: unit-tested.
import { precopyTable, type PrecopySummary } from '../../domain/precopy.js';
import type { MigrationProgress, MigrationResult, Phase } from '../../domain/types.js';
import { mib, seconds } from './format.js';

export interface DetailsView {
  progress: MigrationProgress;
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
  const cause = r.cause ? `\n\nCause: ${r.cause.type}: ${r.cause.message}` : '';
  return `**Outcome: ${r.outcome}**${downtime} · total ${seconds(r.totalMs)} · ${mib(r.bytesTransferred)} MiB sent${cause}`;
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
  return `${head}${rollback}\n\n| phase | took | figures |\n|---|---|---|\n${rows}${rounds}`;
}
