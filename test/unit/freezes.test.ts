import { ApplicationFailure } from '@temporalio/common';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  frozenFromStats,
  migrationHostRecord,
  runFreezingStep,
  type FreezingStep,
} from '../../src/activities/freezes.js';
import type { HostContext } from '../../src/activities/host-context.js';
import { ErrorType } from '../../src/domain/errors.js';
import { ferryFailure } from '../../src/domain/failures.js';
import { FreezeLedger, parseLedger, summariseFreezes } from '../../src/host/freeze-ledger.js';
import { HostPaths } from '../../src/host/host-paths.js';
import { applyLogRetention, keepLog, LOG_RETENTION, retentionVictims } from '../../src/host/kept-logs.js';
import { PROCESS_CAPABILITIES } from '../../src/runtimes/process-capabilities.js';
import { DOCKER_CAPABILITIES } from '../../src/runtimes/docker-capabilities.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'criu-messages');

let dir: string;
let paths: HostPaths;
let ctx: HostContext;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-freezes-'));
  paths = new HostPaths(dir);
  ctx = { paths, host: { name: 'node-a' } } as unknown as HostContext;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const ID = 'migrate-process-node-a-web-1234abcd';
const work = () => paths.workDir(ID);
const step = (over: Partial<FreezingStep> = {}): FreezingStep => ({
  migrationId: ID,
  step: 'checkpoint',
  what: 'process/web',
  log: path.join(work(), 'dump.log'),
  marker: paths.imagesDir(ID),
  caps: PROCESS_CAPABILITIES,
  ...over,
});

/** What runDump throws when CRIU fails: the root cause and the log in the migration folder. */
async function criuFails(fixture: string): Promise<never> {
  await mkdir(work(), { recursive: true });
  const log = path.join(work(), 'dump.log');
  await copyFile(path.join(fixtures, fixture), log);
  throw ferryFailure(ErrorType.CheckpointFailed, `criu dump of web failed: Error … (CRIU log: ${log})`);
}

