// The steps whose CRIU command freezes the workload (final dump, pre-dump round, lazy dump) run
// through here: each attempt is recorded in the source's freeze record before CRIU starts and
// settled after; a failure keeps CRIU's log under STATE/logs/<id>/ and is classified, so that
// what no retry can change fails at once, typed and with its fix (docs/failure-handling.md).
import { ApplicationFailure } from '@temporalio/common';
import { readFile, rm, stat } from 'node:fs/promises';
import type { RuntimeCapabilities } from '../domain/capabilities.js';
import { ErrorType } from '../domain/errors.js';
import { ferryFailure } from '../domain/failures.js';
import type { FreezeAttempt, FreezeStep, MigrationHostRecord } from '../domain/types.js';
import { classifyCriuFailure, fixFor } from '../criu/classify.js';
import { criuLogExcerpt, criuLogPathsIn, frozenSpanMs } from '../criu/log.js';
import { FreezeLedger, summariseFreezes } from '../host/freeze-ledger.js';
import { applyLogRetention, keepLog, keptLogs, nextLogName } from '../host/kept-logs.js';
import { commandsMentioning } from '../host/stale-commands.js';
import type { HostContext } from './host-context.js';

export interface FreezingStep {
  migrationId: string;
  step: FreezeStep;
  /** "process/web", for messages. */
  what: string;
  /** The CRIU log this step's command writes (runtimes that name another one in their error are followed). */
  log: string;
  /** A path in the command line of its CRIU: an attempt whose CRIU still runs is not settled. */
  marker: string;
  caps: RuntimeCapabilities;
}

export interface FrozenFigure {
  frozenMs?: number;
  measuredBy: NonNullable<FreezeAttempt['measuredBy']>;
}

const STEP_LABEL: Record<FreezeStep, string> = {
  checkpoint: 'the final dump',
  'pre-dump': 'a pre-copy round',
  'lazy-dump': 'the lazy dump',
};

/**
 * Runs one freezing CRIU command as a recorded attempt. `frozen` turns its result into how long
 * the workload was frozen (CRIU's stats when it wrote them, else the step's duration).
 */
export async function runFreezingStep<T>(
  ctx: HostContext,
  s: FreezingStep,
  run: () => Promise<T>,
  frozen: (result: T, stepMs: number) => FrozenFigure,
): Promise<T> {
  const ledger = new FreezeLedger(ctx.paths, s.migrationId);
  await settleOpenAttempts(ctx, s.migrationId);
  // The log an earlier attempt left (now kept if it failed) must not pass for this one's.
  await rm(s.log, { force: true });
  const attempt = await ledger.start(s.step, s.log, s.marker);
  const started = Date.now();
  let result: T;
  try {
    result = await run();
  } catch (err) {
    const kept = await keepFailedLog(ctx, s.migrationId, `${attempt}.log`, err, s.log);
    const span = frozenSpanMs(kept.text);
    await ledger.end({
      attempt,
      froze: span !== undefined,
      ...(span !== undefined ? { frozenMs: span, measuredBy: 'criu-log' as const } : {}),
      outcome: 'failed',
      ...(kept.path ? { log: kept.path } : {}),
    });
    throw classified(ctx, s, err, kept, span);
  }
  await ledger.end({ attempt, froze: true, outcome: 'dumped', ...frozen(result, Date.now() - started) });
  return result;
}

/** From a dump's stats: CRIU's own frozen time, else the step's duration (an upper bound). */
export function frozenFromStats(stats: { frozenTimeUs?: number }, stepMs: number): FrozenFigure {
  return stats.frozenTimeUs !== undefined && stats.frozenTimeUs > 0
    ? { frozenMs: Math.round(stats.frozenTimeUs / 1000), measuredBy: 'criu-stats' }
    : { frozenMs: stepMs, measuredBy: 'step-duration' };
}

/**
 * Attempts whose worker died mid-command: once their CRIU is gone, their log says whether and
 * how long it froze the workload. Called before every new attempt and by the final read.
 */
export async function settleOpenAttempts(ctx: HostContext, migrationId: string): Promise<void> {
  const ledger = new FreezeLedger(ctx.paths, migrationId);
  // Once the migration's folder is gone, a missing log proves nothing: such an attempt stays
  // open and counts as a freeze of unknown length.
  const folderThere = await stat(ctx.paths.migrationDir(migrationId)).then(
    () => true,
    () => false,
  );
  for (const open of await ledger.open()) {
    if ((await commandsMentioning(open.marker)).length > 0) continue;
    const text = await readFile(open.log, 'utf8').catch(() => undefined);
    if (text === undefined && !folderThere) continue;
    if (text === undefined) {
      await ledger.end({
        attempt: open.attempt,
        froze: false,
        outcome: 'failed',
        note: 'its worker died before CRIU wrote a log',
      });
      continue;
    }
    const dumped = /Dumping finished successfully|Lazy pages transfer finished/.test(text);
    const log = dumped ? undefined : await keepLog(ctx.paths, migrationId, `${open.attempt}.log`, open.log);
    const span = frozenSpanMs(text);
    await ledger.end({
      attempt: open.attempt,
      froze: span !== undefined,
      ...(span !== undefined ? { frozenMs: span, measuredBy: 'criu-log' as const } : {}),
      outcome: dumped ? 'dumped' : 'failed',
      ...(log ? { log } : {}),
      note: 'settled from its CRIU log after its worker died',
    });
  }
}

