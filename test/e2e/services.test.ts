import { execa, type ResultPromise } from 'execa';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MigrationResult } from '../../src/domain/types.js';
import type { DevState } from '../../src/dev/dev-layout.js';
import type { EvacuationResult } from '../../src/workflows/evacuate-host.js';
import {
  CONFIG_FILE,
  E2E,
  ROOT,
  ferry,
  hostsRunning,
  runtimeOn,
  sleep,
  spawnStateful,
  stateContinues,
} from './env.js';

// Other services start migrations without the CLI: through the typed client from their own
// process, and through `ferry serve`'s HTTP API. Each worker's Prometheus endpoint then shows
// ferry's metrics for them, and its log lines are JSON.

const PORT = 34080; // unique to this environment's tests
const BASE = `http://127.0.0.1:${PORT}`;
const TOKEN = 'e2e-services-token-4f1c2a9b7d';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const WORKLOADS = [
  ['node-a', 'process', 'svc-client'],
  ['node-a', 'runc', 'svc-http'],
  ['node-a', 'process', 'svc-bad'],
  ['node-d', 'process', 'svc-evac'],
] as const;

let serve: ResultPromise | undefined;

async function waitForServe(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${BASE}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(200);
  }
  throw new Error('ferry serve did not answer /healthz in 20 s');
}

const post = (url: string, body: unknown, headers: Record<string, string> = auth) =>
  fetch(`${BASE}${url}`, { method: 'POST', headers, body: JSON.stringify(body) });
const get = (url: string) => fetch(`${BASE}${url}`, { headers: auth });

beforeAll(async () => {
  serve = execa(
    path.join(ROOT, 'bin', 'ferry'),
    ['serve', '--listen', `127.0.0.1:${PORT}`, '--config', CONFIG_FILE],
    {
      env: { FERRY_API_TOKEN: TOKEN },
      stdin: 'ignore',
      reject: false,
    },
  );
  await waitForServe();
});

afterAll(async () => {
  serve?.kill('SIGTERM');
  const ended = await serve;
  expect(ended?.exitCode).toBe(0); // a clean shutdown on SIGTERM
  // An evacuated host stays cordoned; the other tests expect node-d open again.
  expect((await ferry(['uncordon', 'node-d'])).exitCode).toBe(0);
  for (const [, runtime, name] of WORKLOADS)
    for (const host of E2E.hosts) {
      await runtimeOn(host, runtime).stop(name, { anyOwner: true });
      await runtimeOn(host, runtime).removeFiles(name);
    }
});

