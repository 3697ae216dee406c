// The HTTP API's routes over a fake FerryClient (no Temporal; an ephemeral loopback port, since
// fastify's inject needs require(esm), which jest's ESM mode lacks): status codes, error bodies
// and headers, so that reorganising src/serve cannot change what callers see.
import type { FastifyInstance } from 'fastify';
import { MigrationRequestError, type FerryClient, type StartOptions } from '../../src/client/ferry-client.js';
import { TokenRegistry } from '../../src/serve/token-registry.js';
import { allScopes, sha256 } from '../../src/serve/tokens.js';
import { buildServer } from '../../src/serve/server.js';
import { openApiDocument } from '../../src/serve/openapi.js';

const TOKEN = '0123456789abcdef0123';
const auth = { authorization: `Bearer ${TOKEN}` };
const migration = { workload: 'web', runtime: 'runc', source: 'node-a', destination: 'node-b' };
const SNAP = 'web-20261201t020000z-1a2b';

/** What each fake method does next; tests set the ones they need. */
interface Script {
  systemInfo: () => Promise<unknown>;
  start: (body: unknown) => Promise<{ workflowId: string; firstExecutionRunId: string }>;
  state: (id: string) => Promise<unknown>;
  status: (id: string) => Promise<string>;
  catalog: () => Promise<{ id: string; workload: string }[]>;
  startSnapshot: (
    what: string,
    args: unknown[],
  ) => Promise<{ snapshotId: string; handle: { workflowId: string; firstExecutionRunId: string } }>;
  operation: (id: string) => Promise<unknown>;
  schedule: (req: unknown) => Promise<string>;
}

function fakeClient(script: Script, calls: string[]): FerryClient {
  const fake = {
    temporal: {
      workflowService: { getSystemInfo: () => script.systemInfo() },
      workflow: {
        getHandle: (id: string) => ({
          describe: async () => ({ status: { name: await script.status(id) } }),
        }),
      },
    },
    startMigration: (body: unknown, opts?: StartOptions) => (
      calls.push(`startMigration${opts?.startedBy ? ` by ${opts.startedBy}` : ''}`),
      script.start(body)
    ),
    startEvacuation: (body: unknown) => (calls.push('startEvacuation'), script.start(body)),
    startHibernation: (body: unknown) => (
      calls.push(`startHibernation ${JSON.stringify(body)}`),
      script.start(body)
    ),
    getHibernation: (host: string) => (calls.push(`getHibernation ${host}`), script.state(host)),
    getMigration: (id: string) => (calls.push(`getMigration ${id}`), script.state(id)),
    getEvacuation: (id: string) => (calls.push(`getEvacuation ${id}`), script.state(id)),
    cancel: async (id: string) => void calls.push(`cancel ${id}`),
    listSnapshots: async (filter: unknown) => (
      calls.push(`listSnapshots ${JSON.stringify(filter)}`),
      script.catalog()
    ),
    getSnapshot: async (id: string) => {
      const found = (await script.catalog()).find((s) => s.id === id);
      if (!found)
        throw new MigrationRequestError(`no snapshot ${id} in the catalog: ferry snapshot ls lists them`);
      return found;
    },
    ...Object.fromEntries(
      ['startSnapshotCreate', 'startSnapshotRestore', 'startSnapshotRemove', 'startSnapshotCopy'].map((m) => [
        m,
        (...args: unknown[]) => (calls.push(`${m} ${JSON.stringify(args)}`), script.startSnapshot(m, args)),
      ]),
    ),
    getSnapshotOperation: (id: string) => (calls.push(`getSnapshotOperation ${id}`), script.operation(id)),
    checkSnapshots: async () => (
      calls.push('checkSnapshots'),
      { orphansOnDisk: [], missingOnDisk: [], mismatched: [], unreachable: ['node-c'], consistent: true }
    ),
    describeHosts: async () => (
      calls.push('describeHosts'),
      [
        {
          name: 'node-a',
          up: false,
          startWith: 'ferry worker --host node-a --config FILE',
          runcRoot: '/run/runc',
        },
      ]
    ),
    scheduleSnapshots: (req: unknown) => (
      calls.push(`scheduleSnapshots ${JSON.stringify(req)}`),
      script.schedule(req)
    ),
  };
  return fake as unknown as FerryClient;
}

