// Snapshots (docs/snapshots.md) with real CRIU, runc, podman and docker on the simulated hosts:
// revert to an older snapshot, clones side by side, a copy restored on another host, a
// corrupted snapshot refused with the workload untouched, retention of a schedule, the catalog
// against the disks. ferry-stateful prints "<ms> <counter> <checksum of its memory>" lines: its
// counter and checksum say which state it runs from.
import { cp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { RuntimeName } from '../../src/domain/names.js';
import type {
  CatalogCheck,
  SnapshotCreateResult,
  SnapshotRecord,
  SnapshotRestoreResult,
} from '../../src/domain/snapshots.js';
import {
  analyseContinuity,
  parseStatefulOutput,
  type StatefulLine,
} from '../../src/domain/output-analysis.js';
import { ferry, runtimeOn, sleep, spawnStateful, stateDir, verifyMemory, waitForLines } from './env.js';

const A = 'node-a';
const B = 'node-b';
const started: { host: string; runtime: RuntimeName; name: string }[] = [];

const output = (host: string, runtime: RuntimeName, name: string) => runtimeOn(host, runtime).output(name);
const lines = async (host: string, runtime: RuntimeName, name: string) =>
  parseStatefulOutput(await output(host, runtime, name));

async function json<T>(args: string[]): Promise<{ exitCode: number; result: T; stderr: string }> {
  const r = await ferry([...args, '--json']);
  let result: T;
  try {
    result = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(
      `ferry ${args.join(' ')} printed no JSON (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`,
    );
  }
  return { exitCode: r.exitCode, result, stderr: r.stderr };
}

async function snapshot(runtime: RuntimeName, name: string, host: string, extra: string[] = []) {
  const r = await json<SnapshotCreateResult>([
    'snapshot',
    'create',
    name,
    '--runtime',
    runtime,
    '--host',
    host,
    ...extra,
  ]);
  expect({ exit: r.exitCode, outcome: r.result.outcome, cause: r.result.cause }).toEqual({
    exit: 0,
    outcome: 'created',
    cause: undefined,
  });
  return r.result.snapshot!;
}

async function restore(id: string, host: string, extra: string[] = []) {
  return json<SnapshotRestoreResult>(['restore', id, '--host', host, ...extra]);
}

async function restored(id: string, host: string, extra: string[] = []): Promise<SnapshotRestoreResult> {
  const r = await restore(id, host, extra);
  expect({ exit: r.exitCode, outcome: r.result.outcome, cause: r.result.cause }).toEqual({
    exit: 0,
    outcome: 'restored',
    cause: undefined,
  });
  return r.result;
}

/** The state a snapshot holds: the last line of the output it kept (its workload folder). */
async function lastLineOf(snap: SnapshotRecord, host: string): Promise<StatefulLine> {
  const log = await readFile(
    path.join(stateDir(host), 'snapshots', snap.id, 'workload', 'output.log'),
    'utf8',
  );
  return parseStatefulOutput(log).at(-1)!;
}

/** Waits until the workload printed more lines than it had; returns them all. */
async function growing(host: string, runtime: RuntimeName, name: string, more = 5): Promise<StatefulLine[]> {
  const before = (await lines(host, runtime, name)).length;
  for (let i = 0; i < 100; i++) {
    const now = await lines(host, runtime, name);
    if (now.length >= before + more) return now;
    await sleep(100);
  }
  throw new Error(`${runtime}/${name} on ${host} stopped printing:\n${await output(host, runtime, name)}`);
}

async function catalog(): Promise<SnapshotRecord[]> {
  return (await json<SnapshotRecord[]>(['snapshot', 'ls'])).result;
}

afterAll(async () => {
  for (const w of started) {
    const rt = runtimeOn(w.host, w.runtime);
    await rt.stop(w.name, { anyOwner: true }).catch(() => undefined);
    await rt.removeFiles(w.name).catch(() => undefined);
  }
  await ferry(['schedule', 'delete', 'snapshot-process-node-a-snap-sched']);
  for (const s of await catalog().catch(() => [] as SnapshotRecord[])) await ferry(['snapshot', 'rm', s.id]);
});

describe('runc: three snapshots while it runs, revert to the second', () => {
  const name = 'snap-revert';
  it('runs on from the second snapshot’s state, not the third’s nor from zero; its state before is kept', async () => {
    started.push({ host: A, runtime: 'runc', name });
    await spawnStateful(A, 'runc', name, { mib: 16, intervalMs: 20, lines: 10 });
    const snaps: SnapshotRecord[] = [];
    for (let i = 0; i < 3; i++) {
      await growing(A, 'runc', name, 40);
      const s = await snapshot('runc', name, A);
      expect(s.leftRunning).toBe(true);
      expect(s.frozenMs).toBeGreaterThan(0);
      snaps.push(s);
    }
    // It kept running through all three (each froze it briefly).
    const before = await growing(A, 'runc', name, 10);
    expect(analyseContinuity(before).restarts).toBe(0);
    const second = await lastLineOf(snaps[1]!, A);
    const third = await lastLineOf(snaps[2]!, A);
    expect(third.counter).toBeGreaterThan(second.counter);

    const revertAt = Date.now();
    const r = await restored(snaps[1]!.id, A, ['--replace']);
    expect(r.keptSnapshot).toBeDefined();
    const after = await growing(A, 'runc', name, 10);
    // Its output is the second snapshot's, then what it printed since: the counter goes on from
    // the second snapshot's value, the memory checksum is the one it always had.
    // (Lines printed during the snapshot's own brief freeze may be missing from the kept log.)
    const resumed = after.find((l) => l.atMs >= revertAt)!;
    expect(resumed.counter).toBeGreaterThan(second.counter);
    expect(resumed.counter).toBeLessThanOrEqual(second.counter + 20);
    expect(resumed.counter).toBeLessThan(third.counter);
    expect(after.every((l, i) => i === 0 || l.counter > after[i - 1]!.counter)).toBe(true);
    expect(analyseContinuity(after)).toMatchObject({ restarts: 0, distinctChecksums: 1 });
    const mem = await verifyMemory(A, 'runc', name);
    expect(mem.recomputed).toBe(mem.running);
    // The state it had before the revert is a snapshot of its own, in the catalog.
    const kept = (await catalog()).find((s) => s.id === r.keptSnapshot);
    expect(kept).toMatchObject({ workload: name, runtime: 'runc', host: A, copies: [A] });
  });
});

describe('podman: three clones of one snapshot side by side', () => {
  const name = 'snap-clone';
  it('each clone runs from the snapshot’s state, next to the original', async () => {
    started.push({ host: A, runtime: 'podman', name });
    await spawnStateful(A, 'podman', name, { mib: 16, intervalMs: 20 });
    const s = await snapshot('podman', name, A);
    expect(s.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const at = parseStatefulOutput(await output(A, 'podman', name)).at(-1)!;
    const clones = ['snap-clone-1', 'snap-clone-2', 'snap-clone-3'];
    for (const c of clones) {
      started.push({ host: A, runtime: 'podman', name: c });
      await restored(s.id, A, ['--as', c]);
    }
    const original = await growing(A, 'podman', name);
    const checksum = original[0]!.checksum;
    const ids = new Set<string>();
    for (const c of clones) {
      const out = await growing(A, 'podman', c);
      // The same memory as the original, a counter that went on from the snapshot's.
      expect(new Set(out.map((l) => l.checksum))).toEqual(new Set([checksum]));
      expect(out.at(-1)!.counter).toBeGreaterThan(at.counter - 50);
      ids.add((await runtimeOn(A, 'podman').inspect(c))!.pid!.toString());
    }
    expect(ids.size).toBe(3);
    expect((await runtimeOn(A, 'podman').inspect(name))?.running).toBe(true);
  });
});

describe('a snapshot copied to another host and restored there', () => {
  const name = 'snap-copy';
  it('runc: copy, then restore on node-b with the same memory', async () => {
    started.push({ host: A, runtime: 'runc', name }, { host: B, runtime: 'runc', name });
    await spawnStateful(A, 'runc', name, { mib: 24, intervalMs: 20, lines: 20 });
    const s = await snapshot('runc', name, A);
    const copy = await json<{ outcome: string; from: string; to: string }>([
      'snapshot',
      'copy',
      s.id,
      '--to',
      B,
    ]);
    expect(copy.result).toMatchObject({ outcome: 'copied', from: A, to: B });
    const shown = (await json<SnapshotRecord>(['snapshot', 'show', s.id])).result;
    expect(shown.copies.sort()).toEqual([A, B]);
    // The copy is private: it holds process memory.
    expect((await stat(path.join(stateDir(B), 'snapshots', s.id))).mode & 0o077).toBe(0);
    await restored(s.id, B);
    const out = await growing(B, 'runc', name);
    expect(new Set(out.map((l) => l.checksum)).size).toBe(1);
    const mem = await verifyMemory(B, 'runc', name);
    expect(mem.recomputed).toBe(mem.running);
    // The original ran on untouched.
    expect((await runtimeOn(A, 'runc').inspect(name))?.running).toBe(true);
  });

  it('process: taken with --stop, restored on another host that lacked it (copied first)', async () => {
    const p = 'snap-proc';
    started.push({ host: A, runtime: 'process', name: p }, { host: B, runtime: 'process', name: p });
    await spawnStateful(A, 'process', p, { mib: 16, intervalMs: 20, lines: 20 });
    const s = await snapshot('process', p, A, ['--stop']);
    expect(s.leftRunning).toBe(false);
    expect((await runtimeOn(A, 'process').inspect(p))?.running).toBeFalsy();
    const last = await lastLineOf(s, A);
    const r = await restored(s.id, B);
    expect(r.copiedFrom).toBe(A);
    const out = await growing(B, 'process', p);
    // Taken with --stop: its kept output ends exactly where its memory does.
    expect(out.find((l) => l.atMs > last.atMs)?.counter).toBe(last.counter + 1);
  });
});

describe('--paused: restored frozen, for a debugger', () => {
  it('runc: a clone restored paused prints nothing until the printed resume command runs', async () => {
    const name = 'snap-paused';
    const clone = 'snap-paused-copy';
    started.push({ host: A, runtime: 'runc', name }, { host: A, runtime: 'runc', name: clone });
    await spawnStateful(A, 'runc', name, { mib: 8, intervalMs: 20, lines: 20 });
    const s = await snapshot('runc', name, A);
    const r = await restored(s.id, A, ['--as', clone, '--paused']);
    expect(r.paused).toBe(true);
    expect(r.resumeCommand).toMatch(/ resume snap-paused-copy$/);
    // There, but not running: runc holds it paused (frozen cgroup).
    expect(await runtimeOn(A, 'runc').inspect(clone)).toMatchObject({ running: false });
    // Frozen: its output does not grow.
    const frozen = (await lines(A, 'runc', clone)).length;
    await sleep(1500);
    expect((await lines(A, 'runc', clone)).length).toBe(frozen);
    // The printed command, as an operator would paste it, lets it go on from the snapshot.
    const resumed = await execa('bash', ['-c', r.resumeCommand!], {
      reject: false,
      env: { PATH: process.env.PATH },
    });
    expect({ exit: resumed.exitCode, stderr: resumed.stderr }).toEqual({ exit: 0, stderr: '' });
    const out = await growing(A, 'runc', clone);
    expect((await runtimeOn(A, 'runc').inspect(clone))?.running).toBe(true);
    expect(new Set(out.map((l) => l.checksum)).size).toBe(1);
    expect(analyseContinuity(out.slice(frozen - 1)).restarts).toBe(0);
  });
});

describe('refusals: nothing is stopped', () => {
  const name = 'snap-refuse';
  let snap: SnapshotRecord;
  beforeAll(async () => {
    started.push({ host: A, runtime: 'runc', name });
    await spawnStateful(A, 'runc', name, { mib: 16, intervalMs: 20, lines: 20 });
    snap = await snapshot('runc', name, A);
  });

  it('a corrupted snapshot is refused before the workload is touched', async () => {
    const pid = (await runtimeOn(A, 'runc').inspect(name))?.pid;
    const images = path.join(stateDir(A), 'snapshots', snap.id, 'images');
    const pages = (await readdir(images)).find((f) => /^pages-\d+\.img$/.test(f))!;
    const file = path.join(images, pages);
    const bytes = await readFile(file);
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(file, bytes);
    const r = await restore(snap.id, A, ['--replace']);
    expect(r.exitCode).toBe(2);
    expect(r.result.outcome).toBe('refused');
    expect(r.result.cause?.type).toBe('SnapshotCorrupt');
    expect(r.result.cause?.message).toContain(pages);
    // Same process, still printing, no snapshot of its current state taken for nothing.
    expect((await runtimeOn(A, 'runc').inspect(name))?.pid).toBe(pid);
    expect(analyseContinuity(await growing(A, 'runc', name)).restarts).toBe(0);
    expect(r.result.keptSnapshot).toBeUndefined();
  });

  it('restoring over a running workload without --replace or --as is refused (exit 2)', async () => {
    const other = await snapshot('runc', name, A);
    const r = await restore(other.id, A);
    expect(r.exitCode).toBe(2);
    expect(r.result.cause?.type).toBe('WorkloadAlreadyOnDestination');
    expect(r.result.cause?.message).toContain('--as');
  });

  it('a process snapshot cannot be cloned next to its original (its PIDs are taken)', async () => {
    const p = 'snap-proc-clone';
    started.push({ host: A, runtime: 'process', name: p });
    await spawnStateful(A, 'process', p, { mib: 8, intervalMs: 20, lines: 10 });
    const s = await snapshot('process', p, A);
    const r = await restore(s.id, A, ['--as', 'snap-proc-clone-2']);
    expect(r.exitCode).toBe(2);
    expect(r.result.cause?.message).toMatch(/PIDs they had/);
    expect((await runtimeOn(A, 'process').inspect('snap-proc-clone-2'))?.running).toBeFalsy();
  });

  it('bad ids, unknown hosts and workloads that do not run start nothing', async () => {
    const bad = await ferry(['restore', 'not-an-id', '--host', A]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/not a snapshot id/);
    const unknown = await ferry(['restore', snap.id, '--host', 'node-z']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/node-z/);
    const missing = await json<SnapshotCreateResult>([
      'snapshot',
      'create',
      'nothing-here',
      '--runtime',
      'runc',
      '--host',
      A,
    ]);
    expect(missing.exitCode).toBe(2);
    expect(['WorkloadNotFound', 'WorkloadNotRunning']).toContain(missing.result.cause?.type);
  });
});

describe('docker', () => {
  it('a snapshot of a docker container restores as a second container', async () => {
    const name = 'snap-docker';
    started.push({ host: A, runtime: 'docker', name }, { host: A, runtime: 'docker', name: `${name}-2` });
    await spawnStateful(A, 'docker', name, { mib: 16, intervalMs: 20 });
    const s = await snapshot('docker', name, A);
    await restored(s.id, A, ['--as', `${name}-2`]);
    const out = await growing(A, 'docker', `${name}-2`);
    const orig = await growing(A, 'docker', name);
    expect(new Set(out.map((l) => l.checksum))).toEqual(new Set([orig[0]!.checksum]));
  });
});

describe('the catalog and the disks', () => {
  it('check finds an orphan copy on disk; rm removes a snapshot from disk and catalog', async () => {
    const name = 'snap-catalog';
    started.push({ host: A, runtime: 'runc', name });
    await spawnStateful(A, 'runc', name, { mib: 8, intervalMs: 20, lines: 10 });
    const s = await snapshot('runc', name, A);
    const clean = await json<CatalogCheck>(['snapshot', 'check']);
    expect(clean.result.consistent).toBe(true);
    // A copy the catalog does not know of (put there by hand).
    await cp(path.join(stateDir(A), 'snapshots', s.id), path.join(stateDir(B), 'snapshots', s.id), {
      recursive: true,
    });
    const dirty = await json<CatalogCheck>(['snapshot', 'check']);
    expect(dirty.exitCode).toBe(1);
    expect(dirty.result.orphansOnDisk).toEqual([expect.objectContaining({ host: B, id: s.id })]);
    await ferry(['snapshot', 'rm', s.id]);
    expect((await catalog()).some((x) => x.id === s.id)).toBe(false);
    await expect(stat(path.join(stateDir(A), 'snapshots', s.id))).rejects.toThrow();
    // The hand-made copy was not ferry's to remove; the check still names it.
    const after = await json<CatalogCheck>(['snapshot', 'check']);
    expect(after.result.orphansOnDisk.map((o) => o.id)).toContain(s.id);
    await rm(path.join(stateDir(B), 'snapshots', s.id), { recursive: true, force: true });
  });
});

describe('ferry schedule snapshot', () => {
  it('takes snapshots every interval and keeps only the newest --keep', async () => {
    const name = 'snap-sched';
    started.push({ host: A, runtime: 'process', name });
    await spawnStateful(A, 'process', name, { mib: 8, intervalMs: 50, lines: 5 });
    const r = await ferry([
      'schedule',
      'snapshot',
      name,
      '--runtime',
      'process',
      '--host',
      A,
      '--every',
      '10s',
      '--keep',
      '2',
      '--json',
    ]);
    expect(r.exitCode).toBe(0);
    const series = JSON.parse(r.stdout).scheduleId as string;
    // Three runs: the first snapshot goes, the newest two stay.
    const seen = new Set<string>();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const mine = (await catalog()).filter((s) => s.series === series);
      mine.forEach((s) => seen.add(s.id));
      if (seen.size >= 3 && mine.length === 2) {
        const newest = [...seen].sort().slice(-2);
        expect(mine.map((s) => s.id).sort()).toEqual(newest);
        break;
      }
      if (Date.now() > deadline)
        throw new Error(`schedule ${series}: saw ${[...seen].join(', ')}, now ${mine.length}`);
      await sleep(1000);
    }
    await waitForLines(A, 'process', name, 5);
    expect((await runtimeOn(A, 'process').inspect(name))?.running).toBe(true);
    const del = await ferry(['schedule', 'delete', series]);
    expect(del.exitCode).toBe(0);
  }, 120_000);
});
