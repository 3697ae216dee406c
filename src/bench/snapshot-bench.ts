// npm run bench:snapshots: a slow-boot service (src/bench/slow-boot.py) as a process workload,
// time to a ready, verified service from a cold start and from its snapshot (by ferry and by
// hand with CRIU alone), in one run, at several state sizes; and a snapshot's freeze against
// its size. Its own dev environment (bench-env.ts: FERRY_BENCH_PORT_BASE, FERRY_BENCH_PREFIX),
// torn down at the end, also on failure. Writes docs/bench-snapshots.md.
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HostContext } from '../activities/host-context.js';
import { FerryClient } from '../client/ferry-client.js';
import { loadConfig, type HostConfig } from '../config/schema.js';
import { devDown, devUp } from '../dev/dev-env.js';
import { REPO_ROOT, toolsPath } from '../dev/dev-layout.js';
import { run } from '../exec/run.js';
import { HostPaths } from '../host/host-paths.js';
import { isAlive } from '../host/procfs.js';
import type { WorkloadRuntime } from '../runtimes/runtime.js';
import { BENCH_ENV } from './bench-env.js';
import { firstSince, largestBeatGap, parseSlowBoot, type ReadyLine } from './slow-boot-lines.js';
import { criuRestoreByHand, readPagesDirect } from './snapshot-floor.js';
import {
  medianRestore,
  renderSnapshotPage,
  type RestoreMeasure,
  type SnapshotRow,
} from './snapshot-table.js';

