// What CRIU cannot checkpoint is refused once, before any freeze where ferry can see it, and
// after at most one freeze where only CRIU can; the named CRIU log exists afterwards. And with
// --tcp-established a workload's TCP connection survives the move.
//
// The connection: one python process holds both ends (a client and the socket its listener
// accepted, on 127.0.0.1), so the whole connection is part of the workload and moves with it,
// as it would between real hosts. A peer outside the workload on "the destination's loopback"
// would prove nothing here: the simulated hosts share one kernel, hence one loopback.
import { access, rm } from 'node:fs/promises';
import type { RuntimeName } from '../../src/domain/names.js';
import type { MigrationResult } from '../../src/domain/types.js';
import { HostPaths } from '../../src/host/host-paths.js';
import { ferry, readOutput, runtimeOn, sleep, stateDir, waitForLines } from './env.js';

const PYTHON = '/usr/bin/python3';

/** Pings itself over one TCP connection every 20 ms: "<ms> ping <n> <echo of n>". */
const PING_SELF = `
import socket, time
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
c = socket.create_connection(srv.getsockname()); a, _ = srv.accept()
print("conn %s:%d %s:%d" % (c.getsockname() + c.getpeername()), flush=True)
n = 0
while True:
    n += 1
    c.sendall(b"%d\\n" % n)
    a.sendall(a.recv(64))
    print("%d ping %d %s" % (time.time() * 1000, n, c.recv(64).decode().strip()), flush=True)
    time.sleep(0.02)
`;

/** Holds an AF_VSOCK socket, which CRIU 4.2 cannot dump and /proc does not tell apart. */
const VSOCK = `
import socket, time
s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
n = 0
while True:
    n += 1
    print("%d tick %d" % (time.time() * 1000, n), flush=True)
    time.sleep(0.02)
`;

const TICK = `
import time
n = 0
while True:
    n += 1
    print("%d tick %d" % (time.time() * 1000, n), flush=True)
    time.sleep(0.02)
`;

/** busybox in a runc container: an nc connection on the container's own loopback, and ticks. */
const NC_INSIDE =
  'nc -l -p 5000 -e cat & sleep 0.3; (while true; do echo x; sleep 0.2; done) | nc 127.0.0.1 5000 > /dev/null & while true; do echo tick; sleep 0.05; done';

const migrations: string[] = [];
const names: [RuntimeName, string][] = [
  ['process', 'e2e-tcp-refused'],
  ['process', 'e2e-vsock'],
  ['process', 'e2e-other-user'],
  ['process', 'e2e-tcp-moves'],
  ['runc', 'e2e-nc-inside'],
];

async function spawn(name: string, argv: string[], runtime: RuntimeName = 'process'): Promise<number> {
  const r = await ferry([
    'dev',
    'spawn',
    '--host',
    'node-a',
    '--runtime',
    runtime,
    '--name',
    name,
    '--',
    ...argv,
  ]);
  if (r.exitCode !== 0) throw new Error(`spawn ${name} failed (${r.exitCode}):\n${r.stderr}`);
  await waitForLines('node-a', runtime, name, 5);
  return (await runtimeOn('node-a', runtime).inspect(name))!.pid!;
}