interface Reply {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** fastify's inject shape, over a real request. */
async function request(
  base: string,
  r: { method?: string; url: string; headers?: Record<string, string>; payload?: unknown },
): Promise<Reply> {
  const json = r.payload !== undefined && typeof r.payload !== 'string';
  const res = await fetch(`${base}${r.url}`, {
    method: r.method ?? 'GET',
    headers: { ...(json ? { 'content-type': 'application/json' } : {}), ...r.headers },
    body: json ? JSON.stringify(r.payload) : (r.payload as string | undefined),
  });
  return { statusCode: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

const notFound = () => Object.assign(new Error('workflow not found'), { name: 'WorkflowNotFoundError' });

describe('HTTP API routes', () => {
  let server: FastifyInstance;
  let app: { inject: (r: Parameters<typeof request>[1]) => Promise<Reply> };
  let script: Script;
  let calls: string[];

  beforeEach(async () => {
    calls = [];
    script = {
      systemInfo: async () => ({}),
      start: async () => ({ workflowId: 'migrate-runc-node-a-web', firstExecutionRunId: 'run-1' }),
      state: async (id) => ({ workflowId: id, runId: 'run-1', status: 'RUNNING', startTime: 't' }),
      status: async () => 'RUNNING',
      catalog: async () => [{ id: SNAP, workload: 'web' }],
      startSnapshot: async (what) => ({
        snapshotId: SNAP,
        handle: {
          workflowId: what === 'startSnapshotRestore' ? 'restore-runc-node-b-web' : `snapshot-create-${SNAP}`,
          firstExecutionRunId: 'run-3',
        },
      }),
      operation: async (id) => ({ workflowId: id, runId: 'run-3', status: 'RUNNING', startTime: 't' }),
      schedule: async () => 'snapshot-runc-node-a-web',
    };
    server = buildServer({
      client: fakeClient(script, calls),
      token: TOKEN,
      version: '9.9.9',
      logger: false,
    });
    const base = await server.listen({ host: '127.0.0.1', port: 0 });
    app = { inject: (r) => request(base, r) };
  });
  afterEach(() => server.close());

  const body = (r: { body: string }) => JSON.parse(r.body) as Record<string, unknown>;
  const errorOf = (r: { body: string }) => body(r).error as Record<string, unknown>;

  it('answers health and the OpenAPI document without a token', async () => {
    expect(body(await app.inject({ url: '/healthz' }))).toEqual({ status: 'ok' });
    script.systemInfo = async () => Promise.reject(new Error('connection refused'));
    const down = await app.inject({ url: '/healthz' });
    expect(down.statusCode).toBe(503);
    expect(errorOf(down)).toEqual({
      code: 'temporal-unavailable',
      message: 'Temporal is unreachable: connection refused',
    });
    const doc = await app.inject({ url: '/openapi.json' });
    expect(doc.statusCode).toBe(200);
    expect(body(doc)).toEqual(JSON.parse(JSON.stringify(openApiDocument('9.9.9'))));
  });

  it('refuses /v1 requests without the right token', async () => {
    const none = await app.inject({ url: '/v1/migrations/migrate-runc-node-a-web' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="ferry"');
    expect(errorOf(none).code).toBe('unauthorized');
    expect(errorOf(none).message).toMatch(/missing Authorization header/);
    const malformed = await app.inject({ url: '/v1/migrations/x', headers: { authorization: 'Basic x' } });
    expect(malformed.statusCode).toBe(401);
    expect(errorOf(malformed).message).toBe('malformed Authorization header: expected "Bearer TOKEN"');
    const wrong = await app.inject({
      url: '/v1/migrations/x',
      headers: { authorization: `Bearer ${TOKEN}x` },
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.headers['www-authenticate']).toBeUndefined();
    expect(errorOf(wrong).code).toBe('forbidden');
    expect(calls).toEqual([]);
  });

  it('lists the hosts with their workers (GET /v1/hosts, token needed)', async () => {
    expect((await app.inject({ url: '/v1/hosts' })).statusCode).toBe(401);
    const r = await app.inject({ url: '/v1/hosts', headers: auth });
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body)).toEqual([
      {
        name: 'node-a',
        up: false,
        startWith: 'ferry worker --host node-a --config FILE',
        runcRoot: '/run/runc',
      },
    ]);
    expect(calls).toEqual(['describeHosts']);
    const doc = openApiDocument('1') as { paths: Record<string, { get?: unknown }> };
    expect(doc.paths['/v1/hosts']?.get).toBeDefined();
  });

  it('answers unknown routes with 404 and a pointer to the document', async () => {
    const r = await app.inject({ url: '/nope?x=1' });
    expect(r.statusCode).toBe(404);
    expect(errorOf(r)).toEqual({
      code: 'not-found',
      message: 'no route GET /nope; see GET /openapi.json',
    });
  });

  it('starts a migration and an evacuation: 202, Location and links', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/migrations', headers: auth, payload: migration });
    expect(r.statusCode).toBe(202);
    expect(r.headers.location).toBe('/v1/migrations/migrate-runc-node-a-web');
    expect(body(r)).toEqual({
      workflowId: 'migrate-runc-node-a-web',
      runId: 'run-1',
      status: 'RUNNING',
      links: {
        self: '/v1/migrations/migrate-runc-node-a-web',
        cancel: '/v1/migrations/migrate-runc-node-a-web/cancel',
      },
    });
    script.start = async () => ({ workflowId: 'evacuate-node-a', firstExecutionRunId: 'run-2' });
    const e = await app.inject({
      method: 'POST',
      url: '/v1/evacuations',
      headers: auth,
      payload: { host: 'node-a', candidates: ['node-b'] },
    });
    expect(e.statusCode).toBe(202);
    expect(e.headers.location).toBe('/v1/evacuations/evacuate-node-a');
    expect(calls).toEqual(['startMigration by env', 'startEvacuation']);
  });

  it('starts a hibernation, reads it by its id, and refuses a host that is its own fallback', async () => {
    script.start = async () => ({ workflowId: 'hibernate-node-a', firstExecutionRunId: 'run-4' });
    const body = { host: 'node-a', deadline: '2026-12-02T04:00:00Z', fallbackHosts: ['node-b'] };
    const started = await app.inject({
      method: 'POST',
      url: '/v1/hibernations',
      headers: auth,
      payload: body,
    });
    expect(started.statusCode).toBe(202);
    expect(started.headers.location).toBe('/v1/hibernations/hibernate-node-a');
    const read = await app.inject({ url: '/v1/hibernations/hibernate-node-a', headers: auth });
    expect(read.statusCode).toBe(200);
    const self = await app.inject({
      method: 'POST',
      url: '/v1/hibernations',
      headers: auth,
      payload: { host: 'node-a', fallbackHosts: ['node-a'] },
    });
    expect(self.statusCode).toBe(400);
    expect((errorOf(self).problems as { field: string; message: string }[])[0]).toMatchObject({
      field: 'fallbackHosts',
      message: expect.stringMatching(/cannot be its own fallback host/),
    });
    const wrongKind = await app.inject({ url: '/v1/hibernations/evacuate-node-a', headers: auth });
    expect(wrongKind.statusCode).toBe(404);
    expect(calls).toEqual([`startHibernation ${JSON.stringify(body)}`, 'getHibernation node-a']);
  });

  it('refuses invalid bodies before starting anything', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/migrations',
      headers: auth,
      payload: { ...migration, runtime: 'lxc', color: 'red' },
    });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).code).toBe('invalid-input');
    expect(errorOf(bad).message).toMatch(/^invalid request, nothing was started: /);
    expect((errorOf(bad).problems as { field: string }[]).map((p) => p.field).sort()).toEqual([
      '(body)',
      'runtime',
    ]);
    const notJson = await app.inject({
      method: 'POST',
      url: '/v1/migrations',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{nope',
    });
    expect(notJson.statusCode).toBe(400);
    expect(errorOf(notJson).message).toMatch(/^the request body is not valid JSON: /);
    const text = await app.inject({
      method: 'POST',
      url: '/v1/evacuations',
      headers: { ...auth, 'content-type': 'application/xml' },
      payload: '<host>node-a</host>',
    });
    expect(text.statusCode).toBe(415);
    expect(errorOf(text)).toEqual({
      code: 'invalid-input',
      message: 'send the body as JSON with "Content-Type: application/json"',
    });
    expect(calls).toEqual([]);
  });

