// The durable count of a migration's freezes on the source: every CRIU command that may freeze
// the workload appends a "start" line before it runs and an "end" line after, to
// STATE/logs/<migrationId>/freezes.jsonl. Retried attempts append their own lines; an attempt
// whose worker died leaves a start without an end, which the next step (or the final read)
// settles from the log that CRIU left. The workflow reads the summary when the migration ends.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FreezeAttempt, FreezeStep } from '../domain/types.js';
import type { HostPaths } from './host-paths.js';

export interface LedgerStart {
  event: 'start';
  attempt: string;
  step: FreezeStep;
  atMs: number;
  /** The CRIU log this attempt writes: a crashed attempt is settled from it. */
  log: string;
  /** A path in the command line of its CRIU (found again while it still runs). */
  marker: string;
}

export interface LedgerEnd {
  event: 'end';
  attempt: string;
  froze: boolean;
  frozenMs?: number;
  measuredBy?: FreezeAttempt['measuredBy'];
  outcome: 'dumped' | 'failed';
  log?: string;
  /** e.g. "settled after its worker died". */
  note?: string;
}

export type LedgerEntry = LedgerStart | LedgerEnd;

export const LEDGER_FILE = 'freezes.jsonl';

export class FreezeLedger {
  readonly file: string;
  constructor(
    private readonly paths: HostPaths,
    readonly migrationId: string,
  ) {
    this.file = path.join(paths.logsDir(migrationId), LEDGER_FILE);
  }

  async entries(): Promise<LedgerEntry[]> {
    const text = await readFile(this.file, 'utf8').catch(() => '');
    return parseLedger(text);
  }

  /** Records that an attempt of step is about to run CRIU; returns its name ("checkpoint-2"). */
  async start(step: FreezeStep, log: string, marker: string): Promise<string> {
    const n = (await this.entries()).filter((e) => e.event === 'start' && e.step === step).length + 1;
    const attempt = `${step}-${n}`;
    await this.append({ event: 'start', attempt, step, atMs: Date.now(), log, marker });
    return attempt;
  }

  async end(e: Omit<LedgerEnd, 'event'>): Promise<void> {
    await this.append({ event: 'end', ...e });
  }

  /** Attempts that started and have no end yet. */
  async open(): Promise<LedgerStart[]> {
    const entries = await this.entries();
    const ended = new Set(entries.filter((e) => e.event === 'end').map((e) => e.attempt));
    return entries.filter((e): e is LedgerStart => e.event === 'start' && !ended.has(e.attempt));
  }

  // One short line per write with O_APPEND: concurrent writers never interleave within a line.
  private async append(entry: LedgerEntry): Promise<void> {
    await mkdir(this.paths.logsRoot(), { recursive: true, mode: 0o700 });
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    await appendFile(this.file, JSON.stringify(entry) + '\n', { mode: 0o600 });
  }
}

/** Lines that do not parse (a write cut short by a crash) are skipped. */
export function parseLedger(text: string): LedgerEntry[] {
  const out: LedgerEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as LedgerEntry);
    } catch {
      /* a torn last line */
    }
  }
  return out;
}

export interface FreezeSummary {
  freezes: number;
  frozenMsTotal: number;
  attempts: FreezeAttempt[];
}

/**
 * Pure: the attempts in order and what they add up to. An attempt that never ended counts as a
 * freeze of unknown length (its CRIU may have frozen the workload before its worker died).
 */
export function summariseFreezes(entries: readonly LedgerEntry[]): FreezeSummary {
  const ends = new Map<string, LedgerEnd>();
  for (const e of entries) if (e.event === 'end') ends.set(e.attempt, e);
  const attempts: FreezeAttempt[] = entries
    .filter((e): e is LedgerStart => e.event === 'start')
    .map((s) => {
      const end = ends.get(s.attempt);
      if (!end) return { attempt: s.attempt, step: s.step, atMs: s.atMs, froze: true, outcome: 'unknown' };
      return {
        attempt: s.attempt,
        step: s.step,
        atMs: s.atMs,
        froze: end.froze,
        ...(end.frozenMs !== undefined ? { frozenMs: end.frozenMs } : {}),
        ...(end.measuredBy ? { measuredBy: end.measuredBy } : {}),
        outcome: end.outcome,
        ...(end.log ? { log: end.log } : {}),
      };
    });
  const frozen = attempts.filter((a) => a.froze);
  return {
    freezes: frozen.length,
    frozenMsTotal: frozen.reduce((sum, a) => sum + (a.frozenMs ?? 0), 0),
    attempts,
  };
}
