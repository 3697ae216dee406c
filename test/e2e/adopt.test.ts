// Adoption: a process tree that ferry did not start (here: started by hand with setsid, as a
// user would) is migrated by pid, keeps its state and pid, and is a ferry workload afterwards.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MigrationResult } from '../../src/domain/types.js';
import { processStartTime } from '../../src/host/procfs.js';
import { HostPaths } from '../../src/host/host-paths.js';
import { E2E, ferry, runtimeOn, sleep, spawnStateful, stateDir } from './env.js';

/**
 * The workload: like a daemon it closes what it inherited and sends its stdout and stderr to a
 * log file it opens itself (append). Each line: counter, a hash chained over every earlier line
 * (its state: any restart or lost memory breaks the chain), its pid.
 */
const PROGRAM = `
import hashlib, os, sys, time
os.closerange(3, 1 << 16)
log = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
if sys.argv[2:] != ['keep-stdout']:
    os.dup2(log, 1)
    os.dup2(log, 2)
ballast = bytearray(os.urandom(8 << 20))
h = hashlib.sha256(b'ferry').hexdigest()
n = 0
while True:
    n += 1
    h = hashlib.sha256(f'{h}{n}'.encode()).hexdigest()
    os.write(1, f'{n} {h} {os.getpid()}\\n'.encode())
    time.sleep(0.02)
`;
const PYTHON = '/usr/bin/python3';

interface Line {
  n: number;
  hash: string;
  pid: number;
}
const parse = (text: string): Line[] =>
  text
    .split('\n')
    .map((l) => /^(\d+) ([0-9a-f]{64}) (\d+)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ n: Number(m[1]), hash: m[2]!, pid: Number(m[3]) }));

/** Lines that do not follow from the one before (counter +1, hash chained): 0 when the state never broke. */
function chainBreaks(lines: Line[]): number {
  let prev = createHash('sha256').update('ferry').digest('hex');
  let breaks = 0;
  lines.forEach((l, i) => {
    const want = createHash('sha256').update(`${prev}${l.n}`).digest('hex');
    if (l.n !== i + 1 || l.hash !== want) breaks++;
    prev = l.hash;
  });
  return breaks;
}

const started: { pid: number; startTime?: number }[] = [];
let dir: string;

/** Starts argv by hand (not through ferry) and returns the pid of the program in it. */
async function startByHand(argv: string[], opts: { stdout?: 'pipe'; inner?: boolean } = {}): Promise<number> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', opts.stdout ?? 'ignore', 'ignore'] });
  child.on('error', () => undefined);
  child.unref();
  let pid = child.pid!;
  started.push({ pid, startTime: await processStartTime(pid) });
  if (opts.inner) pid = await childOf(pid); // the program runs below a wrapper (sh, script, unshare)
  started.push({ pid, startTime: await processStartTime(pid) });
  return pid;
}

async function childOf(pid: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => ''))
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    // `script` and `unshare --fork` may exec a shell or the program itself below them.
    for (const k of kids) {
      const cmd = await readFile(`/proc/${k}/cmdline`, 'utf8').catch(() => '');
      if (cmd.startsWith(PYTHON)) return k;
      const deeper = (await readFile(`/proc/${k}/task/${k}/children`, 'utf8').catch(() => '')).trim();
      if (deeper) return childOf(k);
    }
    await sleep(50);
  }
  throw new Error(`no program below pid ${pid}`);
}

async function waitForLines(file: string, n: number): Promise<Line[]> {
  for (let i = 0; i < 300; i++) {
    const lines = parse(await readFile(file, 'utf8').catch(() => ''));
    if (lines.length >= n) return lines;
    await sleep(50);
  }
  throw new Error(`${file} has fewer than ${n} lines`);
}

const alive = async (pid: number, startTime?: number) => {
  const now = await processStartTime(pid);
  return now !== undefined && (startTime === undefined || now === startTime);
};
const folder = (host: string, name: string) => new HostPaths(stateDir(host)).workloadDir('process', name);

async function migrate(
  args: string[],
): Promise<{ exitCode: number; result?: MigrationResult; stderr: string }> {
  const r = await ferry(['migrate', ...args, '--json']);
  let result: MigrationResult | undefined;
  try {
    result = JSON.parse(r.stdout) as MigrationResult;
  } catch {
    result = undefined;
  }
  return { exitCode: r.exitCode, result, stderr: r.stderr };
}

const NAMES = ['adopt-calc', 'adopt-job', 'adopt-refused', 'adopt-spawned'];
const prog = () => path.join(dir, 'prog.py');

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-adopt-'));
  await writeFile(prog(), PROGRAM);
});

