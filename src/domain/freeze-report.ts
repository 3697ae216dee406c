// How a migration's freezes and kept CRIU logs read as plain text (`ferry show`, the UI head).
// Pure: workflows use it too.
import type { MigrationResult } from './types.js';

type FreezeFields = Pick<MigrationResult, 'freezes' | 'frozenMsTotal' | 'freezesUnknown'>;

/** "frozen 2× (311 ms in all)", "never frozen", or a lower bound when the source did not answer. */
export function freezeFigure(r: FreezeFields): string {
  if (r.freezesUnknown) return `frozen at least ${r.freezes}× (${r.freezesUnknown})`;
  if (!r.freezes) return 'never frozen';
  return `frozen ${r.freezes}× (${r.frozenMsTotal} ms in all)`;
}

/**
 * The lines `ferry show` prints after the cause: how often the workload was frozen, one line per
 * attempt that could freeze it, then each kept CRIU log (host and path) with its telling lines,
 * indented. Empty for a result from before freezes were counted.
 */
export function freezeReport(
  r: Pick<MigrationResult, 'freezes' | 'frozenMsTotal' | 'freezesUnknown' | 'freezeAttempts' | 'criuLogs'>,
): string[] {
  if (r.freezes === undefined) return [];
  const lines = [`Freezes: ${freezeFigure(r)}`];
  for (const a of r.freezeAttempts ?? []) {
    const how = a.froze
      ? `froze ${a.frozenMs !== undefined ? `${a.frozenMs} ms` : 'for an unknown time'}${a.measuredBy ? ` (${a.measuredBy})` : ''}`
      : 'did not freeze';
    lines.push(`  ${a.attempt}: ${how}, ${a.outcome}${a.log ? `; log ${a.log}` : ''}`);
  }
  for (const l of r.criuLogs ?? []) {
    lines.push(`CRIU log on ${l.host}: ${l.path}`);
    for (const e of l.excerpt) lines.push(`    ${e}`);
  }
  return lines;
}
