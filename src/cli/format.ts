import type { MigrationResult } from '../domain/types.js';
import { imageShipmentFigure } from '../domain/images.js';
import { precopyTable } from '../domain/precopy.js';

export const mib = (b: number | undefined) => (b === undefined ? '-' : `${(b / 1024 / 1024).toFixed(1)} MiB`);
const ms = (v: number | undefined) => (v === undefined ? '-' : `${v} ms`);

export function formatResult(r: MigrationResult, uiUrl?: string): string {
  const lines = [
    `${r.outcome === 'migrated' ? '✔' : '✘'} ${r.runtime}/${r.workload}: ${r.source} → ${r.destination}: ${r.outcome}`,
  ];
  if (r.mode) lines.push(`  mode: ${r.mode} (${r.modeReason ?? 'requested'})`);
  if (r.cause) lines.push(`  cause: ${r.cause.type}: ${r.cause.message}`);
  if (r.rollback) lines.push(`  rollback: ${r.rollback}`);
  for (const note of r.notes ?? []) lines.push(`  note: ${note}`);
  if (r.outcome === 'restarted-fresh')
    lines.push('  !!! the workload was STARTED FRESH on the source: its in-memory state is LOST');
  lines.push(
    `  downtime: ${ms(r.downtimeMs)}   total: ${ms(r.totalMs)}   images: ${mib(r.imageBytes)}   sent: ${mib(r.bytesTransferred)}`,
  );
  if (r.image) lines.push(`  image: ${imageShipmentFigure(r.image)}`);
  lines.push(`  phases: ${r.phases.map((p) => `${p.phase} ${p.durationMs} ms`).join(', ')}`);
  if (r.criu.dump)
    lines.push(
      `  criu dump: frozen ${ms(us(r.criu.dump.frozenTimeUs))}, ${r.criu.dump.pagesWritten ?? '-'} pages written; restore: ${ms(us(r.criu.restore?.restoreTimeUs))}, ${r.criu.restore?.pagesRestored ?? '-'} pages (CRIU ${r.criuVersions.source ?? '?'} → ${r.criuVersions.destination ?? '?'})`,
    );
  if (r.precopy)
    lines.push(
      ...precopyTable(r.precopy)
        .split('\n')
        .map((l) => `  ${l}`),
    );
  if (uiUrl) lines.push(`  history: ${uiUrl}`);
  return lines.join('\n');
}

const us = (v: number | undefined) => (v === undefined ? undefined : Math.round(v / 1000));