describe('services', () => {
  it('a separate process migrates a workload through the typed client', async () => {
    await spawnStateful('node-a', 'process', 'svc-client', { mib: 16 });
    const request = { workload: 'svc-client', runtime: 'process', source: 'node-a', destination: 'node-b' };
    const run = await execa(
      process.execPath,
      [
        path.join(ROOT, 'test', 'e2e', 'client-process.mjs'),
        `127.0.0.1:${E2E.temporalPort}`,
        JSON.stringify(request),
      ],
      { reject: false, timeout: 170_000 },
    );
    if (run.exitCode !== 0) throw new Error(`client process failed:\n${run.stderr}`);
    const out = JSON.parse(run.stdout) as { phases: string[]; result: MigrationResult; finalPhase: string };
    expect(out.result.outcome).toBe('migrated');
    expect(out.result.downtimeMs).toBeGreaterThan(0);
    expect(out.phases).toContain('transfer'); // progress arrived while it ran
    expect(out.finalPhase).toBe('done');
    expect(await hostsRunning('process', 'svc-client')).toEqual(['node-b']);
    expect(await stateContinues('node-b', 'process', 'svc-client')).toBe(true);
  });

  it('the HTTP API refuses a request without a token, with a wrong one, and invalid input', async () => {
    await spawnStateful('node-a', 'process', 'svc-bad', { mib: 4 });
    const good = { workload: 'svc-bad', runtime: 'process', source: 'node-a', destination: 'node-b' };

    const none = await post('/v1/migrations', good, { 'content-type': 'application/json' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');

    const wrong = await post('/v1/migrations', good, {
      ...auth,
      authorization: 'Bearer not-the-token-at-all',
    });
    expect(wrong.status).toBe(403);

    const bad = await post('/v1/migrations', { ...good, workload: 'Svc/Bad', verifyWindowMs: -1 });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as {
      error: { code: string; problems: { field: string; message: string }[] };
    };
    expect(body.error.code).toBe('invalid-input');
    expect(body.error.problems.map((p) => p.field).sort()).toEqual(['verifyWindowMs', 'workload']);
    expect(body.error.problems.find((p) => p.field === 'workload')?.message).toMatch(
      /names may not be paths/,
    );

    const unknownHost = await post('/v1/migrations', { ...good, destination: 'node-z' });
    expect(unknownHost.status).toBe(400);
    expect(((await unknownHost.json()) as { error: { message: string } }).error.message).toMatch(
      /unknown destination host "node-z"/,
    );

    const notJson = await fetch(`${BASE}/v1/migrations`, { method: 'POST', headers: auth, body: '{oops' });
    expect(notJson.status).toBe(400);
    expect((await get('/v1/migrations/migrate-process-node-a-nothing')).status).toBe(404);
    expect((await get('/v1/evacuations/migrate-process-node-a-svc-bad')).status).toBe(404);
    expect((await post('/v1/evacuations', { host: 'node-a', concurrency: 99 })).status).toBe(400);

    // Nothing was started: the workload still runs where it was, untouched.
    expect(await hostsRunning('process', 'svc-bad')).toEqual(['node-a']);
    expect(await stateContinues('node-a', 'process', 'svc-bad')).toBe(true);

    const doc = (await (await fetch(`${BASE}/openapi.json`)).json()) as { openapi: string; paths: object };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/v1/migrations/{id}');
  });

  it('the HTTP API starts a runc migration, reports its progress and result; a second start is a 409', async () => {
    await spawnStateful('node-a', 'runc', 'svc-http', { mib: 32 });
    const request = { workload: 'svc-http', runtime: 'runc', source: 'node-a', destination: 'node-c' };
    const start = await post('/v1/migrations', request);
    expect(start.status).toBe(202);
    const started = (await start.json()) as { workflowId: string; links: { self: string } };
    expect(started.workflowId).toBe('migrate-runc-node-a-svc-http');
    expect(start.headers.get('location')).toBe(started.links.self);

    const again = await post('/v1/migrations', request);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { workflowId: string } }).error.workflowId).toBe(
      started.workflowId,
    );

    const phases = new Set<string>();
    let state: { status: string; progress?: { phase: string }; result?: MigrationResult } | undefined;
    for (const deadline = Date.now() + 150_000; Date.now() < deadline; await sleep(250)) {
      const r = await get(started.links.self);
      expect(r.status).toBe(200);
      state = (await r.json()) as typeof state;
      if (state!.progress) phases.add(state!.progress.phase);
      if (state!.status !== 'RUNNING') break;
    }
    expect(state?.status).toBe('COMPLETED');
    expect(state?.result?.outcome).toBe('migrated');
    expect(state?.result?.destination).toBe('node-c');
    expect(state?.result?.bytesTransferred).toBeGreaterThan(30 * 1024 * 1024);
    expect(phases.size).toBeGreaterThan(1); // progress was seen in more than one phase
    expect(await hostsRunning('runc', 'svc-http')).toEqual(['node-c']);
    expect(await stateContinues('node-c', 'runc', 'svc-http')).toBe(true);

    const cancelDone = await post(`${started.links.self}/cancel`, {});
    expect(cancelDone.status).toBe(409); // it already completed
  });

  it('the HTTP API starts an evacuation and reports its rows and result', async () => {
    await spawnStateful('node-d', 'process', 'svc-evac', { mib: 4 });
    const start = await post('/v1/evacuations', {
      host: 'node-d',
      candidates: ['node-b'],
      namePattern: 'svc-evac',
    });
    expect(start.status).toBe(202);
    const { workflowId } = (await start.json()) as { workflowId: string };
    expect(workflowId).toBe('evacuate-node-d');
    let state: { status: string; result?: EvacuationResult } | undefined;
    for (const deadline = Date.now() + 150_000; Date.now() < deadline; await sleep(500)) {
      state = (await (await get(`/v1/evacuations/${workflowId}`)).json()) as typeof state;
      if (state!.status !== 'RUNNING') break;
    }
    expect(state?.status).toBe('COMPLETED');
    expect(state?.result).toMatchObject({
      host: 'node-d',
      moved: 1,
      rows: [{ workload: 'svc-evac', runtime: 'process', destination: 'node-b', outcome: 'migrated' }],
    });
    expect(await hostsRunning('process', 'svc-evac')).toEqual(['node-b']);
    expect(await stateContinues('node-b', 'process', 'svc-evac')).toBe(true);
  });

  it("the workers' Prometheus endpoints show ferry's migration metrics and the SDK's", async () => {
    const dev = JSON.parse(await readFile(path.join(E2E.dir, 'dev-env.json'), 'utf8')) as DevState;
    const texts = await Promise.all(
      dev.hosts.map(async (h) => {
        expect(h.metricsAddress).toBeDefined();
        const r = await fetch(`http://${h.metricsAddress}/metrics`);
        expect(r.status).toBe(200);
        return r.text();
      }),
    );
    // A workflow's metrics come from whichever worker ran it: add up every host's.
    const sum = (re: RegExp) =>
      texts
        .flatMap((t) => t.split('\n'))
        .filter((l) => re.test(l))
        .reduce((acc, l) => acc + Number(l.split(' ').at(-1)), 0);
    const mine = (metric: string, extra = '') =>
      new RegExp(`^${metric}\\{(?=.*source="node-a")(?=.*workflowType="migrate")${extra}`);
    expect(
      sum(mine('ferry_migrations_total', '(?=.*outcome="migrated")(?=.*runtime="runc")')),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sum(mine('ferry_migrations_total', '(?=.*outcome="migrated")(?=.*runtime="process")')),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sum(mine('ferry_migration_downtime_ms_count', '(?=.*destination="node-c")')),
    ).toBeGreaterThanOrEqual(1);
    expect(sum(mine('ferry_migration_downtime_ms_sum', '(?=.*destination="node-c")'))).toBeGreaterThan(0);
    expect(
      sum(mine('ferry_migration_bytes_transferred_total', '(?=.*destination="node-c")')),
    ).toBeGreaterThan(30 * 1024 * 1024);
    expect(texts.every((t) => /^temporal_num_pollers\{/m.test(t))).toBe(true);
  });

  it('worker logs are JSON lines, with workflow and activity context', async () => {
    const lines = (
      await Promise.all(E2E.hosts.map((h) => readFile(path.join(E2E.dir, 'logs', `worker-${h}.log`), 'utf8')))
    )
      .join('\n')
      .split('\n')
      .filter(Boolean);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const e of entries) {
      expect(typeof e.ts).toBe('string');
      expect(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).toContain(e.level);
      expect(typeof e.msg).toBe('string');
      expect(E2E.hosts).toContain(e.host);
    }
    expect(entries.some((e) => e.workflowId === 'migrate-runc-node-a-svc-http' && e.activityType)).toBe(true);
  });
});