const SCRIPT = path.join(REPO_ROOT, 'src', 'bench', 'slow-boot.py');
const PYTHON = '/usr/bin/python3';
/** MIB:SECONDS pairs: the state's size and about how long building it takes. */
const SIZES = (process.env.FERRY_BENCH_SNAPSHOT_SIZES ?? '64:5,256:10,512:20').split(',').map((p) => {
  const [m, sec] = p.split(':').map(Number);
  return { mib: m!, seconds: sec! };
});
const REPS = Number(process.env.FERRY_BENCH_REPS ?? 3);
const OUT = process.env.FERRY_BENCH_OUT ?? path.join(REPO_ROOT, 'docs', 'bench-snapshots.md');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** Polls a workload's output until `pick` finds what it waits for. */
async function waitFor<T>(
  file: string,
  pick: (out: ReturnType<typeof parseSlowBoot>) => T | undefined,
  what: string,
  timeoutMs = 120_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = pick(parseSlowBoot(await readFile(file, 'utf8').catch(() => '')));
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`${what}: not seen in ${file} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * From `t0` (the moment the restore was asked for): its first heartbeat, then SIGUSR1 and its
 * answer. The pid is the one it had (CRIU restores a process tree with its PIDs).
 */
async function answerSince(
  file: string,
  pid: number,
  t0: number,
  ready: ReadyLine,
): Promise<{ firstBeatMs: number; answeredMs: number; intact: boolean }> {
  const beat = await waitFor(file, (o) => firstSince(o.beats, t0), `first heartbeat of pid ${pid}`);
  const asked = Date.now();
  process.kill(pid, 'SIGUSR1');
  const answer = await waitFor(file, (o) => firstSince(o.verifies, asked), `answer of pid ${pid}`);
  return {
    firstBeatMs: beat.atMs - t0,
    answeredMs: answer.atMs - t0,
    intact: answer.checksum === ready.checksum,
  };
}

/** Until the pid is free again (reaped, not only dead): the next restore needs it. */
async function waitGone(pid: number): Promise<void> {
  const held = () =>
    stat(`/proc/${pid}`).then(
      () => true,
      () => false,
    );
  for (let i = 0; i < 400 && (await held()); i++) await sleep(25);
  if (await held())
    throw new Error(
      `pid ${pid} is still held 10 s after SIGKILL (${(await isAlive(pid)) ? 'alive' : 'unreaped'})`,
    );
}

function killGroup(pid: number): void {
  for (const target of [-pid, pid])
    try {
      process.kill(target, 'SIGKILL');
      return;
    } catch {
      /* try the process alone, or it is gone */
    }
}

interface Bench {
  client: FerryClient;
  host: HostConfig;
  rt: WorkloadRuntime;
  paths: HostPaths;
  /** What the bench must remove whatever happens. */
  snapshots: Set<string>;
  handPids: Set<number>;
}

async function viaFerry(b: Bench, name: string, id: string, pid: number, ready: ReadyLine) {
  const t0 = Date.now();
  const pending = b.client.restoreSnapshot({ snapshotId: id, host: b.host.name });
  // Its answer comes while ferry still verifies: a failed restore ends the wait too.
  const failed = pending.then((r) => {
    if (r.outcome !== 'restored') throw new Error(`ferry restore ${id}: ${r.outcome}: ${r.cause?.message}`);
    return new Promise<never>(() => undefined);
  });
  failed.catch(() => undefined); // awaited through `pending` below when the answer came first
  const answer = await Promise.race([
    answerSince(b.paths.outputLog('process', name), pid, t0, ready),
    failed,
  ]);
  const result = await pending;
  const m: RestoreMeasure = { ...answer, totalMs: Date.now() - t0, stepMs: result.restoreMs };
  await b.rt.stop(name);
  await waitGone(pid);
  return m;
}

async function byHand(b: Bench, id: string, ready: ReadyLine): Promise<RestoreMeasure> {
  const dir = path.join(b.paths.stateDir, 'bench-floor', id);
  const t0 = Date.now();
  const r = await criuRestoreByHand(b.paths.snapshotImagesDir(id), dir);
  b.handPids.add(r.pid);
  try {
    const answer = await answerSince(r.outputLog, r.pid, t0, ready);
    return { ...answer, totalMs: r.criuMs, stepMs: r.criuOwnMs };
  } finally {
    killGroup(r.pid);
    await waitGone(r.pid);
    b.handPids.delete(r.pid);
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchSize(b: Bench, mib: number, seconds: number): Promise<SnapshotRow> {
  const name = `bench-snap-${mib}`;
  const file = b.paths.outputLog('process', name);
  log(`cold start: ${mib} MiB of state in about ${seconds} s`);
  const t0 = Date.now();
  const info = await b.rt.spawn(name, { argv: [PYTHON, SCRIPT, String(mib), String(seconds)] });
  const ready = await waitFor(file, (o) => o.ready, `${name} ready`, (seconds * 4 + 60) * 1000);
  const coldMs = ready.atMs - t0;
  log(`  ready after ${coldMs} ms (build ${ready.buildMs} ms), checksum ${ready.checksum}`);
  await sleep(1_000);

  const c0 = Date.now();
  const created = await b.client.createSnapshot({ workload: name, runtime: 'process', host: b.host.name });
  const c1 = Date.now();
  if (created.outcome !== 'created' || !created.snapshot)
    throw new Error(`snapshot of ${name}: ${created.outcome}: ${created.cause?.message}`);
  const id = created.id;
  b.snapshots.add(id);
  await sleep(300);
  const beats = parseSlowBoot(await readFile(file, 'utf8')).beats;
  const snapshot = {
    sizeBytes: created.snapshot.sizeBytes,
    frozenMs: created.frozenMs ?? created.snapshot.frozenMs,
    outsideGapMs: largestBeatGap(beats, c0, c1 + 300),
    durationMs: c1 - c0,
  };
  log(
    `  snapshot ${id}: ${snapshot.sizeBytes} bytes, frozen ${snapshot.frozenMs} ms, gap ${snapshot.outsideGapMs} ms, ${snapshot.durationMs} ms`,
  );
  const pid = info.pid!;
  const original = await answerSince(file, pid, Date.now(), ready);
  // A process snapshot comes back with the PIDs it had: the original goes first.
  await b.rt.stop(name);
  await waitGone(pid);

  const disk = await readPagesDirect(b.paths.snapshotImagesDir(id));
  const runs: Record<'ferry' | 'floor', RestoreMeasure[]> = { ferry: [], floor: [] };
  for (let rep = 1; rep <= REPS; rep++) {
    const order = rep % 2 ? (['ferry', 'floor'] as const) : (['floor', 'ferry'] as const);
    for (const kind of order) {
      const m = kind === 'ferry' ? await viaFerry(b, name, id, pid, ready) : await byHand(b, id, ready);
      runs[kind].push(m);
      log(
        `  ${kind} restore ${rep}/${REPS}: heartbeat ${m.firstBeatMs} ms, answer ${m.answeredMs} ms (intact ${m.intact}), total ${m.totalMs} ms, step ${m.stepMs} ms`,
      );
    }
  }
  await b.rt.removeFiles(name);
  await removeSnapshot(b, id);
  return {
    mib,
    targetSeconds: seconds,
    coldMs,
    buildMs: ready.buildMs,
    snapshot,
    ferry: medianRestore(runs.ferry),
    floor: medianRestore(runs.floor),
    disk,
    originalIntact: original.intact,
  };
}

async function removeSnapshot(b: Bench, id: string): Promise<void> {
  const r = await b.client.removeSnapshot(id);
  if (r.outcome !== 'removed') throw new Error(`ferry snapshot rm ${id}: ${r.outcome}: ${r.cause?.message}`);
  b.snapshots.delete(id);
}

/** Whatever a failed run left: hand-restored copies, workloads, snapshots. */
async function leaveNothing(b: Bench): Promise<void> {
  for (const pid of b.handPids) killGroup(pid);
  for (const { mib } of SIZES) {
    await b.rt.stop(`bench-snap-${mib}`).catch(() => undefined);
    await b.rt.removeFiles(`bench-snap-${mib}`).catch(() => undefined);
  }
  for (const id of b.snapshots) await removeSnapshot(b, id).catch((err) => log(`rm ${id}: ${String(err)}`));
  await rm(path.join(b.paths.stateDir, 'bench-floor'), { recursive: true, force: true });
}

async function versions(): Promise<string> {
  const first = (file: string, args: string[]) =>
    run(file, args, { timeoutMs: 20_000 }).then(
      (r) => (r.stdout || r.stderr).split('\n')[0]!.trim(),
      () => `${file}: not found`,
    );
  return [
    `criu ${(await first('criu', ['--version'])).replace(/^Version:\s*/, '')}`,
    await first(PYTHON, ['--version']),
    `node ${process.version}`,
  ].join('; ');
}

async function main(): Promise<void> {
  process.env.PATH = toolsPath();
  await devDown(BENCH_ENV.dir, log);
  const rows: SnapshotRow[] = [];
  try {
    const state = await devUp(BENCH_ENV, log);
    const config = await loadConfig(state.configFile);
    const host = config.hosts[0]!;
    const client = await FerryClient.connect({ address: config.temporal.address });
    const b: Bench = {
      client,
      host,
      rt: new HostContext(config, host).runtime('process'),
      paths: new HostPaths(host.stateDir),
      snapshots: new Set(),
      handPids: new Set(),
    };
    try {
      for (const { mib, seconds } of SIZES) rows.push(await benchSize(b, mib, seconds));
    } finally {
      await leaveNothing(b);
      await client.close();
    }
  } finally {
    await devDown(BENCH_ENV.dir, log);
  }
  log(`rows: ${JSON.stringify(rows)}`);
  const page = renderSnapshotPage(rows, {
    runAt: new Date().toISOString(),
    machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()} (${os.hostname()})`,
    versions: await versions(),
    reps: REPS,
  });
  process.stdout.write(page);
  await writeFile(OUT, page);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
