// FerryClient over a fake Temporal client: what it checks before starting, what it starts (ids,
// queue, conflict policy, summaries), how it reports conflicts and failed runs. No server.
import {
  ActivityFailure,
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FerryClient, MigrationRequestError } from '../../src/client/ferry-client.js';

interface Started {
  type: string;
  opts: Record<string, unknown>;
}

/** A Temporal client that records what it is asked; `runs` are the workflows it knows. */
function fakeTemporal(runs: Record<string, { status: string; result: () => Promise<unknown> }>) {
  const started: Started[] = [];
  const schedules: Record<string, unknown>[] = [];
  const polled = new Set(['ferry-host-node-a', 'ferry-host-node-b', 'ferry-host-node-c']);
  // Hosts whose worker answers the probe (a killed one still has its poller listed for minutes).
  const answering = new Set(['node-a', 'node-b', 'node-c']);
  const probes: string[][] = [];
  const temporal = {
    options: { namespace: 'ns 1' },
    workflowService: {
      describeTaskQueue: async (r: { taskQueue: { name: string } }) => ({
        pollers: polled.has(r.taskQueue.name)
          ? [{ identity: 'w', lastAccessTime: { seconds: Math.floor(Date.now() / 1000) - 30, nanos: 0 } }]
          : [],
      }),
    },
    workflow: {
      start: async (type: string, opts: Record<string, unknown>) => {
        if (type === 'hostProbe') {
          const hosts = (opts.args as [{ hosts: string[] }])[0].hosts;
          probes.push(hosts);
          return {
            workflowId: opts.workflowId,
            terminate: async () => undefined,
            result: async () =>
              hosts.map((host) =>
                answering.has(host)
                  ? { host, info: { host, ferryVersion: '0.1.0', runtimes: ['runc'], freeBytes: 1 } }
                  : { host, down: 'it did not pick up a probe within 4 s (stopped or hung)' },
              ),
          };
        }
        const id = opts.workflowId as string;
        if (runs[id]?.status === 'RUNNING')
          throw new WorkflowExecutionAlreadyStartedError('started', id, type);
        started.push({ type, opts });
        return { workflowId: id, firstExecutionRunId: 'run-1' };
      },
      getHandle: (id: string) => ({
        workflowId: id,
        describe: async () => ({
          runId: 'run-1',
          status: { name: runs[id]!.status },
          startTime: new Date('2026-01-01T00:00:00Z'),
          closeTime: runs[id]!.status === 'RUNNING' ? undefined : new Date('2026-01-01T00:01:00Z'),
        }),
        query: async () => ({ phase: 'transfer' }),
        result: () => runs[id]!.result(),
      }),
    },
    schedule: { create: async (s: Record<string, unknown>) => void schedules.push(s) },
  };
  return { temporal: temporal as unknown as Client, started, schedules, polled, answering, probes };
}

/** FerryClient.connect dials Temporal; the constructor it calls takes the client directly. */
function clientOver(temporal: Client): FerryClient {
  const Ctor = FerryClient as unknown as new (t: Client, c: unknown, o: unknown) => FerryClient;
  return new Ctor(temporal, { close: async () => undefined }, { address: 'x', knownHosts: HOSTS });
}

const HOSTS = ['node-a', 'node-b', 'node-c'];
const req = { workload: 'web', runtime: 'runc', source: 'node-a', destination: 'node-b' } as const;
const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MigrationRequestError);
  const e = err as MigrationRequestError;
  return { problem: e.problem, message: e.message, workflowId: e.workflowId };
};

