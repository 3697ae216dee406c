// The HTTP API against a real Temporal dev server, with no worker at all: a real `ferry serve`
// process with a tokens file (scopes, reload on change and on SIGHUP, the token in the request
// log and on what it starts), then schemathesis fuzzing it from its own /openapi.json
// (docs/api.md#fuzzing). Without workers every start is refused (503 no-worker) before
// anything runs, so the fuzzer can touch no host; the test checks nothing is left in Temporal.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { execa, type ResultPromise } from 'execa';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporalCli } from './temporal-env.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// Ports 47700-47799 are this test's (Temporal on one, ferry serve on the next).
const TEMPORAL_PORT = 47700 + (process.pid % 40) * 2;
const SERVE_PORT = TEMPORAL_PORT + 1;
const BASE = `http://127.0.0.1:${SERVE_PORT}`;
const FUZZ = 'fuzz-secret-0123456789';
const READER = 'reader-secret-0123456';
const EXAMPLES = Number(process.env.FERRY_FUZZ_EXAMPLES ?? 10);

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const entry = (name: string, secret: string, scopes: string) =>
  `  - name: ${name}\n    sha256: ${hash(secret)}\n    scopes: [${scopes}]\n`;
const ALL = 'read, migrate, evacuate, hibernate, snapshot';