  it('maps refused requests, an unreachable Temporal and bugs to 400/409/503/500', async () => {
    const post = () =>
      app.inject({ method: 'POST', url: '/v1/migrations', headers: auth, payload: migration });
    script.start = async () => Promise.reject(new MigrationRequestError('unknown host'));
    expect([(await post()).statusCode, errorOf(await post())]).toEqual([
      400,
      { code: 'invalid-input', message: 'unknown host' },
    ]);
    script.start = async () =>
      Promise.reject(new MigrationRequestError('already running', 'conflict', 'migrate-runc-node-a-web'));
    expect([(await post()).statusCode, errorOf(await post())]).toEqual([
      409,
      { code: 'conflict', message: 'already running', workflowId: 'migrate-runc-node-a-web' },
    ]);
    script.start = async () => Promise.reject(new MigrationRequestError('no pollers', 'no-worker'));
    expect([(await post()).statusCode, errorOf(await post()).code]).toEqual([503, 'no-worker']);
    script.start = async () => Promise.reject(Object.assign(new Error('down'), { code: 14 }));
    expect([(await post()).statusCode, errorOf(await post())]).toEqual([
      503,
      {
        code: 'temporal-unavailable',
        message: 'Temporal is unreachable: down. Retry later; check the temporal: section of the config',
      },
    ]);
    script.start = async () => Promise.reject(new Error('boom'));
    expect([(await post()).statusCode, errorOf(await post())]).toEqual([
      500,
      { code: 'internal', message: 'internal error: boom' },
    ]);
  });