describe('a freezing step that CRIU refuses', () => {
  it('fails at once as NotCheckpointable, quoting CRIU, with the fix and a kept log', async () => {
    const err = await runFreezingStep(
      ctx,
      step(),
      () => criuFails('dump-tcp-established.log'),
      () => ({
        measuredBy: 'step-duration',
      }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    const f = err as ApplicationFailure;
    expect(f.type).toBe(ErrorType.NotCheckpointable);
    expect(f.nonRetryable).toBe(true);
    const kept = path.join(paths.logsDir(ID), 'checkpoint-1.log');
    expect(f.message).toContain(
      'process/web cannot be checkpointed on node-a: the workload has a connected TCP socket',
    );
    expect(f.message).toContain('Fix: migrate with --tcp-established');
    expect(f.message).toContain(
      'CRIU said: "Error (criu/sk-inet.c:200): inet: Connected TCP socket, consider using --tcp-established option."',
    );
    expect(f.message).toContain(`(CRIU log: ${kept} on node-a)`);
    expect(f.message).toContain('CRIU froze it for 6 ms and resumed it');
    // The named log outlives the migration folder, private.
    await rm(paths.migrationDir(ID), { recursive: true, force: true });
    expect((await stat(kept)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.logsDir(ID))).mode & 0o777).toBe(0o700);
    const summary = summariseFreezes(await new FreezeLedger(paths, ID).entries());
    expect(summary).toMatchObject({ freezes: 1, frozenMsTotal: 6 });
    expect(summary.attempts).toEqual([
      expect.objectContaining({
        attempt: 'checkpoint-1',
        froze: true,
        frozenMs: 6,
        measuredBy: 'criu-log',
        outcome: 'failed',
        log: kept,
      }),
    ]);
  });

  it('keeps an unknown failure retryable, its message naming the kept log', async () => {
    const err = (await runFreezingStep(
      ctx,
      step(),
      () => criuFails('restore-head-magic.log'),
      () => ({
        measuredBy: 'step-duration',
      }),
    ).catch((e: unknown) => e)) as ApplicationFailure;
    expect(err.type).toBe(ErrorType.CheckpointFailed);
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toContain(
      `(CRIU log: ${path.join(paths.logsDir(ID), 'checkpoint-1.log')} on node-a)`,
    );
  });

  it('out of disk space is InsufficientSpace, not retried', async () => {
    const err = (await runFreezingStep(
      ctx,
      step(),
      () => criuFails('dump-no-space.log'),
      () => ({
        measuredBy: 'step-duration',
      }),
    ).catch((e: unknown) => e)) as ApplicationFailure;
    expect(err.type).toBe(ErrorType.InsufficientSpace);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(
      'the final dump of process/web on node-a failed: the host ran out of disk space',
    );
  });

  it('a refusal that never froze says so and is not counted', async () => {
    const err = (await runFreezingStep(
      ctx,
      step(),
      () => criuFails('dump-traced.log'),
      () => ({
        measuredBy: 'step-duration',
      }),
    ).catch((e: unknown) => e)) as ApplicationFailure;
    expect(err.type).toBe(ErrorType.NotCheckpointable);
    expect(err.message).toContain('CRIU failed before freezing it');
    expect(summariseFreezes(await new FreezeLedger(paths, ID).entries()).freezes).toBe(0);
  });

  it('gives a runtime that cannot pass --tcp-established the fix it can use', async () => {
    const err = (await runFreezingStep(
      ctx,
      step({ caps: DOCKER_CAPABILITIES, what: 'docker/web' }),
      () => criuFails('dump-tcp-established.log'),
      () => ({ measuredBy: 'step-duration' }),
    ).catch((e: unknown) => e)) as ApplicationFailure;
    expect(err.message).toContain('Fix: docker cannot pass --tcp-established to CRIU');
  });

  it('passes typed refusals that never reached CRIU unchanged', async () => {
    const refusal = ferryFailure(
      ErrorType.WorkloadNotRunning,
      'process workload web is not running on node-a',
    );
    const err = await runFreezingStep(
      ctx,
      step(),
      () => Promise.reject(refusal),
      () => ({
        measuredBy: 'step-duration',
      }),
    ).catch((e: unknown) => e);
    expect(err).toBe(refusal);
  });
});

describe('counting freezes across attempts', () => {
  it('counts every attempt: a retried failure and the dump that worked', async () => {
    const fail = () =>
      runFreezingStep(
        ctx,
        step(),
        () => criuFails('dump-tcp-established.log'),
        () => ({
          measuredBy: 'step-duration',
        }),
      ).catch(() => undefined);
    await fail();
    await fail();
    await runFreezingStep(
      ctx,
      step(),
      async () => ({ stats: { frozenTimeUs: 92_821 } }),
      (o, ms) => frozenFromStats(o.stats, ms),
    );
    const record = await migrationHostRecord(ctx, ID);
    expect(record).toMatchObject({ host: 'node-a', freezes: 3, frozenMsTotal: 6 + 6 + 93 });
    expect(record.attempts.map((a) => [a.attempt, a.outcome, a.measuredBy])).toEqual([
      ['checkpoint-1', 'failed', 'criu-log'],
      ['checkpoint-2', 'failed', 'criu-log'],
      ['checkpoint-3', 'dumped', 'criu-stats'],
    ]);
    // Each failed attempt kept its own log, with the lines that explain it.
    expect(record.logs.map((l) => path.basename(l.path))).toEqual(['checkpoint-1.log', 'checkpoint-2.log']);
    expect(record.logs[0]!.excerpt.join('\n')).toContain('Connected TCP socket');
  });

  it('settles an attempt whose worker died from the log its CRIU left', async () => {
    // The worker wrote its start line, CRIU ran and failed, then the worker was killed.
    const ledger = new FreezeLedger(paths, ID);
    const log = path.join(work(), 'dump.log');
    await ledger.start('checkpoint', log, paths.imagesDir(ID));
    await mkdir(work(), { recursive: true });
    await copyFile(path.join(fixtures, 'dump-tcp-established.log'), log);
    // The retry (here: the final read) counts it.
    const record = await migrationHostRecord(ctx, ID);
    expect(record.freezes).toBe(1);
    expect(record.attempts[0]).toMatchObject({ froze: true, frozenMs: 6, outcome: 'failed' });
    expect(record.logs.map((l) => path.basename(l.path))).toEqual(['checkpoint-1.log']);
    expect(
      (await readFile(path.join(paths.logsDir(ID), 'freezes.jsonl'), 'utf8')).split('\n'),
    ).toContainEqual(expect.stringContaining('settled from its CRIU log after its worker died'));
  });

  it('counts an attempt that died after the migration folder went as a freeze of unknown length', async () => {
    const ledger = new FreezeLedger(paths, ID);
    await ledger.start('checkpoint', path.join(work(), 'dump.log'), paths.imagesDir(ID));
    const record = await migrationHostRecord(ctx, ID);
    expect(record.freezes).toBe(1);
    expect(record.attempts[0]).toMatchObject({ froze: true, outcome: 'unknown' });
    expect(record.attempts[0]!.frozenMs).toBeUndefined();
  });

  it('an attempt that died before CRIU wrote a log froze nothing', async () => {
    await mkdir(work(), { recursive: true });
    await new FreezeLedger(paths, ID).start('checkpoint', path.join(work(), 'dump.log'), paths.imagesDir(ID));
    expect((await migrationHostRecord(ctx, ID)).freezes).toBe(0);
  });

  it('skips a torn last line of the record', () => {
    const text =
      '{"event":"start","attempt":"checkpoint-1","step":"checkpoint","atMs":1,"log":"/x","marker":"/y"}\n{"event":"en';
    expect(parseLedger(text)).toHaveLength(1);
  });
});

describe('kept CRIU logs and their retention', () => {
  const day = 24 * 3600_000;
  const now = Date.UTC(2026, 11, 1);

  it('removes folders older than 7 days and beyond the newest 50, never an active one', () => {
    const folders = Array.from({ length: 55 }, (_, i) => ({
      migrationId: `m${i}`,
      mtimeMs: now - i * 60_000, // m0 newest
      active: i === 54,
    }));
    folders.push({ migrationId: 'old', mtimeMs: now - 8 * day, active: false });
    folders.push({ migrationId: 'old-but-running', mtimeMs: now - 30 * day, active: true });
    expect(LOG_RETENTION).toEqual({ maxAgeMs: 7 * day, keepLast: 50 });
    expect(retentionVictims(folders, LOG_RETENTION, now).sort()).toEqual(
      ['m50', 'm51', 'm52', 'm53', 'old'].sort(),
    );
  });

  it('applies the rule to STATE/logs by the newest file of each folder', async () => {
    const src = path.join(dir, 'dump.log');
    await writeFile(src, 'x');
    for (const id of ['fresh', 'stale', 'running']) await keepLog(paths, id, 'checkpoint-1.log', src);
    await mkdir(paths.migrationDir('running'), { recursive: true });
    const old = new Date(now - 10 * day);
    for (const id of ['stale', 'running']) {
      await utimes(path.join(paths.logsDir(id), 'checkpoint-1.log'), old, old);
      await utimes(paths.logsDir(id), old, old);
    }
    const fresh = new Date(now - day);
    await utimes(path.join(paths.logsDir('fresh'), 'checkpoint-1.log'), fresh, fresh);
    expect(await applyLogRetention(paths, LOG_RETENTION, now)).toEqual(['stale']);
    await expect(stat(paths.logsDir('stale'))).rejects.toThrow();
    expect((await stat(paths.logsDir('fresh'))).isDirectory()).toBe(true);
    expect((await stat(paths.logsDir('running'))).isDirectory()).toBe(true);
  });

  it('keeps nothing when there is no log to keep', async () => {
    expect(await keepLog(paths, ID, 'checkpoint-1.log', path.join(dir, 'missing.log'))).toBeUndefined();
  });
});