afterAll(async () => {
  // Every process this file started, by pid (and start time: never a reused pid), then what
  // ferry keeps about them on every host.
  for (const p of started)
    if (await alive(p.pid, p.startTime))
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
  for (const host of E2E.hosts)
    for (const name of NAMES) {
      await runtimeOn(host, 'process').stop(name);
      await runtimeOn(host, 'process').removeFiles(name);
    }
  await rm(dir, { recursive: true, force: true });
});

describe('adopting a process tree that ferry did not start', () => {
  it('moves a session leader started by hand to node-b by pid: same pid, state continues, gone from node-a, and back by name', async () => {
    const log = path.join(dir, 'calc.log');
    const pid = await startByHand(['setsid', PYTHON, prog(), log]);
    const before = await waitForLines(log, 20);
    expect(before[0]!.pid).toBe(pid);

    const run = await migrate([
      'adopt-calc',
      '--runtime',
      'process',
      '--pid',
      String(pid),
      '--from',
      'node-a',
      '--to',
      'node-b',
    ]);
    if (run.exitCode !== 0)
      throw new Error(`migrate failed (${run.exitCode}):\n${JSON.stringify(run.result)}\n${run.stderr}`);
    expect(run.result!.outcome).toBe('migrated');
    expect(run.result!.phases.map((p) => p.phase)).toEqual([
      'preflight',
      'presync',
      'checkpoint',
      'transfer',
      'restore',
      'verify',
      'cleanup',
    ]);

    // Restored with the pid it had (CRIU restores a tree with its PIDs), as a new process.
    const onB = await runtimeOn('node-b', 'process').inspect('adopt-calc');
    expect(onB).toMatchObject({ running: true, pid });
    const grown = (await readFile(log, 'utf8')).length;
    await sleep(500);
    const after = parse(await readFile(log, 'utf8'));
    expect((await readFile(log, 'utf8')).length).toBeGreaterThan(grown);
    expect(after.length).toBeGreaterThan(before.length);
    expect(chainBreaks(after)).toBe(0);
    expect(new Set(after.map((l) => l.pid))).toEqual(new Set([pid]));

    // Gone from node-a: no running copy, no folder; node-b has its record and shows its log.
    expect(await runtimeOn('node-a', 'process').inspect('adopt-calc')).toBeUndefined();
    expect(existsSync(folder('node-a', 'adopt-calc'))).toBe(false);
    const meta = JSON.parse(
      await readFile(path.join(folder('node-b', 'adopt-calc'), 'workload.json'), 'utf8'),
    );
    expect(meta).toMatchObject({ host: 'node-b', pid, adopted: { how: `pid ${pid}`, host: 'node-a' } });
    const logs = await ferry(['logs', 'adopt-calc', '--host', 'node-b']);
    expect(logs.exitCode).toBe(0);
    expect(logs.stdout.startsWith(`1 ${before[0]!.hash} ${pid}`)).toBe(true);

    // A ferry workload now: it moves back by its name alone.
    const back = await migrate(['adopt-calc', '--runtime', 'process', '--from', 'node-b', '--to', 'node-a']);
    expect(back.exitCode).toBe(0);
    expect(await runtimeOn('node-a', 'process').inspect('adopt-calc')).toMatchObject({ running: true, pid });
    expect(await runtimeOn('node-b', 'process').inspect('adopt-calc')).toBeUndefined();
    const countBack = parse(await readFile(log, 'utf8')).length;
    await sleep(300);
    const final = parse(await readFile(log, 'utf8'));
    expect(final.length).toBeGreaterThan(countBack);
    expect(chainBreaks(final)).toBe(0);
  });

  it('moves a process that does not lead its session (a child of a shell): dumped with --shell-job', async () => {
    const log = path.join(dir, 'job.log');
    const pid = await startByHand(['setsid', 'sh', '-c', `${PYTHON} ${prog()} ${log} & wait`], {
      inner: true,
    });
    await waitForLines(log, 10);
    const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    expect(Number(stat[3])).not.toBe(pid); // its session is the shell's

    const run = await migrate([
      'adopt-job',
      '--runtime',
      'process',
      '--pid',
      String(pid),
      '--from',
      'node-a',
      '--to',
      'node-b',
    ]);
    if (run.exitCode !== 0)
      throw new Error(`migrate failed (${run.exitCode}):\n${JSON.stringify(run.result)}\n${run.stderr}`);
    expect(await runtimeOn('node-b', 'process').inspect('adopt-job')).toMatchObject({ running: true, pid });
    const count = parse(await readFile(log, 'utf8')).length;
    await sleep(300);
    const lines = parse(await readFile(log, 'utf8'));
    expect(lines.length).toBeGreaterThan(count);
    expect(chainBreaks(lines)).toBe(0);
    await runtimeOn('node-b', 'process').stop('adopt-job');
    expect(await alive(pid)).toBe(false);
  });

  describe('refusals leave the process running untouched', () => {
    /** Refused before anything was frozen (exit 2, outcome refused): same process, no record. */
    async function expectRefused(
      name: string,
      args: string[],
      pid: number | undefined,
      type: string,
      says: string[],
    ): Promise<void> {
      const startTime = pid === undefined ? undefined : await processStartTime(pid);
      const existed = existsSync(folder('node-a', name));
      const r = await migrate([name, ...args, '--from', 'node-a', '--to', 'node-b']);
      expect(r.exitCode).toBe(2);
      expect(r.result?.outcome).toBe('refused');
      expect(r.result?.cause?.type).toBe(type);
      for (const s of says) expect(r.result?.cause?.message).toContain(s);
      if (pid !== undefined) expect(await alive(pid, startTime)).toBe(true);
      expect(existsSync(folder('node-a', name))).toBe(existed);
      expect(existsSync(folder('node-b', name))).toBe(false);
    }
    const byPid = (pid: number) => ['--runtime', 'process', '--pid', String(pid)];

    it('a process on a terminal (its stdin is a pty)', async () => {
      // script(1) starts the program on a pty of its own: its controlling terminal and stdin.
      const pid = await startByHand(
        ['setsid', 'script', '-qfc', `${PYTHON} ${prog()} ${path.join(dir, 'tty.log')}`, '/dev/null'],
        {
          inner: true,
        },
      );
      await waitForLines(path.join(dir, 'tty.log'), 3);
      await expectRefused('adopt-refused', byPid(pid), pid, 'NotMovable', [
        'is the terminal /dev/pts/',
        'setsid',
      ]);
    });

    it('a process whose stdout is a pipe to a process outside its tree (app | cat)', async () => {
      const log = path.join(dir, 'pipe.log');
      const pid = await startByHand(
        ['setsid', 'sh', '-c', `${PYTHON} ${prog()} ${log} keep-stdout | cat >/dev/null`],
        {
          inner: true,
        },
      );
      await sleep(300);
      await expectRefused('adopt-refused', byPid(pid), pid, 'NotMovable', [
        `fd 1 of pid ${pid} (python3) is a pipe shared with pid`,
        '(cat)',
      ]);
    });

    it("a process whose stdout is a socket to its starter (Node's stdio is a socketpair)", async () => {
      const pid = await startByHand(['setsid', PYTHON, prog(), path.join(dir, 'socket.log'), 'keep-stdout'], {
        stdout: 'pipe',
      });
      await sleep(300);
      await expectRefused('adopt-refused', byPid(pid), pid, 'NotMovable', [
        `fd 1 of pid ${pid} (python3) is a unix socket connected to pid ${process.pid} (node) outside its tree`,
      ]);
    });

    it('a process in its own namespaces (a container), naming the runtimes that move containers', async () => {
      const pid = await startByHand(
        ['unshare', '--pid', '--fork', '--mount-proc', PYTHON, prog(), path.join(dir, 'ns.log')],
        {
          inner: true,
        },
      );
      await waitForLines(path.join(dir, 'ns.log'), 3);
      await expectRefused('adopt-refused', byPid(pid), pid, 'NotMovable', [
        'runs in its own pid, mnt namespaces',
        '--runtime runc, podman or docker',
      ]);
    });

    it('a pid that does not exist', async () => {
      let pid = 32_000;
      while (existsSync(`/proc/${pid}`)) pid--;
      await expectRefused('adopt-refused', byPid(pid), undefined, 'WorkloadNotFound', [
        `no process with pid ${pid} runs on node-a`,
      ]);
    });

    it('--pid with runtime runc, a name taken by another workload, a pid that already is one', async () => {
      const log = path.join(dir, 'bystander.log');
      const pid = await startByHand(['setsid', PYTHON, prog(), log]);
      await waitForLines(log, 3);
      await expectRefused('adopt-refused', ['--runtime', 'runc', '--pid', String(pid)], pid, 'InvalidInput', [
        'the runc runtime cannot adopt a running process',
        '--runtime process',
      ]);
      await spawnStateful('node-a', 'process', 'adopt-spawned', { mib: 1, lines: 2 });
      const spawned = (await runtimeOn('node-a', 'process').inspect('adopt-spawned'))!.pid!;
      await expectRefused('adopt-spawned', byPid(pid), pid, 'InvalidInput', [
        `a process workload "adopt-spawned" already exists on node-a for pid ${spawned}`,
      ]);
      await expectRefused('adopt-refused', byPid(spawned), spawned, 'InvalidInput', [
        `pid ${spawned} is already ferry workload adopt-spawned`,
        'migrate it by that name',
      ]);
      // Still the same, and never adopted.
      expect(parse(await readFile(log, 'utf8')).length).toBeGreaterThan(3);
      expect(await runtimeOn('node-a', 'process').inspect('adopt-refused')).toBeUndefined();
    });
  });
});
