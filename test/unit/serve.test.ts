import { chmod, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bearerSecret, loadToken, TokenError } from '../../src/serve/auth.js';
import { loadTokens } from '../../src/cli/commands/serve.js';
import { TokenRegistry } from '../../src/serve/token-registry.js';
import { allScopes, findToken, loadTokensFile, parseTokensFile, sha256 } from '../../src/serve/tokens.js';
import { openApiDocument } from '../../src/serve/openapi.js';
import { describeIssues, evacuateRequestSchema, migrateRequestSchema } from '../../src/serve/schemas.js';
import {
  snapshotCreateRequestSchema,
  snapshotRestoreRequestSchema,
  snapshotScheduleRequestSchema,
} from '../../src/serve/snapshot-schemas.js';
import { parseConfig } from '../../src/config/schema.js';
import { temporalConnectionOptions } from '../../src/config/temporal-connection.js';
import { formatLogEntry } from '../../src/observability/logging.js';

const TOKEN = '0123456789abcdef0123';

describe('API token', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-token-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('checks bearer headers and finds whose token it is', () => {
    expect(bearerSecret(undefined)).toBe('missing');
    expect(bearerSecret(`Basic ${TOKEN}`)).toBe('malformed');
    expect(bearerSecret('Bearer')).toBe('malformed');
    expect(bearerSecret(`bearer ${TOKEN}`)).toEqual({ secret: TOKEN });
    const tokens = [
      allScopes('env', TOKEN),
      { name: 'ci', scopes: ['read'] as const, sha256: sha256('other-secret-123456') },
    ];
    expect(findToken(tokens, TOKEN)?.name).toBe('env');
    expect(findToken(tokens, 'other-secret-123456')?.name).toBe('ci');
    expect(findToken(tokens, `${TOKEN}x`)).toBeUndefined();
    expect(findToken(tokens, TOKEN.slice(1))).toBeUndefined();
  });

  it('reads a private token file and refuses one others can read, or a short token', async () => {
    const file = path.join(dir, 'token');
    await writeFile(file, `${TOKEN}\n`, { mode: 0o600 });
    expect(await loadToken({ tokenFile: file })).toBe(TOKEN);
    await chmod(file, 0o644);
    await expect(loadToken({ tokenFile: file })).rejects.toThrow(/chmod 600/);
    await expect(loadToken({ env: { FERRY_API_TOKEN: 'short' } })).rejects.toThrow(TokenError);
    await expect(loadToken({ env: {} })).rejects.toThrow(/--token-file FILE/);
    expect(await loadToken({ env: { FERRY_API_TOKEN: TOKEN } })).toBe(TOKEN);
  });

  const line = (name: string, secret: string, scopes: string[]) =>
    `  - name: ${name}\n    sha256: ${sha256(secret).toString('hex')}\n    scopes: [${scopes.join(', ')}]\n`;

  it('parses a tokens file and names every problem of a bad one', () => {
    const tokens = parseTokensFile(`tokens:\n${line('ci', 'a'.repeat(20), ['read', 'migrate'])}`, 'F');
    expect(tokens.map((t) => [t.name, t.scopes])).toEqual([['ci', ['read', 'migrate']]]);
    expect(() => parseTokensFile('tokens: [', 'F')).toThrow(/F is not valid YAML/);
    expect(() =>
      parseTokensFile('tokens:\n  - name: Bad Name\n    sha256: abc\n    scopes: [root]\n', 'F'),
    ).toThrow(
      /tokens.0.name: a name is 1-63 .*tokens.0.sha256: sha256 is the 64 hex digits.*tokens.0.scopes.0: .*read/,
    );
    expect(() =>
      parseTokensFile(`tokens:\n${line('ci', 'x', ['read'])}${line('ci', 'y', ['read'])}`, 'F'),
    ).toThrow(/names token "ci" twice/);
    expect(() =>
      parseTokensFile(`tokens:\n${line('a', 'x', ['read'])}${line('b', 'x', ['read'])}`, 'F'),
    ).toThrow(/hash of another token/);
    expect(() => parseTokensFile('tokens:\n  - name: ci\n    token: plain\n', 'F')).toThrow(/token/);
  });

  it('refuses a tokens file others can read, and keeps the previous tokens when a reload fails', async () => {
    const file = path.join(dir, 'tokens.yaml');
    await writeFile(file, `tokens:\n${line('ci', 'first-secret-000000', ['read'])}`, { mode: 0o644 });
    await expect(loadTokensFile(file)).rejects.toThrow(/chmod 600/);
    await chmod(file, 0o600);
    const registry = await loadTokens({ tokensFile: file }, {});
    expect(registry.tokens.map((t) => t.name)).toEqual(['ci']);
    const logged: string[] = [];
    const log = {
      info: (_: object, m: string) => logged.push(m),
      error: (_: object, m: string) => logged.push(m),
    };
    await writeFile(file, 'tokens: [');
    expect(await registry.reload('test', log)).toBe(false);
    expect(registry.find('first-secret-000000')?.name).toBe('ci');
    expect(logged.pop()).toMatch(/not reloaded, keeping the previous tokens: .*not valid YAML/);
    await writeFile(file, `tokens:\n${line('deploy', 'second-secret-00000', ['migrate'])}`);
    expect(await registry.reload('test', log)).toBe(true);
    expect(registry.find('first-secret-000000')).toBeUndefined();
    expect(registry.find('second-secret-00000')?.scopes).toEqual(['migrate']);
    // $FERRY_API_TOKEN stays one token with every scope beside the file's.
    const both = await loadTokens({ tokensFile: file }, { FERRY_API_TOKEN: TOKEN });
    expect(both.tokens.map((t) => [t.name, t.scopes.length])).toEqual([
      ['env', 5],
      ['deploy', 1],
    ]);
    await expect(loadTokens({}, {})).rejects.toThrow(/--tokens-file FILE or --token-file FILE/);
  });

  it('reloads the tokens file when it changes (SIGHUP: test/e2e/api-fuzz.test.ts)', async () => {
    const file = path.join(dir, 'watched.yaml');
    await writeFile(file, `tokens:\n${line('one', 'one-secret-00000000', ['read'])}`, { mode: 0o600 });
    const registry = new TokenRegistry([], file);
    await registry.load();
    const reloaded: string[] = [];
    const next = (why: string) =>
      new Promise<void>((resolve) => {
        const log = {
          info: (o: object) => {
            reloaded.push((o as { why: string }).why);
            if (reloaded.at(-1) === why) resolve();
          },
          error: () => undefined,
        };
        registry.watch(log);
      });
    try {
      const done = next('file changed');
      // Replaced the way editors do: a new file renamed over the old one.
      await writeFile(`${file}.new`, `tokens:\n${line('two', 'two-secret-00000000', ['read'])}`, {
        mode: 0o600,
      });
      await rename(`${file}.new`, file);
      await done;
      expect(registry.find('two-secret-00000000')?.name).toBe('two');
    } finally {
      registry.close();
    }
  });
});