async function migrate(
  name: string,
  extra: string[] = [],
  runtime: RuntimeName = 'process',
): Promise<{ exitCode: number; result: MigrationResult }> {
  const r = await ferry([
    'migrate',
    name,
    '--runtime',
    runtime,
    '--from',
    'node-a',
    '--to',
    'node-b',
    '--json',
    ...extra,
  ]);
  let result: MigrationResult;
  try {
    result = JSON.parse(r.stdout) as MigrationResult;
  } catch {
    throw new Error(`migrate ${name}: no JSON result (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
  }
  migrations.push(result.migrationId);
  return { exitCode: r.exitCode, result };
}

/** Still on node-a with the same pid, printing on; nothing on node-b. */
async function keepsRunningOnSource(
  name: string,
  pid: number,
  runtime: RuntimeName = 'process',
): Promise<void> {
  expect((await runtimeOn('node-a', runtime).inspect(name))?.pid).toBe(pid);
  const before = (await readOutput('node-a', runtime, name)).split('\n').length;
  await sleep(300);
  expect((await readOutput('node-a', runtime, name)).split('\n').length).toBeGreaterThan(before);
  expect((await runtimeOn('node-b', runtime).inspect(name))?.running ?? false).toBe(false);
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

describe('workloads CRIU cannot checkpoint as they are', () => {
  afterAll(async () => {
    for (const host of ['node-a', 'node-b']) {
      for (const [runtime, name] of names) {
        await runtimeOn(host, runtime).stop(name, { anyOwner: true });
        await runtimeOn(host, runtime).removeFiles(name);
      }
      // The kept CRIU logs and freeze records of these migrations.
      for (const id of migrations)
        await rm(new HostPaths(stateDir(host)).logsDir(id), { recursive: true, force: true });
    }
  });

  it('a connected TCP socket without --tcp-established: refused in preflight, never frozen', async () => {
    const pid = await spawn('e2e-tcp-refused', [PYTHON, '-c', PING_SELF]);
    const { exitCode, result } = await migrate('e2e-tcp-refused');
    expect(exitCode).toBe(2);
    expect(result.outcome).toBe('refused');
    expect(result.cause?.type).toBe('NotCheckpointable');
    expect(result.cause?.message).toMatch(
      /^process\/e2e-tcp-refused cannot be checkpointed on node-a: it has 2 connected TCP sockets \(127\.0\.0\.1:\d+ ↔ 127\.0\.0\.1:\d+ \(ESTABLISHED, pid \d+\)/,
    );
    expect(result.cause?.message).toContain('Fix: migrate with --tcp-established');
    expect(result.cause?.message).toContain('Found before any freeze');
    expect(result.phases.map((p) => p.phase)).toEqual(['preflight']);
    expect(result).toMatchObject({ freezes: 0, frozenMsTotal: 0 });
    await keepsRunningOnSource('e2e-tcp-refused', pid);
  });

  it('a runc container with a connection on its own loopback: refused in preflight too', async () => {
    const pid = await spawn('e2e-nc-inside', ['sh', '-c', NC_INSIDE], 'runc');
    const { result } = await migrate('e2e-nc-inside', [], 'runc');
    expect(result.outcome).toBe('refused');
    expect(result.cause?.type).toBe('NotCheckpointable');
    expect(result.cause?.message).toContain('connected TCP socket');
    expect(result.cause?.message).toContain(':5000 (ESTABLISHED');
    expect(result.freezes).toBe(0);
    await keepsRunningOnSource('e2e-nc-inside', pid, 'runc');
  });

  it("another user's process (no CAP_SYS_RESOURCE here): refused in preflight, never frozen", async () => {
    const pid = await spawn('e2e-other-user', [
      'setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      PYTHON,
      '-c',
      TICK,
    ]);
    const { result } = await migrate('e2e-other-user');
    expect(result.outcome).toBe('refused');
    expect(result.cause?.type).toBe('NotCheckpointable');
    expect(result.cause?.message).toContain('runs as another user than the ferry worker');
    expect(result.cause?.message).toContain('CAP_SYS_RESOURCE');
    expect(result.freezes).toBe(0);
    await keepsRunningOnSource('e2e-other-user', pid);
  });

  it('what only CRIU sees (an AF_VSOCK socket): one freeze, not retried, the named log exists', async () => {
    const pid = await spawn('e2e-vsock', [PYTHON, '-c', VSOCK]);
    const { exitCode, result } = await migrate('e2e-vsock');
    expect(exitCode).toBe(1);
    expect(result.outcome).toBe('failed-before-freeze');
    expect(result.cause?.type).toBe('NotCheckpointable');
    const message = result.cause!.message;
    expect(message).toContain('socket of address family 40 (AF_VSOCK)');
    expect(message).toContain(
      'CRIU said: "Error (criu/sockets.c:767): sockets: BUG! Unknown socket collected (family 40)"',
    );
    expect(message).toContain('Not retried');
    // One attempt, one freeze, counted by the source.
    expect(result.freezes).toBe(1);
    expect(result.freezeAttempts).toEqual([
      expect.objectContaining({
        attempt: 'checkpoint-1',
        step: 'checkpoint',
        froze: true,
        outcome: 'failed',
        measuredBy: 'criu-log',
      }),
    ]);
    expect(result.frozenMsTotal).toBe(result.freezeAttempts![0]!.frozenMs);
    expect(result.phases.find((p) => p.phase === 'checkpoint')!.durationMs).toBeLessThan(10_000);
    // The log the error names is still there (the migration folder is gone), private.
    const log = /\(CRIU log: (\S+) on node-a\)/.exec(message)?.[1];
    expect(log).toBe(new HostPaths(stateDir('node-a')).logsDir(result.migrationId) + '/checkpoint-1.log');
    expect(await exists(log!)).toBe(true);
    expect(await exists(new HostPaths(stateDir('node-a')).migrationDir(result.migrationId))).toBe(false);
    expect(result.criuLogs).toEqual([
      expect.objectContaining({
        host: 'node-a',
        path: log,
        excerpt: expect.arrayContaining([expect.stringContaining('Unknown socket collected (family 40)')]),
      }),
    ]);
    await keepsRunningOnSource('e2e-vsock', pid);
  });

  it('with --tcp-established the connection moves with the workload and keeps working', async () => {
    await spawn('e2e-tcp-moves', [PYTHON, '-c', PING_SELF]);
    const before = await readOutput('node-a', 'process', 'e2e-tcp-moves');
    const conn = /^conn (\S+) (\S+)$/m.exec(before)?.[0];
    expect(conn).toBeDefined();
    const { exitCode, result } = await migrate('e2e-tcp-moves', ['--tcp-established']);
    if (exitCode !== 0) throw new Error(`migrate failed: ${JSON.stringify(result.cause)}`);
    expect(result.outcome).toBe('migrated');
    expect(result.freezes).toBe(1);
    expect(result.freezeAttempts?.[0]).toMatchObject({ outcome: 'dumped', measuredBy: 'criu-stats' });
    // Pings go on over the same connection on node-b: every echo matches, the counter never
    // restarts or skips, and the one connection line is the source's.
    const countBefore = pings(before).length;
    await sleep(1_000);
    const after = await readOutput('node-b', 'process', 'e2e-tcp-moves');
    const lines = pings(after);
    expect(lines.length).toBeGreaterThan(countBefore + 10);
    lines.forEach((l, i) => expect(l).toEqual({ n: i + 1, echo: i + 1 }));
    expect(after.match(/^conn .*$/gm)).toEqual([conn]);
    expect((await runtimeOn('node-b', 'process').inspect('e2e-tcp-moves'))?.running).toBe(true);
  });
});

function pings(output: string): { n: number; echo: number }[] {
  return [...output.matchAll(/^\d+ ping (\d+) (\d*)$/gm)].map((m) => ({
    n: Number(m[1]),
    echo: Number(m[2]),
  }));
}
