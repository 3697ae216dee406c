import cliProgress from 'cli-progress';
import type { MigrationProgress, MigrationResult } from '../domain/types.js';
import { mib } from './format.js';

/** Steps of a successful migration, in order: the bar advances one share per step. */
const STEPS = ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'verify', 'cleanup'] as const;

/** What one progress display shows: the figures the issue asks for, computed once. */
export interface ProgressFigures {
  what: string;
  phase: string;
  /** Bytes sent so far: finished copy steps plus the running one. */
  bytes: number;
  /** MiB/s of the running copy step (or of all bytes over the elapsed time when none runs). */
  rateMiBs: number;
  elapsedMs: number;
  /** 0..100 over the whole migration. */
  percent: number;
  rollback?: string;
  waitingForSlot?: string;
}

export function progressFigures(p: MigrationProgress, elapsedMs: number, nowMs: number): ProgressFigures {
  const bytes = p.bytesTransferred + (p.live?.bytes ?? 0);
  const current = p.phases[p.phases.length - 1];
  let rateMiBs = 0;
  if (p.live && current && current.phase === p.live.phase) {
    const runningMs = Math.max(1, nowMs - current.startedAtMs);
    rateMiBs = p.live.bytes / 1024 / 1024 / (runningMs / 1000);
  } else if (elapsedMs > 0) rateMiBs = bytes / 1024 / 1024 / (elapsedMs / 1000);
  const step = STEPS.indexOf(p.phase as (typeof STEPS)[number]);
  const within = p.live && p.live.phase === p.phase ? (p.live.percent ?? 0) / 100 : 0;
  const percent =
    p.phase === 'done' ? 100 : step < 0 ? 0 : Math.min(100, ((step + within) / STEPS.length) * 100);
  return {
    what: `${p.runtime}/${p.workload} ${p.source} → ${p.destination}`,
    phase: p.phase,
    bytes,
    rateMiBs,
    elapsedMs,
    percent,
    rollback: p.rollback,
    waitingForSlot: p.waitingForSlot,
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One plain line (logs, pipes, CI): phase, bytes moved, rate, elapsed. */
export function plainProgressLine(f: ProgressFigures): string {
  return `[${f.what}] ${f.phase}: ${mib(f.bytes)} moved, ${f.rateMiBs.toFixed(1)} MiB/s, ${seconds(f.elapsedMs)} elapsed${
    f.rollback ? ` — rollback: ${f.rollback}` : ''
  }${f.waitingForSlot ? ` — ${f.waitingForSlot}` : ''}`;
}

/** The progress a finished migration ends with: the display's last line. */
export function finalProgress(r: MigrationResult): MigrationProgress {
  return {
    phase: r.outcome === 'migrated' ? 'done' : 'failed',
    workload: r.workload,
    runtime: r.runtime,
    source: r.source,
    destination: r.destination,
    phases: r.phases,
    bytesTransferred: r.bytesTransferred,
    rollback: r.rollback,
  };
}

export interface ProgressDisplay {
  update(p: MigrationProgress): void;
  stop(): void;
}

/**
 * A live bar on a terminal (cli-progress redraws one line in place), plain lines otherwise:
 * one per phase change, and at most one a second while bytes move.
 */
export function progressDisplay(stream: NodeJS.WriteStream, now: () => number = Date.now): ProgressDisplay {
  const started = now();
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: '{what} |{bar}| {phase} · {moved} · {rate} MiB/s · {elapsed}',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let shown = false;
    return {
      update(p) {
        const f = progressFigures(p, now() - started, now());
        const payload = {
          what: f.what,
          phase: f.rollback
            ? `rollback: ${f.rollback.slice(0, 60)}`
            : f.waitingForSlot
              ? `${f.phase}, ${f.waitingForSlot}`
              : f.phase,
          moved: mib(f.bytes),
          rate: f.rateMiBs.toFixed(1),
          elapsed: seconds(f.elapsedMs),
        };
        if (!shown) bar.start(100, Math.round(f.percent), payload);
        else bar.update(Math.round(f.percent), payload);
        shown = true;
      },
      stop() {
        if (shown) bar.stop();
      },
    };
  }
  let lastPhase = '';
  let lastRollback: string | undefined;
  let lastWaiting: string | undefined;
  let lastAt = 0;
  let lastBytes = -1;
  let phasesSeen = 0;
  return {
    update(p) {
      const f = progressFigures(p, now() - started, now());
      // Phases that began and ended between two polls still get their line, for the log.
      const running = p.phases.at(-1)?.phase === p.phase ? 1 : 0;
      for (const missed of p.phases.slice(phasesSeen, p.phases.length - running))
        if (missed.phase !== lastPhase)
          stream.write(`[${f.what}] ${missed.phase}: done in ${seconds(missed.durationMs)}\n`);
      phasesSeen = Math.max(phasesSeen, p.phases.length);
      const changed =
        f.phase !== lastPhase || f.rollback !== lastRollback || f.waitingForSlot !== lastWaiting;
      const moving = f.bytes !== lastBytes && now() - lastAt >= 1_000;
      if (!changed && !moving) return;
      stream.write(`${plainProgressLine(f)}\n`);
      lastPhase = f.phase;
      lastRollback = f.rollback;
      lastWaiting = f.waitingForSlot;
      lastBytes = f.bytes;
      lastAt = now();
    },
    stop() {},
  };
}