describe('API request schemas', () => {
  const good = { workload: 'web', runtime: 'runc', source: 'node-a', destination: 'node-b' };

  it('accepts a valid migrate request and names every problem of a bad one', () => {
    expect(migrateRequestSchema.safeParse(good).success).toBe(true);
    const bad = migrateRequestSchema.safeParse({
      ...good,
      workload: '../etc',
      runtime: 'lxc',
      destination: 'node-a',
      verifyWindowMs: 1.5,
      color: 'red',
    });
    expect(bad.success).toBe(false);
    const problems = describeIssues(bad.error!, { ...good, verifyWindowMs: 1.5 });
    const byField = Object.fromEntries(problems.map((p) => [p.field, p.message]));
    expect(byField.workload).toMatch(/names may not be paths/);
    expect(byField.runtime).toMatch(/runc, process/);
    expect(byField.verifyWindowMs).toMatch(/integer from 0 to 600000/);
    expect(byField['(body)']).toMatch(/unknown field\(s\) color/);
    expect(
      describeIssues(migrateRequestSchema.safeParse({ ...good, source: undefined }).error!, {
        ...good,
        source: undefined,
      }),
    ).toEqual([{ field: 'source', message: 'source is required' }]);
    expect(
      describeIssues(migrateRequestSchema.safeParse({ ...good, destination: 'node-a' }).error!, good),
    ).toEqual([{ field: 'destination', message: expect.stringMatching(/same host/) }]);
  });

  it('checks evacuation requests', () => {
    const own = evacuateRequestSchema.safeParse({ host: 'node-a', candidates: ['node-b', 'node-a'] });
    expect(describeIssues(own.error!, {})).toEqual([
      { field: 'candidates', message: expect.stringMatching(/its own evacuation destination/) },
    ]);
    expect(
      evacuateRequestSchema.safeParse({ host: 'node-a', deadline: '2026-12-01T02:00:00Z' }).success,
    ).toBe(true);
    const bad = evacuateRequestSchema.safeParse({
      host: 'node-a',
      candidates: ['node-a'],
      concurrency: 0,
      deadline: 'tomorrow',
      labels: { 'bad key': 'x' },
    });
    const fields = describeIssues(bad.error!, {}).map((p) => p.field);
    expect(fields).toEqual(expect.arrayContaining(['concurrency', 'deadline', 'labels.bad key']));
  });

  it('checks snapshot requests with the same rules as the client', () => {
    const create = { workload: 'web', runtime: 'runc', host: 'node-a' };
    expect(snapshotCreateRequestSchema.safeParse({ ...create, stop: true, fileLocks: true }).success).toBe(
      true,
    );
    const note = { ...create, note: 'two\nlines', criu: { tcpEstablished: true } };
    expect(describeIssues(snapshotCreateRequestSchema.safeParse(note).error!, note)).toEqual([
      { field: 'note', message: 'note must be one line without control characters' },
      { field: '(body)', message: 'unknown field(s) criu: see /openapi.json' },
    ]);
    const restore = { host: 'node-b', as: 'Web Copy', discardCurrent: true };
    expect(describeIssues(snapshotRestoreRequestSchema.safeParse(restore).error!, restore)).toEqual([
      { field: 'as', message: expect.stringMatching(/workload name/) },
      { field: 'discardCurrent', message: 'discardCurrent only goes with replace: true' },
    ]);
    const schedule = { ...create, every: '15m', keep: 8 };
    expect(snapshotScheduleRequestSchema.safeParse({ ...schedule, maxAge: '7d' }).success).toBe(true);
    const bad = { ...schedule, every: '5s', keep: 1.5, maxAge: 'a week' };
    expect(describeIssues(snapshotScheduleRequestSchema.safeParse(bad).error!, bad)).toEqual([
      {
        field: 'every',
        message: 'every must be a duration such as 15m (a number and s, m, h or d), at least 10s',
      },
      { field: 'keep', message: 'keep must be an integer from 1 to 10000' },
      { field: 'maxAge', message: 'maxAge must be a duration such as 7d (a number and s, m, h or d)' },
    ]);
  });
});