interface KeptLog {
  /** The kept copy, when there was a log. */
  path?: string;
  /** The path the failure named (replaced by the copy in messages). */
  named?: string;
  text: string;
}

/**
 * Keeps the CRIU log a failed step names (or `fallback`) under STATE/logs/<id>/name, before
 * the migration's folder is removed.
 */
async function keepFailedLog(
  ctx: HostContext,
  migrationId: string,
  name: string,
  err: unknown,
  fallback?: string,
): Promise<KeptLog> {
  const message = err instanceof Error ? err.message : String(err);
  const candidates = [...criuLogPathsIn(message), ...(fallback ? [fallback] : [])];
  for (const named of candidates) {
    const kept = await keepLog(ctx.paths, migrationId, name, named);
    if (kept) return { path: kept, named, text: await readFile(kept, 'utf8').catch(() => '') };
  }
  return { text: '' };
}

/** The failure with its log path pointing at the kept copy (on this host). */
function withKeptPath(message: string, kept: KeptLog, host: string): string {
  if (!kept.path) return message;
  if (kept.named && message.includes(kept.named))
    return message.split(kept.named).join(`${kept.path} on ${host}`);
  return `${message} (CRIU log: ${kept.path} on ${host})`;
}

/**
 * What the step throws. A failure CRIU explains as a property of the workload or host becomes
 * its non-retryable type with the fix; a transient or unknown one stays retryable.
 */
function classified(
  ctx: HostContext,
  s: FreezingStep,
  err: unknown,
  kept: KeptLog,
  frozenMs: number | undefined,
): Error {
  const host = ctx.host.name;
  const base = err instanceof Error ? err.message : String(err);
  const type = err instanceof ApplicationFailure ? err.type : undefined;
  // Typed refusals that never reached CRIU (not running, bad option) pass unchanged.
  if (type && type !== ErrorType.CheckpointFailed && type !== ErrorType.CommandFailed) return err as Error;
  const output = err instanceof Error && 'stderr' in err ? String((err as { stderr: unknown }).stderr) : base;
  const verdict = classifyCriuFailure(kept.text, output);
  const logRef = kept.path ? ` (CRIU log: ${kept.path} on ${host})` : '';
  const resumed =
    frozenMs !== undefined
      ? ` CRIU froze it for ${frozenMs} ms and resumed it.`
      : ' CRIU failed before freezing it.';
  const details = [
    {
      rule: verdict?.rule,
      criuSaid: verdict?.said,
      fix: verdict ? fixFor(verdict, s.caps) : undefined,
      criuLog: kept.path,
      host,
      frozenMs,
    },
  ];
  if (!verdict || verdict.retryable)
    return ferryFailure(ErrorType.CheckpointFailed, withKeptPath(base, kept, host), { details });
  const fix = fixFor(verdict, s.caps);
  const head =
    verdict.type === ErrorType.NotCheckpointable
      ? `${s.what} cannot be checkpointed on ${host}: ${verdict.problem}.`
      : `${STEP_LABEL[s.step]} of ${s.what} on ${host} failed: ${verdict.problem}.`;
  return ferryFailure(
    verdict.type,
    `${head} Fix: ${fix}. CRIU said: "${verdict.said}"${logRef}.${resumed} Not retried: another attempt would freeze it again and fail the same way.`,
    { details },
  );
}

/**
 * A failed restore keeps its CRIU log too (the destination's migration folder goes with the
 * rollback): the failure is returned naming the kept copy.
 */
export async function keepRestoreLog(ctx: HostContext, migrationId: string, err: unknown): Promise<unknown> {
  if (!(err instanceof ApplicationFailure)) return err;
  const kept = await keepFailedLog(
    ctx,
    migrationId,
    await nextLogName(ctx.paths, migrationId, 'restore'),
    err,
  );
  if (!kept.path) return err;
  return ApplicationFailure.create({
    type: err.type ?? undefined,
    message: withKeptPath(err.message, kept, ctx.host.name),
    nonRetryable: err.nonRetryable ?? undefined,
    details: [{ criuLog: kept.path, host: ctx.host.name }],
  });
}

/**
 * What this host recorded about a migration: its freezes (open attempts settled first) and the
 * CRIU logs it kept, each with its telling lines. Applies the log retention rule afterwards:
 * every migration ends with this read on its source.
 */
export async function migrationHostRecord(
  ctx: HostContext,
  migrationId: string,
): Promise<MigrationHostRecord> {
  await settleOpenAttempts(ctx, migrationId);
  const summary = summariseFreezes(await new FreezeLedger(ctx.paths, migrationId).entries());
  const logs = await Promise.all(
    (await keptLogs(ctx.paths, migrationId)).map(async (path) => ({
      host: ctx.host.name,
      path,
      excerpt: criuLogExcerpt(await readFile(path, 'utf8').catch(() => ''), { max: 20 }),
    })),
  );
  await applyLogRetention(ctx.paths).catch(() => undefined);
  return { host: ctx.host.name, ...summary, logs };
}

export function freezeRecordActivities(ctx: HostContext) {
  return {
    /** Read by the migrate workflow when it ends (source; destination after a failed restore). */
    migrationRecord: (input: { migrationId: string }) => migrationHostRecord(ctx, input.migrationId),
  };
}