  it('reads a migration or an evacuation by id, and 404s ids of the wrong kind or unknown ones', async () => {
    const m = await app.inject({ url: '/v1/migrations/migrate-runc-node-a-web', headers: auth });
    expect(m.statusCode).toBe(200);
    expect(body(m).workflowId).toBe('migrate-runc-node-a-web');
    const e = await app.inject({ url: '/v1/evacuations/evacuate-node-a', headers: auth });
    expect(e.statusCode).toBe(200);
    expect(calls).toEqual(['getMigration migrate-runc-node-a-web', 'getEvacuation evacuate-node-a']);
    const wrongKind = await app.inject({ url: '/v1/evacuations/migrate-runc-node-a-web', headers: auth });
    expect(wrongKind.statusCode).toBe(404);
    expect(errorOf(wrongKind).message).toBe(
      '"migrate-runc-node-a-web" is not a evacuation id: they look like evacuate-node-a',
    );
    const badId = await app.inject({ url: '/v1/migrations/Migrate-X', headers: auth });
    expect(errorOf(badId).message).toBe(
      '"Migrate-X" is not a migration id: they look like migrate-runc-node-a-web',
    );
    script.state = async () => Promise.reject(notFound());
    const missing = await app.inject({ url: '/v1/migrations/migrate-runc-node-a-gone', headers: auth });
    expect(missing.statusCode).toBe(404);
    expect(errorOf(missing)).toEqual({ code: 'not-found', message: 'no migration migrate-runc-node-a-gone' });
  });

