import { execa, type ResultPromise } from 'execa';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  checkpointBlockers,
  hexEndpoint,
  lockHolders,
  mayReadRlimits,
  parseProcNetTcp,
  parseStatus,
} from '../../src/host/checkpoint-blockers.js';

describe('reading /proc for what CRIU would refuse', () => {
  it('parses /proc/net/tcp and tcp6 rows', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:97F9 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 64057 2 00000000f09f8755 100 0 0 10 0',
      '   1: 0100007F:B4C6 0100007F:97F9 01 00000000:00000000 00:00000000 00000000     0        0 73016 1 0000000000000000 20 4 30 10 -1',
    ].join('\n');
    expect(parseProcNetTcp(tcp)).toEqual([
      { local: '127.0.0.1:38905', remote: '0.0.0.0:0', state: '0A', inode: 64057 },
      { local: '127.0.0.1:46278', remote: '127.0.0.1:38905', state: '01', inode: 73016 },
    ]);
    expect(hexEndpoint('00000000000000000000000001000000:1F90')).toBe('[::1]:8080');
    expect(hexEndpoint('0000000000000000FFFF00000100007F:0050')).toBe('[::ffff:127.0.0.1]:80');
  });

  it('finds the holders of flock and POSIX locks, not OFD locks or blocked waiters', () => {
    const locks = [
      '1: OFDLCK ADVISORY  READ -1 00:06:3 0 EOF',
      '2: FLOCK  ADVISORY  WRITE 8948 fe:00:5619922 0 EOF',
      '3: POSIX  ADVISORY  WRITE 77 08:01:1234 0 EOF',
      '3: -> POSIX  ADVISORY  WRITE 78 08:01:1234 0 EOF',
    ].join('\n');
    expect(lockHolders(locks)).toEqual([8948, 77]);
  });

  it("applies the kernel's rule for reading another process's rlimits", () => {
    const st = parseStatus(
      'Name:\tpostgres\nTracerPid:\t0\nUid:\t105\t105\t105\t105\nGid:\t110\t110\t110\t110\n',
    );
    expect(st).toEqual({ uids: [105, 105, 105], gids: [110, 110, 110], tracerPid: 0 });
    const root = { uid: 0, gid: 0 };
    expect(mayReadRlimits({ ...root, capEff: 0x1fffeffffffn }, st)).toBe(false); // no bit 24
    expect(mayReadRlimits({ ...root, capEff: 0x1ffffffffffn }, st)).toBe(true);
    expect(mayReadRlimits({ ...root, capEff: 0n }, { uids: [0, 0, 0], gids: [0, 0, 0], tracerPid: 0 })).toBe(
      true,
    );
    // A setgid program: its saved gid differs.
    expect(mayReadRlimits({ ...root, capEff: 0n }, { uids: [0, 0, 0], gids: [0, 5, 5], tracerPid: 0 })).toBe(
      false,
    );
  });
});

describe('checkpointBlockers on live processes (nothing frozen)', () => {
  const started: ResultPromise[] = [];
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const p of started.splice(0)) {
      p.kill('SIGKILL');
      await p.catch(() => undefined);
    }
    for (const c of cleanup.splice(0)) await c();
  });

  /** python3 -c code (under `wrapper`, e.g. setpriv), once it printed "ready". */
  async function python(code: string, wrapper: string[] = []): Promise<number> {
    const [file, ...args] = [...wrapper, '/usr/bin/python3', '-c', code];
    const p = execa(file!, args, { reject: false, stdin: 'ignore' });
    started.push(p);
    await new Promise<void>((resolve, reject) => {
      p.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      p.once('exit', () => reject(new Error('the test program ended early')));
    });
    return p.pid!;
  }

  const SELF_CONNECTED = [
    'import socket, time',
    'srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)',
    'c = socket.create_connection(srv.getsockname()); a, _ = srv.accept()',
    'print("ready", flush=True); time.sleep(60)',
  ].join('\n');

  it('refuses connected TCP sockets unless the request carries them', async () => {
    const pid = await python(SELF_CONNECTED);
    const found = await checkpointBlockers(pid, {});
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ rule: 'tcp-established', option: 'tcpEstablished' });
    // Both ends are in the workload: two connected sockets, the listener is fine.
    expect(found[0]!.problem).toMatch(
      /^it has 2 connected TCP sockets \(127\.0\.0\.1:\d+ ↔ 127\.0\.0\.1:\d+ \(ESTABLISHED, pid \d+\)/,
    );
    expect(await checkpointBlockers(pid, { tcpEstablished: true })).toEqual([]);
  });

  it('a listening socket alone is no problem', async () => {
    const pid = await python(
      'import socket, time\ns = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)\nprint("ready", flush=True); time.sleep(60)',
    );
    expect(await checkpointBlockers(pid, {})).toEqual([]);
  });

  it('refuses file locks unless the request carries them', async () => {
    const file = path.join(os.tmpdir(), `ferry-lock-${process.pid}`);
    cleanup.push(() => rm(file, { force: true }));
    const pid = await python(
      `import fcntl, time\nf = open(${JSON.stringify(file)}, "w"); fcntl.flock(f, fcntl.LOCK_EX)\nprint("ready", flush=True); time.sleep(60)`,
    );
    expect((await checkpointBlockers(pid, {})).map((b) => b.rule)).toEqual(['file-locks']);
    expect(await checkpointBlockers(pid, { fileLocks: true })).toEqual([]);
  });

  it("refuses another user's process when this one lacks CAP_SYS_RESOURCE", async () => {
    const pid = await python('import time\nprint("ready", flush=True); time.sleep(60)', [
      'setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
    ]);
    const capEff = BigInt(
      `0x${/^CapEff:\s+([0-9a-f]+)/m.exec(await readFile('/proc/self/status', 'utf8'))![1]}`,
    );
    const hasSysResource = ((capEff >> 24n) & 1n) === 1n;
    const rules = (await checkpointBlockers(pid, {})).map((b) => b.rule);
    expect(rules).toEqual(hasSysResource ? [] : ['rlimit-permission']);
  });
});
