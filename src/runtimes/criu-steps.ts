import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorType } from '../domain/errors.js';
import type { CriuDumpStats, CriuRestoreStats } from '../domain/types.js';
import { ferryFailure } from '../domain/failures.js';
import { explainCriuFailure } from '../criu/criu.js';
import { parseDumpStats, parseRestoreStats } from '../criu/stats.js';
import type { CheckpointOutcome } from './runtime.js';

/**
 * Runs a runtime's dump command (CRIU logs to WORK/dump.log) and returns CRIU's statistics;
 * a failure becomes CheckpointFailed quoting the root cause from the log.
 */
export async function runDump(
  label: string,
  work: string,
  dump: (logPath: string) => Promise<unknown>,
): Promise<CheckpointOutcome> {
  const logPath = path.join(work, 'dump.log');
  try {
    await dump(logPath);
  } catch (err) {
    throw ferryFailure(
      ErrorType.CheckpointFailed,
      `${label} failed: ${await explainCriuFailure(err, logPath)}`,
    );
  }
  return { stats: await readDumpStats(work), logPath };
}

export async function readDumpStats(work: string): Promise<CriuDumpStats> {
  return parseDumpStats(await readFile(path.join(work, 'stats-dump')).catch(() => new Uint8Array()));
}

export async function readRestoreStats(work: string): Promise<CriuRestoreStats> {
  return parseRestoreStats(await readFile(path.join(work, 'stats-restore')).catch(() => new Uint8Array()));
}

/**
 * How long a restore may take before it counts as hung: a damaged image can make CRIU spin
 * forever. Generous: a minute plus a second per 20 MiB of images.
 */
export function restoreTimeoutMs(imageBytes: number): number {
  return 60_000 + Math.ceil(imageBytes / (20 * 1024 * 1024)) * 1_000;
}