  it('cancels only what still runs', async () => {
    const cancel = (id: string) =>
      app.inject({ method: 'POST', url: `/v1/evacuations/${id}/cancel`, headers: auth });
    const ok = await cancel('evacuate-node-a');
    expect(ok.statusCode).toBe(202);
    expect(body(ok)).toEqual({ workflowId: 'evacuate-node-a', cancelRequested: true });
    expect(calls).toEqual(['cancel evacuate-node-a']);
    script.status = async () => 'COMPLETED';
    const done = await cancel('evacuate-node-a');
    expect(done.statusCode).toBe(409);
    expect(errorOf(done)).toEqual({
      code: 'conflict',
      message:
        'evacuation evacuate-node-a is no longer running (COMPLETED); GET /v1/evacuations/evacuate-node-a for its result',
      workflowId: 'evacuate-node-a',
    });
    script.status = async () => Promise.reject(notFound());
    const gone = await cancel('evacuate-node-z');
    expect([gone.statusCode, errorOf(gone).message]).toEqual([404, 'no evacuation evacuate-node-z']);
    expect((await cancel('migrate-runc-node-a-web')).statusCode).toBe(404);
    expect(calls).toEqual(['cancel evacuate-node-a']);
  });
  describe('snapshots', () => {
    const post = (url: string, payload: unknown) =>
      app.inject({ method: 'POST', url, headers: auth, payload });

    it('starts a snapshot: 202 with its id and where to follow it, the CRIU flags passed on', async () => {
      const r = await post('/v1/snapshots', {
        workload: 'web',
        runtime: 'runc',
        host: 'node-a',
        tcpEstablished: true,
        note: 'before the upgrade',
      });
      expect(r.statusCode).toBe(202);
      expect(r.headers.location).toBe(`/v1/snapshot-operations/snapshot-create-${SNAP}`);
      expect(body(r)).toEqual({
        workflowId: `snapshot-create-${SNAP}`,
        runId: 'run-3',
        status: 'RUNNING',
        id: SNAP,
        links: { self: `/v1/snapshot-operations/snapshot-create-${SNAP}`, snapshot: `/v1/snapshots/${SNAP}` },
      });
      expect(calls).toEqual([
        `startSnapshotCreate [{"workload":"web","runtime":"runc","host":"node-a","note":"before the upgrade","criu":{"tcpEstablished":true,"fileLocks":false}},{"startedBy":"env"}]`,
      ]);
    });

    it('refuses bad snapshot requests before starting anything, and maps the client refusals', async () => {
      const bad = await post('/v1/snapshots', {
        workload: 'Web',
        runtime: 'lxc',
        host: 'node-a',
        stop: 'yes',
      });
      expect(bad.statusCode).toBe(400);
      expect((errorOf(bad).problems as { field: string }[]).map((p) => p.field).sort()).toEqual([
        'runtime',
        'stop',
        'workload',
      ]);
      const discard = await post(`/v1/snapshots/${SNAP}/restore`, { host: 'node-b', discardCurrent: true });
      expect(errorOf(discard).problems).toEqual([
        { field: 'discardCurrent', message: 'discardCurrent only goes with replace: true' },
      ]);
      const schedule = await post('/v1/schedules/snapshots', {
        workload: 'web',
        runtime: 'runc',
        host: 'node-a',
        every: '5s',
        keep: 0,
      });
      expect((errorOf(schedule).problems as { field: string }[]).map((p) => p.field).sort()).toEqual([
        'every',
        'keep',
      ]);
      const query = await app.inject({ url: '/v1/snapshots?host=Node_A!&x=1', headers: auth });
      expect(query.statusCode).toBe(400);
      expect(calls).toEqual([]);

      const create = { workload: 'web', runtime: 'runc', host: 'node-a' };
      script.startSnapshot = async () =>
        Promise.reject(new MigrationRequestError('host node-z is not in the configuration'));
      expect([
        (await post('/v1/snapshots', create)).statusCode,
        errorOf(await post('/v1/snapshots', create)),
      ]).toEqual([400, { code: 'invalid-input', message: 'host node-z is not in the configuration' }]);
      script.startSnapshot = async () =>
        Promise.reject(
          new MigrationRequestError('being taken already', 'conflict', `snapshot-create-${SNAP}`),
        );
      expect((await post('/v1/snapshots', create)).statusCode).toBe(409);
      script.startSnapshot = async () => Promise.reject(new MigrationRequestError('no worker', 'no-worker'));
      expect(errorOf(await post(`/v1/snapshots/${SNAP}/copy`, { to: 'node-b' })).code).toBe('no-worker');
    });

    it('lists, shows and checks at once; 404s bad and unknown snapshot ids', async () => {
      const list = await app.inject({ url: '/v1/snapshots?workload=web', headers: auth });
      expect([list.statusCode, JSON.parse(list.body)]).toEqual([200, [{ id: SNAP, workload: 'web' }]]);
      const one = await app.inject({ url: `/v1/snapshots/${SNAP}`, headers: auth });
      expect([one.statusCode, body(one).id]).toEqual([200, SNAP]);
      const badId = await app.inject({ url: '/v1/snapshots/web-yesterday', headers: auth });
      expect([badId.statusCode, errorOf(badId).message]).toEqual([
        404,
        '"web-yesterday" is not a snapshot id (NAME-YYYYMMDDtHHMMSSz-XXXX, as ferry snapshot ls prints them)',
      ]);
      const gone = 'web-20261130t020000z-ffff';
      for (const r of [
        await app.inject({ url: `/v1/snapshots/${gone}`, headers: auth }),
        await app.inject({ method: 'DELETE', url: `/v1/snapshots/${gone}`, headers: auth }),
        await post(`/v1/snapshots/${gone}/restore`, { host: 'node-b' }),
      ])
        expect([r.statusCode, errorOf(r)]).toEqual([
          404,
          { code: 'not-found', message: `no snapshot ${gone} in the catalog: GET /v1/snapshots lists them` },
        ]);
      const check = await app.inject({ url: '/v1/snapshot-check', headers: auth });
      expect([check.statusCode, body(check).unreachable]).toEqual([200, ['node-c']]);
      expect(calls).toEqual(['listSnapshots {"workload":"web"}', 'checkSnapshots']);
    });

    it('restores, copies and removes with 202, and reads the operation until its result', async () => {
      const r = await post(`/v1/snapshots/${SNAP}/restore`, { host: 'node-b', as: 'web-copy', paused: true });
      expect([r.statusCode, r.headers.location, body(r).id]).toEqual([
        202,
        '/v1/snapshot-operations/restore-runc-node-b-web',
        SNAP,
      ]);
      expect((await post(`/v1/snapshots/${SNAP}/copy`, { to: 'node-b' })).statusCode).toBe(202);
      const rm = await app.inject({
        method: 'DELETE',
        url: `/v1/snapshots/${SNAP}?host=node-a`,
        headers: auth,
      });
      expect(rm.statusCode).toBe(202);
      expect(calls).toEqual([
        `startSnapshotRestore [{"snapshotId":"${SNAP}","host":"node-b","as":"web-copy","paused":true},{"startedBy":"env"}]`,
        `startSnapshotCopy ["${SNAP}","node-b",{"startedBy":"env"}]`,
        `startSnapshotRemove ["${SNAP}","node-a",{"startedBy":"env"}]`,
      ]);
      const refused = { outcome: 'refused', id: SNAP, workload: 'web', host: 'node-b', durationMs: 3 };
      script.operation = async (id) => ({
        workflowId: id,
        runId: 'run-3',
        status: 'COMPLETED',
        startTime: 't',
        result: refused,
      });
      const done = await app.inject({
        url: '/v1/snapshot-operations/restore-runc-node-b-web',
        headers: auth,
      });
      expect([done.statusCode, body(done).result]).toEqual([200, refused]);
      const wrongKind = await app.inject({
        url: '/v1/snapshot-operations/migrate-runc-node-a-web',
        headers: auth,
      });
      expect(wrongKind.statusCode).toBe(404);
      script.operation = async () => Promise.reject(notFound());
      const missing = await app.inject({ url: `/v1/snapshot-operations/snapshot-rm-${SNAP}`, headers: auth });
      expect([missing.statusCode, errorOf(missing).message]).toEqual([
        404,
        `no snapshot operation snapshot-rm-${SNAP}`,
      ]);
    });

    it('creates a snapshot schedule (201) and answers 409 when it exists', async () => {
      const req = { workload: 'web', runtime: 'runc', host: 'node-a', every: '15m', keep: 8, maxAge: '7d' };
      const r = await post('/v1/schedules/snapshots', { ...req, tcpEstablished: true });
      expect([r.statusCode, body(r)]).toEqual([201, { scheduleId: 'snapshot-runc-node-a-web' }]);
      expect(calls).toEqual([
        `scheduleSnapshots ${JSON.stringify({ ...req, criu: { tcpEstablished: true } })}`,
      ]);
      script.schedule = async () =>
        Promise.reject(
          Object.assign(new Error('Schedule already exists and is running'), {
            name: 'ScheduleAlreadyRunning',
            scheduleId: 'snapshot-runc-node-a-web',
          }),
        );
      const again = await post('/v1/schedules/snapshots', req);
      expect([again.statusCode, errorOf(again)]).toEqual([
        409,
        {
          code: 'conflict',
          message:
            'a schedule snapshot-runc-node-a-web exists already: delete it first (ferry schedule delete snapshot-runc-node-a-web) to change it',
        },
      ]);
    });
  });
});