describe('FerryClient', () => {
  it('starts a migration on the workflow queue, one per workload at a time', async () => {
    const fake = fakeTemporal({});
    const client = clientOver(fake.temporal);
    const handle = await client.startMigration(req);
    expect(handle.workflowId).toBe('migrate-runc-node-a-web');
    const { type, opts } = fake.started[0]!;
    expect(type).toBe('migrate');
    expect({ ...opts, typedSearchAttributes: undefined }).toEqual({
      taskQueue: 'ferry',
      workflowId: 'migrate-runc-node-a-web',
      args: [req],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      staticSummary: 'migrate runc/web: node-a → node-b',
      staticDetails:
        'Live migration of **runc/web** from **node-a** to **node-b** with CRIU.\n\nVerify window 2000 ms · keep images no · fresh start as last resort no.',
      typedSearchAttributes: undefined,
    });
    expect((opts.typedSearchAttributes as { value: string }[]).map((a) => a.value)).toEqual([
      'web',
      'runc',
      'node-a',
      'node-b',
      'validating',
    ]);

    const busy = clientOver(
      fakeTemporal({ 'migrate-runc-node-a-web': { status: 'RUNNING', result: async () => ({}) } }).temporal,
    );
    expect(await refusal(busy.startMigration(req))).toEqual({
      problem: 'conflict',
      message:
        'a migration of runc/web from node-a is already running (workflow migrate-runc-node-a-web); wait for it or cancel it',
      workflowId: 'migrate-runc-node-a-web',
    });
  });

  it('refuses bad requests, unknown hosts and hosts without a worker before starting', async () => {
    const fake = fakeTemporal({});
    const client = clientOver(fake.temporal);
    expect((await refusal(client.startMigration({ ...req, workload: '../x' }))).problem).toBe('invalid');
    expect(await refusal(client.startMigration({ ...req, destination: 'node-z' }))).toEqual({
      problem: 'invalid',
      message: 'unknown destination host "node-z": the configuration has node-a, node-b, node-c',
      workflowId: undefined,
    });
    fake.polled.delete('ferry-host-node-b');
    const noWorker = await refusal(client.startMigration(req));
    expect(noWorker.problem).toBe('no-worker');
    expect(noWorker.message).toBe(
      'destination host node-b has no running ferry worker: nothing polls its task queue ferry-host-node-b. Start it on node-b with: ferry worker --host node-b --config FILE',
    );
    // Polling still listed, but the worker does not answer (killed a moment ago): refused too.
    fake.polled.add('ferry-host-node-b');
    fake.answering.delete('node-a');
    const killed = await refusal(client.startMigration(req));
    expect(killed.message).toBe(
      'source host node-a has no running ferry worker: it did not pick up a probe within 4 s (stopped or hung). Start it on node-a with: ferry worker --host node-a --config FILE',
    );
    expect(fake.probes.at(-1)).toEqual(['node-a', 'node-b']);
    expect(fake.started).toEqual([]);
  });

  it('evacuates to every other configured host unless told where', async () => {
    const fake = fakeTemporal({});
    const client = clientOver(fake.temporal);
    await client.startEvacuation({ host: 'node-a', concurrency: 3 });
    await client.startEvacuation({ host: 'node-b', candidates: ['node-c'] });
    expect(fake.started.map((s) => [s.type, s.opts.workflowId, s.opts.args, s.opts.staticSummary])).toEqual([
      [
        'evacuateHost',
        'evacuate-node-a',
        [{ host: 'node-a', concurrency: 3, candidates: ['node-b', 'node-c'] }],
        'evacuate node-a → node-b, node-c',
      ],
      [
        'evacuateHost',
        'evacuate-node-b',
        [{ host: 'node-b', candidates: ['node-c'] }],
        'evacuate node-b → node-c',
      ],
    ]);
    expect(fake.started[0]!.opts.workflowIdConflictPolicy).toBe('FAIL');
    expect(fake.started[0]!.opts.memo).toBeUndefined();
    fake.polled.delete('ferry-host-node-c');
    expect((await refusal(client.startEvacuation({ host: 'node-c' }))).problem).toBe('no-worker');
  });

  it('records the API token that started a workflow in its memo (ferryApiToken)', async () => {
    const fake = fakeTemporal({});
    const client = clientOver(fake.temporal);
    await client.startMigration(req, { startedBy: 'ci' });
    await client.startEvacuation({ host: 'node-a' }, { startedBy: 'ops' });
    expect(fake.started.map((s) => s.opts.memo)).toEqual([{ ferryApiToken: 'ci' }, { ferryApiToken: 'ops' }]);
    expect((await refusal(client.startEvacuation({ host: 'node-z' }))).message).toBe(
      'unknown host "node-z": the configuration has node-a, node-b, node-c',
    );
    // One probe for the source and its candidates; refused when the source's worker is down, or
    // every candidate's.
    expect(fake.probes.at(-1)).toEqual(['node-a', 'node-b', 'node-c']);
    fake.answering.delete('node-c');
    expect((await refusal(client.startEvacuation({ host: 'node-b', candidates: ['node-c'] }))).message).toBe(
      'destination host node-c has no running ferry worker: it did not pick up a probe within 4 s (stopped or hung). Start it on node-c with: ferry worker --host node-c --config FILE',
    );
    expect((await refusal(client.startEvacuation({ host: 'node-c' }))).message).toMatch(
      /^source host node-c has no running ferry worker/,
    );
    expect(fake.started).toHaveLength(2);
    const busy = clientOver(
      fakeTemporal({ 'evacuate-node-a': { status: 'RUNNING', result: async () => ({}) } }).temporal,
    );
    expect(await refusal(busy.startEvacuation({ host: 'node-a' }))).toEqual({
      problem: 'conflict',
      message: 'host node-a is already being evacuated (workflow evacuate-node-a); wait for it or cancel it',
      workflowId: 'evacuate-node-a',
    });
  });

  it('schedules an evacuation once or by cron, never both', async () => {
    const fake = fakeTemporal({});
    const client = clientOver(fake.temporal);
    const at = new Date('2026-12-01T02:00:00Z');
    expect(await client.scheduleEvacuation({ host: 'node-a', at, note: 'kernel' })).toBe(
      'evacuate-node-a-2026-12-01T02-00-00-000Z',
    );
    expect(fake.schedules[0]).toMatchObject({
      spec: { calendars: [{ year: 2026, month: 'DECEMBER', dayOfMonth: 1, hour: 2, minute: 0, second: 0 }] },
      action: { workflowType: 'evacuateHost', workflowId: 'evacuate-node-a', taskQueue: 'ferry' },
      policies: { overlap: 'SKIP', catchupWindow: '5m' },
      state: { note: 'kernel', remainingActions: 1 },
    });
    expect(await client.scheduleEvacuation({ host: 'node-b', cron: '0 2 * * SUN' })).toBe(
      'evacuate-node-b-cron',
    );
    expect(
      (await refusal(client.scheduleEvacuation({ host: 'node-a', at, cron: '* * * * *' }))).message,
    ).toBe('give exactly one of --at ISO or --cron EXPR');
  });

  it('reports where a run stands: progress, result, or why the workflow itself failed', async () => {
    const failed = (cause: Error) => async () =>
      Promise.reject(new WorkflowFailedError('Workflow execution failed', cause, 'NON_RETRYABLE_FAILURE'));
    const client = clientOver(
      fakeTemporal({
        'migrate-runc-node-a-run': { status: 'RUNNING', result: async () => ({}) },
        'migrate-runc-node-a-done': { status: 'COMPLETED', result: async () => ({ outcome: 'migrated' }) },
        'migrate-runc-node-a-bad': {
          status: 'FAILED',
          result: failed(ApplicationFailure.nonRetryable('workload name is bad', 'InvalidInput')),
        },
        'migrate-runc-node-a-step': {
          status: 'FAILED',
          result: failed(
            new ActivityFailure(
              'Activity task failed',
              'restore',
              '7',
              'NON_RETRYABLE_FAILURE',
              'worker',
              ApplicationFailure.nonRetryable('criu restore failed', 'RestoreFailed'),
            ),
          ),
        },
        'evacuate-node-c': { status: 'CANCELLED', result: failed(new CancelledFailure('Workflow canceled')) },
        'evacuate-node-d': { status: 'TERMINATED', result: failed(new TerminatedFailure('by an operator')) },
        'evacuate-node-e': {
          status: 'TIMED_OUT',
          result: failed(new TimeoutFailure('Workflow execution timed out', undefined, 'START_TO_CLOSE')),
        },
      }).temporal,
    );
    expect(await client.getMigration('migrate-runc-node-a-run')).toEqual({
      workflowId: 'migrate-runc-node-a-run',
      runId: 'run-1',
      status: 'RUNNING',
      startTime: '2026-01-01T00:00:00.000Z',
      progress: { phase: 'transfer' },
    });
    expect(await client.getMigration('migrate-runc-node-a-done')).toMatchObject({
      status: 'COMPLETED',
      closeTime: '2026-01-01T00:01:00.000Z',
      result: { outcome: 'migrated' },
    });
    expect((await client.getMigration('migrate-runc-node-a-bad')).failure).toEqual({
      type: 'InvalidInput',
      message: 'workload name is bad',
    });
    expect((await client.getMigration('migrate-runc-node-a-step')).failure).toEqual({
      type: 'RestoreFailed',
      message: 'criu restore failed',
    });
    // Ended as a whole: the status says how; there is no application type to report.
    expect((await client.getEvacuation('evacuate-node-c')).failure).toEqual({ message: 'Workflow canceled' });
    expect((await client.getEvacuation('evacuate-node-d')).failure).toEqual({ message: 'by an operator' });
    expect((await client.getEvacuation('evacuate-node-e')).failure).toEqual({
      message: 'Workflow execution timed out',
    });
  });

  it('links to the Temporal UI', () => {
    const client = clientOver(fakeTemporal({}).temporal);
    expect(client.uiUrl('http://ui:8233/', 'migrate-runc-node-a-web', 'r1')).toBe(
      'http://ui:8233/namespaces/ns%201/workflows/migrate-runc-node-a-web/r1',
    );
    expect(client.uiUrl(undefined, 'x')).toBeUndefined();
  });
});