async function call(method: string, url: string, secret: string, body?: unknown) {
  const res = await fetch(`${BASE}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${secret}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; scope?: string } } };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const found = await probe().catch(() => undefined);
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('HTTP API against Temporal, fuzzed from its OpenAPI description', () => {
  let dir: string;
  let env: TestWorkflowEnvironment;
  let serve: ResultPromise;
  let log = '';
  let schemathesis: string;
  const tokensFile = () => path.join(dir, 'tokens.yaml');
  const logLines = () =>
    log
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-api-fuzz-'));
    const tools = path.join(ROOT, '.tools');
    // Idempotent: a venv cached in ~/.cache/ferry once installed.
    await execa('bash', [path.join(ROOT, 'scripts/setup/install-schemathesis.sh')], {
      env: { FERRY_TOOLS: tools },
    });
    schemathesis = path.join(tools, 'bin', 'schemathesis');
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: await temporalCli() },
        ip: '127.0.0.1',
        port: TEMPORAL_PORT,
      },
    });
    await writeFile(
      path.join(dir, 'ferry.yaml'),
      [
        `temporal: { address: "127.0.0.1:${TEMPORAL_PORT}" }`,
        `transfer: { identityFile: ${dir}/no-key, knownHostsFile: ${dir}/no-known-hosts }`,
        'hosts:',
        ...['node-a', 'node-b'].map(
          (h) => `  - { name: ${h}, ssh: { address: 127.0.0.1 }, stateDir: ${dir}/${h} }`,
        ),
      ].join('\n'),
    );
    await writeFile(tokensFile(), `tokens:\n${entry('fuzz', FUZZ, ALL)}`, { mode: 0o600 });
    await chmod(tokensFile(), 0o600);
    // Only the tokens file: no $FERRY_API_TOKEN of the caller's shell.
    const rest = { ...process.env };
    delete rest.FERRY_API_TOKEN;
    serve = execa(
      path.join(ROOT, 'bin', 'ferry'),
      [
        'serve',
        '--listen',
        `127.0.0.1:${SERVE_PORT}`,
        '--tokens-file',
        tokensFile(),
        '--config',
        path.join(dir, 'ferry.yaml'),
      ],
      { env: rest, extendEnv: false, reject: false, stdin: 'ignore', all: true },
    );
    serve.all?.on('data', (d: Buffer) => (log += d.toString()));
    await until('ferry serve', async () => ((await fetch(`${BASE}/healthz`)).ok ? true : undefined));
  });

  afterAll(async () => {
    serve?.kill('SIGTERM');
    await serve;
    await env?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reloads its tokens file on change and on SIGHUP, keeping the old tokens when it is broken', async () => {
    expect((await call('GET', '/v1/snapshots', READER)).status).toBe(403);
    await writeFile(tokensFile(), `tokens:\n${entry('fuzz', FUZZ, ALL)}${entry('reader', READER, 'read')}`);
    await until('the reader token', async () =>
      (await call('GET', '/v1/snapshots', READER)).status === 200 ? true : undefined,
    );
    const refused = await call('POST', '/v1/migrations', READER, {});
    expect([refused.status, refused.body.error?.scope]).toEqual([403, 'migrate']);

    await writeFile(tokensFile(), 'tokens: [');
    await until('the refused reload', async () =>
      logLines().some((l) => String(l.msg).includes('not reloaded, keeping the previous tokens'))
        ? true
        : undefined,
    );
    expect((await call('GET', '/v1/snapshots', READER)).status).toBe(200);

    await writeFile(tokensFile(), `tokens:\n${entry('fuzz', FUZZ, ALL)}`);
    await until('the reader token gone', async () =>
      (await call('GET', '/v1/snapshots', READER)).status === 403 ? true : undefined,
    );
    serve.kill('SIGHUP');
    await until('the SIGHUP reload', async () =>
      logLines().some((l) => l.why === 'SIGHUP') ? true : undefined,
    );
    expect(logLines().some((l) => l.msg === 'request completed' && l.apiToken === 'reader')).toBe(true);
  });

  it('refuses every start without a worker (503 no-worker) and records the token on a schedule', async () => {
    const starts: [string, unknown][] = [
      ['/v1/migrations', { workload: 'web', runtime: 'runc', source: 'node-a', destination: 'node-b' }],
      ['/v1/evacuations', { host: 'node-a' }],
      ['/v1/hibernations', { host: 'node-a' }],
      ['/v1/snapshots', { workload: 'web', runtime: 'runc', host: 'node-a' }],
    ];
    for (const [url, body] of starts) {
      const r = await call('POST', url, FUZZ, body);
      expect([url, r.status, r.body.error?.code]).toEqual([url, 503, 'no-worker']);
    }
    const check = await call('GET', '/v1/snapshot-check', FUZZ);
    expect([check.status, check.body.error?.code]).toEqual([503, 'no-worker']);

    const created = await call('POST', '/v1/schedules/snapshots', FUZZ, {
      workload: 'web',
      runtime: 'runc',
      host: 'node-a',
      every: '1h',
      keep: 1,
    });
    expect(created.status).toBe(201);
    const id = (created.body as { scheduleId: string }).scheduleId;
    const schedule = env.client.schedule.getHandle(id);
    try {
      const d = await schedule.describe();
      expect(d.memo).toEqual({ ferryApiToken: 'fuzz' });
      expect(d.action.type === 'startWorkflow' && d.action.memo).toEqual({ ferryApiToken: 'fuzz' });
    } finally {
      await schedule.delete();
    }
  });

  it('answers every generated request without a server error and as its schema says', async () => {
    const har = path.join(dir, 'fuzz.har');
    const config = path.join(dir, 'schemathesis.toml');
    // 503 is allowed here only because it is checked below: each one must be no-worker.
    await writeFile(
      config,
      '[checks.not_a_server_error]\nexpected-statuses = ["1XX", "2XX", "3XX", "4XX", "503"]\n',
    );
    const r = await execa(
      schemathesis,
      [
        '--config-file',
        config,
        'run',
        `${BASE}/openapi.json`,
        '--header',
        `Authorization: Bearer ${FUZZ}`,
        '--checks',
        [
          'not_a_server_error',
          'response_schema_conformance',
          'status_code_conformance',
          'content_type_conformance',
          'response_headers_conformance',
          'negative_data_rejection',
          'unsupported_method',
          'allow_header_conformance',
          'ignored_auth',
        ].join(','),
        '--max-examples',
        String(EXAMPLES),
        '--seed',
        '1',
        // One worker: hypothesis' lambda description cache is not thread-safe (runtime errors).
        '--workers',
        '1',
        '--request-timeout',
        '20',
        '--no-color',
        '--report',
        'har',
        '--report-har-path',
        har,
      ],
      // Its cache (.schemathesis/) goes into the test's folder, not the checkout.
      { reject: false, all: true, env: { NO_COLOR: '1' }, cwd: dir },
    );
    expect([r.exitCode, r.exitCode === 0 ? '' : r.all]).toEqual([0, '']);

    const entries = (
      JSON.parse(await readFile(har, 'utf8')) as {
        log: {
          entries: { request: { url: string }; response: { status: number; content: { text?: string } } }[];
        };
      }
    ).log.entries;
    expect(entries.length).toBeGreaterThan(200);
    for (const e of entries.filter((x) => x.response.status >= 500))
      expect([e.request.url, e.response.status, e.response.content.text]).toEqual([
        e.request.url,
        503,
        expect.stringContaining('"code":"no-worker"'),
      ]);

    // Nothing the fuzzer sent started a workflow or left a schedule behind.
    const left: string[] = [];
    for await (const w of env.client.workflow.list()) left.push(w.workflowId);
    for await (const s of env.client.schedule.list()) left.push(s.scheduleId);
    expect(left).toEqual([]);
  });
});
