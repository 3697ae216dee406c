import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { analyseContinuity, parseStatefulOutput } from '../../src/domain/output-analysis.js';
import { createRuntime } from '../../src/runtimes/index.js';
import { HostPaths } from '../../src/host/host-paths.js';
import { FerryClient } from '../../src/client/ferry-client.js';
import { E2E, ferry, readOutput, sleep, spawnStateful, stateDir } from './env.js';

const victim = createRuntime('process', { host: 'node-a', paths: new HostPaths(stateDir('node-a')) });
const NAME = 'e2e-victim';

/** Every refused request leaves the workload running on the source, its state intact. */
async function expectUntouched(): Promise<void> {
  const before = parseStatefulOutput(await readOutput('node-a', 'process', NAME)).length;
  await sleep(300);
  const lines = parseStatefulOutput(await readOutput('node-a', 'process', NAME));
  expect(lines.length).toBeGreaterThan(before);
  expect(analyseContinuity(lines)).toMatchObject({ restarts: 0, counterBreaks: 0, distinctChecksums: 1 });
  expect((await victim.inspect(NAME))?.running).toBe(true);
}

describe('bad input is refused clearly and the source is untouched', () => {
  beforeAll(async () => {
    await spawnStateful('node-a', 'process', NAME, { mib: 8, intervalMs: 20, lines: 5 });
  });
  afterAll(async () => {
    await victim.stop(NAME);
    await victim.removeFiles(NAME);
  });

  const migrate = (name: string, runtime: string, from: string, to: string) =>
    ferry(['migrate', name, '--runtime', runtime, '--from', from, '--to', to]);

  it('unknown workload: refused in preflight with the workloads the host has (exit 2)', async () => {
    const r = await migrate('nosuch', 'process', 'node-a', 'node-b');
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toContain('refused');
    expect(r.stdout).toContain(
      `WorkloadNotFound: no process workload "nosuch" on host node-a (it has: ${NAME})`,
    );
    await expectUntouched();
  });

  it('a wrong --from: says where it runs, and no advice that would delete the only copy', async () => {
    const elsewhere = createRuntime('process', { host: 'node-b', paths: new HostPaths(stateDir('node-b')) });
    const name = 'e2e-elsewhere';
    await spawnStateful('node-b', 'process', name, { mib: 4, intervalMs: 20, lines: 3 });
    try {
      const pid = (await elsewhere.inspect(name))?.pid;
      const r = await migrate(name, 'process', 'node-a', 'node-b');
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toContain('refused');
      expect(r.stdout).toContain(`process/${name} does not run on node-a but runs on node-b`);
      expect(r.stdout).toContain('--from node-b');
      expect(r.stdout).not.toContain('remove it there');
      const after = await elsewhere.inspect(name);
      expect(after).toMatchObject({ running: true, pid });
    } finally {
      await elsewhere.stop(name);
      await elsewhere.removeFiles(name);
    }
  });

  it('unknown host', async () => {
    const r = await migrate(NAME, 'process', 'node-a', 'node-z');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      'unknown destination host "node-z": the configuration has node-a, node-b, node-c, node-d',
    );
    await expectUntouched();
  });

  it('same source and destination', async () => {
    const r = await migrate(NAME, 'process', 'node-a', 'node-a');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('source and destination are both "node-a"');
    await expectUntouched();
  });

  it('unknown runtime', async () => {
    const r = await migrate(NAME, 'lxc', 'node-a', 'node-b');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown runtime "lxc": use one of runc, process');
    await expectUntouched();
  });

  it.each(['../e2e-victim', 'a/b', 'e2e victim', 'x;rm -rf /', '$(reboot)', 'a`id`'])(
    'unsafe name %j',
    async (name) => {
      const r = await migrate(name, 'process', 'node-a', 'node-b');
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/ferry: workload name .* Use 1-63 characters/);
      await expectUntouched();
    },
  );

  it('the workflow itself refuses bad input with a non-retryable InvalidInput', async () => {
    const connection = await Connection.connect({ address: `127.0.0.1:${E2E.temporalPort}` });
    try {
      const client = new Client({ connection });
      const run = client.workflow.execute('migrate', {
        taskQueue: 'ferry',
        workflowId: `e2e-bad-input-${Date.now()}`,
        args: [{ workload: '../etc', runtime: 'runc', source: 'node-a', destination: 'node-a' }],
      });
      const err = await run.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect(cause.type).toBe('InvalidInput');
      expect(cause.nonRetryable).toBe(true);
      expect(cause.message).toContain('may not be paths');
      expect(cause.message).toContain('source and destination are both "node-a"');
    } finally {
      await connection.close();
    }
  });

  it('a second migration of the same workload is refused while the first runs', async () => {
    const client = await FerryClient.connect({ address: `127.0.0.1:${E2E.temporalPort}` });
    try {
      const first = await client.startMigration({
        workload: NAME,
        runtime: 'process',
        source: 'node-a',
        destination: 'node-b',
        verifyWindowMs: 3_000,
      });
      const second = await migrate(NAME, 'process', 'node-a', 'node-b');
      expect(second.exitCode).toBe(2);
      expect(second.stderr).toContain(
        `a migration of process/${NAME} from node-a is already running (workflow migrate-process-node-a-${NAME})`,
      );
      expect((await first.result()).outcome).toBe('migrated');
      // Move it back so the other tests find it on node-a.
      const back = await migrate(NAME, 'process', 'node-b', 'node-a');
      expect(back.exitCode).toBe(0);
      await expectUntouched();
    } finally {
      await client.close();
    }
  });
});

describe('worker config errors name the field', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-e2e-config-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const base = {
    temporal: { address: `127.0.0.1:${E2E.temporalPort}` },
    transfer: { identityFile: '/nonexistent/id', knownHostsFile: '/nonexistent/known_hosts' },
    hosts: [{ name: 'node-x', ssh: { address: '127.0.9.99' }, stateDir: '/tmp/ferry-node-x' }],
  };

  it.each([
    [
      'a missing field',
      (c: typeof base) => delete (c.hosts[0] as Partial<(typeof base.hosts)[0]>).stateDir,
      'hosts[0].stateDir',
    ],
    [
      'a wrong type',
      (c: typeof base) => ((c.hosts[0]!.ssh as Record<string, unknown>).port = 'ssh'),
      'hosts[0].ssh.port',
    ],
    ['a misspelt field', (c: typeof base) => ((c as Record<string, unknown>).tranfser = {}), 'tranfser'],
  ])('%s', async (_what, mutate, field) => {
    const config = structuredClone(base);
    mutate(config);
    const file = path.join(dir, 'ferry.json.yaml');
    await writeFile(file, JSON.stringify(config));
    const r = await ferry(['worker', '--host', 'node-x', '--config', file], 30_000);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`config file ${file} is invalid`);
    expect(r.stderr).toContain(field);
  });

  it('an unknown --host', async () => {
    const file = path.join(dir, 'ok.yaml');
    await writeFile(file, JSON.stringify(base));
    const r = await ferry(['worker', '--host', 'node-q', '--config', file], 30_000);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('host "node-q" is not in');
  });
});