describe('HTTP API scopes and methods', () => {
  let server: FastifyInstance;
  let app: { inject: (r: Parameters<typeof request>[1]) => Promise<Reply> };
  let calls: string[];
  const READER = 'reader-secret-0000000';
  const MOVER = 'mover-secret-00000000';
  const as = (secret: string) => ({ authorization: `Bearer ${secret}` });

  beforeEach(async () => {
    calls = [];
    const script: Partial<Script> = {
      start: async () => ({ workflowId: 'migrate-runc-node-a-web', firstExecutionRunId: 'run-1' }),
      state: async (id) => ({ workflowId: id, runId: 'run-1', status: 'RUNNING', startTime: 't' }),
      status: async () => 'RUNNING',
      catalog: async () => [],
    };
    server = buildServer({
      client: fakeClient(script as Script, calls),
      tokens: TokenRegistry.of(
        allScopes('env', TOKEN),
        { name: 'reader', scopes: ['read'], sha256: sha256(READER) },
        { name: 'mover', scopes: ['read', 'migrate'], sha256: sha256(MOVER) },
      ),
      version: '9.9.9',
      logger: false,
    });
    const base = await server.listen({ host: '127.0.0.1', port: 0 });
    app = { inject: (r) => request(base, r) };
  });
  afterEach(() => server.close());

  const errorOf = (r: { body: string }) => (JSON.parse(r.body) as { error: Record<string, unknown> }).error;

  it('lets a token do only what its scopes allow, naming the scope it lacks', async () => {
    const read = await app.inject({ url: '/v1/migrations/migrate-runc-node-a-web', headers: as(READER) });
    expect(read.statusCode).toBe(200);
    const start = await app.inject({
      method: 'POST',
      url: '/v1/migrations',
      headers: as(READER),
      payload: migration,
    });
    expect(start.statusCode).toBe(403);
    expect(errorOf(start)).toEqual({
      code: 'forbidden',
      scope: 'migrate',
      message: 'token "reader" lacks the scope migrate that POST /v1/migrations needs (docs/api.md#scopes)',
    });
    const cancel = await app.inject({
      method: 'POST',
      url: '/v1/evacuations/evacuate-node-a/cancel',
      headers: as(MOVER),
    });
    expect(cancel.statusCode).toBe(403);
    expect(errorOf(cancel).scope).toBe('evacuate');
    const snap = await app.inject({ method: 'DELETE', url: `/v1/snapshots/${SNAP}`, headers: as(MOVER) });
    expect(errorOf(snap).scope).toBe('snapshot');
    const hib = await app.inject({
      method: 'POST',
      url: '/v1/hibernations',
      headers: as(MOVER),
      payload: {},
    });
    expect(errorOf(hib).scope).toBe('hibernate');
    expect(calls).toEqual(['getMigration migrate-runc-node-a-web']);
    const moved = await app.inject({
      method: 'POST',
      url: '/v1/migrations',
      headers: as(MOVER),
      payload: migration,
    });
    expect(moved.statusCode).toBe(202);
    expect(calls.at(-1)).toBe('startMigration by mover');
  });

  it('refuses every write to a read-only token with the scope the OpenAPI document names', async () => {
    const paths = openApiDocument('1').paths as Record<string, Record<string, Record<string, unknown>>>;
    let writes = 0;
    for (const [path, ops] of Object.entries(paths))
      for (const [method, op] of Object.entries(ops)) {
        if (!path.startsWith('/v1/')) continue;
        if (method === 'get') {
          expect([path, op['x-ferry-scope']]).toEqual([path, 'read']);
          continue;
        }
        writes++;
        const url = path.replace('{id}', path.includes('snapshot') ? SNAP : 'migrate-runc-node-a-web');
        const r = await app.inject({ method: method.toUpperCase(), url, headers: as(READER), payload: {} });
        expect([`${method} ${path}`, r.statusCode, errorOf(r).scope]).toEqual([
          `${method} ${path}`,
          403,
          op['x-ferry-scope'],
        ]);
      }
    expect(writes).toBe(11);
    expect(calls).toEqual([]);
  });

  it('answers 405 with Allow for a method a path does not have, 404 for unknown paths', async () => {
    const put = await app.inject({ method: 'PUT', url: '/v1/migrations', headers: as(READER), payload: {} });
    expect(put.statusCode).toBe(405);
    expect(put.headers.allow).toBe('POST');
    expect(errorOf(put)).toEqual({
      code: 'method-not-allowed',
      message: '/v1/migrations does not answer PUT, only POST; see GET /openapi.json',
    });
    const del = await app.inject({ method: 'DELETE', url: '/v1/migrations/migrate-x', headers: as(READER) });
    expect([del.statusCode, del.headers.allow]).toEqual([405, 'GET, HEAD']);
    const snap = await app.inject({
      method: 'PATCH',
      url: `/v1/snapshots/${SNAP}`,
      headers: as(READER),
      payload: {},
    });
    expect([snap.statusCode, snap.headers.allow]).toEqual([405, 'DELETE, GET, HEAD']);
    const health = await app.inject({ method: 'POST', url: '/healthz' });
    expect([health.statusCode, health.headers.allow]).toEqual([405, 'GET, HEAD']);
    // Without a token, /v1 says nothing about its routes.
    expect((await app.inject({ method: 'PUT', url: '/v1/migrations' })).statusCode).toBe(401);
    const unknown = await app.inject({ method: 'PUT', url: '/v1/nothing', headers: as(READER) });
    expect([unknown.statusCode, errorOf(unknown).code]).toEqual([404, 'not-found']);
    expect(calls).toEqual([]);
  });
});