describe('OpenAPI document', () => {
  it('is generated from the request schemas and the committed copy is current (npm run openapi)', async () => {
    const version = (JSON.parse(await readFile('package.json', 'utf8')) as { version: string }).version;
    const doc = openApiDocument(version) as {
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: Record<string, { pattern?: string }> }> };
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/migrations',
        '/v1/migrations/{id}',
        '/v1/evacuations',
        '/v1/hibernations',
        '/v1/hibernations/{id}',
        '/healthz',
        '/v1/snapshots',
        '/v1/snapshots/{id}',
        '/v1/snapshots/{id}/restore',
        '/v1/snapshots/{id}/copy',
        '/v1/snapshot-operations/{id}',
        '/v1/snapshot-check',
        '/v1/schedules/snapshots',
      ]),
    );
    expect(doc.components.schemas.MigrateRequest?.properties?.workload?.pattern).toBe(
      '^[a-z0-9]([a-z0-9_.-]{0,61}[a-z0-9])?$',
    );
    const committed = JSON.parse(await readFile('docs/openapi.json', 'utf8')) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(doc)));
  });
});

describe('TLS to Temporal', () => {
  const base = {
    transfer: { identityFile: '/k', knownHostsFile: '/h' },
    hosts: [{ name: 'node-a', ssh: { address: '10.0.0.1' }, stateDir: '/var/lib/ferry' }],
  };

  it('reads the CA, client certificate and key named in the config', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-tls-'));
    try {
      for (const f of ['ca.pem', 'client.pem', 'client.key']) await writeFile(path.join(dir, f), `PEM ${f}`);
      const cfg = parseConfig({
        ...base,
        temporal: {
          address: 'temporal.internal:7233',
          tls: {
            serverCaFile: path.join(dir, 'ca.pem'),
            clientCertFile: path.join(dir, 'client.pem'),
            clientKeyFile: path.join(dir, 'client.key'),
            serverName: 'temporal.internal',
          },
        },
      });
      const opts = await temporalConnectionOptions(cfg.temporal);
      expect(opts.address).toBe('temporal.internal:7233');
      expect(opts.tls?.serverNameOverride).toBe('temporal.internal');
      expect(String(opts.tls?.serverRootCACertificate)).toBe('PEM ca.pem');
      expect(String(opts.tls?.clientCertPair?.crt)).toBe('PEM client.pem');
      expect(String(opts.tls?.clientCertPair?.key)).toBe('PEM client.key');
      expect(
        (await temporalConnectionOptions(parseConfig({ ...base, temporal: { tls: {} } }).temporal)).tls,
      ).toEqual({});
      expect((await temporalConnectionOptions(parseConfig(base).temporal)).tls).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a client certificate without its key, and per-host metrics without a port', () => {
    expect(() =>
      parseConfig({ ...base, temporal: { tls: { clientCertFile: '/etc/ferry/client.pem' } } }),
    ).toThrow(/both clientCertFile and clientKeyFile/);
    expect(() =>
      parseConfig({ ...base, hosts: [{ ...base.hosts[0], metrics: { bindAddress: '0.0.0.0' } }] }),
    ).toThrow(/hosts\[0\]\.metrics\.bindAddress: must be ADDRESS:PORT/);
  });
});

describe('log lines', () => {
  it('are one JSON object per line with time, level, message and metadata', () => {
    const line = formatLogEntry(
      {
        level: 'WARN',
        message: 'step failed',
        timestampNanos: 1_795_863_885_725_000_000n,
        meta: {
          workflowId: 'migrate-runc-node-a-web',
          attempt: 2,
          big: 5n,
          err: new Error('boom'),
          taskToken: 'c2VjcmV0',
        },
      },
      'json',
      { host: 'node-a' },
    );
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      ts: '2026-11-28T11:04:45.725Z',
      level: 'WARN',
      msg: 'step failed',
      host: 'node-a',
      workflowId: 'migrate-runc-node-a-web',
      attempt: 2,
      big: '5',
      err: { type: 'Error', message: 'boom' },
    });
  });
});
