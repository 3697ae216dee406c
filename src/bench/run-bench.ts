// npm run bench: the same runc workload migrated by hand (the floor) and by ferry, in one run,
// at several memory sizes. Downtime is measured from outside: the largest gap in the
// workload's own timestamped output. Writes docs/bench-baseline.md.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HostContext } from '../activities/host-context.js';
import * as containerBench from './container-bench.js';
import { FerryClient } from '../client/ferry-client.js';
import { loadConfig, type FerryConfig, type HostConfig } from '../config/schema.js';
import { devDown, devUp } from '../dev/dev-env.js';
import { REPO_ROOT, toolsPath } from '../dev/dev-layout.js';
import { analyseContinuity, parseStatefulOutput } from '../domain/output-analysis.js';
import { run } from '../exec/run.js';
import { HostPaths } from '../runtimes/host-paths.js';
import { startUnderShim } from '../runtimes/shim.js';
import { cgroupsPathFor, withCgroupsPath } from '../runtimes/oci-config.js';
import { rsyncPush, type SshOptions } from '../transfer/rsync.js';

// FERRY_BENCH_PORT_BASE / FERRY_BENCH_PREFIX let a second checkout bench on the same machine.
const PORT_BASE = Number(process.env.FERRY_BENCH_PORT_BASE ?? 27233);
const BENCH = {
  dir: path.join(REPO_ROOT, '.ferry', 'bench'),
  temporalPort: PORT_BASE,
  uiPort: PORT_BASE + 1000,
  sshPort: PORT_BASE - 5011,
  addressPrefix: process.env.FERRY_BENCH_PREFIX ?? '127.0.8',
  hosts: ['node-a', 'node-b'],
};
const SIZES_MIB = (process.env.FERRY_BENCH_SIZES ?? '16,128,512').split(',').map(Number);
const TICK_MS = 5;
/** Runs per size and method; the table shows the median (downtime on loopback is noisy). */
const REPS = Number(process.env.FERRY_BENCH_REPS ?? 3);

interface Measure {
  downtimeMs: number;
  totalMs: number;
  intact: boolean;
}
interface Row {
  mib: number;
  floor: Measure;
  ferry: Measure & { reportedDowntimeMs?: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function waitForOutput(file: string, lines: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (parseStatefulOutput(text).length >= lines) return;
    await sleep(100);
  }
  throw new Error(`no output in ${file}`);
}

/** Largest gap and state continuity, read from the destination's copy of the output. */
async function judge(file: string): Promise<{ downtimeMs: number; intact: boolean }> {
  await sleep(1_000);
  const c = analyseContinuity(parseStatefulOutput(await readFile(file, 'utf8')));
  return {
    downtimeMs: c.largestGapMs,
    intact: c.restarts === 0 && c.counterBreaks === 0 && c.distinctChecksums === 1,
  };
}

/** The floor: runc checkpoint, rsync, runc restore, back to back, as a script would. */
async function floor(config: FerryConfig, a: HostConfig, b: HostConfig, name: string): Promise<Measure> {
  const pa = new HostPaths(a.stateDir);
  const pb = new HostPaths(b.stateDir);
  const ssh: SshOptions = {
    identityFile: config.transfer.identityFile,
    knownHostsFile: config.transfer.knownHostsFile,
    bindAddress: a.ssh.address,
  };
  const id = `floor-${name}`;
  const rel = (dir: string) => path.relative(a.stateDir, dir);
  const push = (dirs: string[]) =>
    rsyncPush(
      { fromRoot: a.stateDir, paths: dirs.map(rel), to: b.ssh, toRoot: b.stateDir },
      ssh,
      () => undefined,
    );
  // Like ferry's presync, the bundle goes over before the freeze.
  await push([pa.workloadDir('runc', name)]);
  await mkdir(pa.imagesDir(id), { recursive: true, mode: 0o700 });
  const t0 = Date.now();
  await run('runc', [
    '--root',
    pa.runcRoot(),
    'checkpoint',
    '--image-path',
    pa.imagesDir(id),
    '--work-path',
    pa.workDir(id),
    name,
  ]);
  await push([pa.imagesDir(id), pa.workloadDir('runc', name)]);
  const bundle = path.join(pb.workloadDir('runc', name), 'bundle');
  const configFile = path.join(bundle, 'config.json');
  const oci = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
  await writeFile(
    configFile,
    JSON.stringify(withCgroupsPath(oci, cgroupsPathFor(pb.cgroupParent(b.name), name))),
  );
  await mkdir(pb.workDir(id), { recursive: true });
  await startUnderShim(
    pb.outputLog('runc', name),
    [
      'runc',
      '--root',
      pb.runcRoot(),
      'restore',
      '-d',
      '--image-path',
      pb.imagesDir(id),
      '--work-path',
      pb.workDir(id),
      '-b',
      bundle,
      name,
    ],
    { wait: true },
  );
  const totalMs = Date.now() - t0;
  return { ...(await judge(pb.outputLog('runc', name))), totalMs };
}

async function viaFerry(client: FerryClient, b: HostConfig, name: string) {
  const t0 = Date.now();
  const result = await client.migrate({
    workload: name,
    runtime: 'runc',
    source: 'node-a',
    destination: 'node-b',
  });
  const totalMs = Date.now() - t0;
  if (result.outcome !== 'migrated')
    throw new Error(`ferry migrate of ${name}: ${result.outcome}: ${result.cause?.message}`);
  const judged = await judge(new HostPaths(b.stateDir).outputLog('runc', name));
  return { ...judged, totalMs, reportedDowntimeMs: result.downtimeMs };
}

async function main(): Promise<void> {
  process.env.PATH = toolsPath();
  await devDown(BENCH.dir, log);
  const state = await devUp({ ...BENCH }, log);
  const config = await loadConfig(state.configFile);
  const [a, b] = config.hosts as [HostConfig, HostConfig];
  const ctxA = new HostContext(config, a);
  const ctxB = new HostContext(config, b);
  const client = await FerryClient.connect({ address: config.temporal.address });
  const rows: Row[] = [];
  const evacuations: EvacuationRow[] = [];
  try {
    for (const mib of SIZES_MIB) {
      const samples: { floor: Measure[]; ferry: (Measure & { reportedDowntimeMs?: number })[] } = {
        floor: [],
        ferry: [],
      };
      for (let rep = 1; rep <= REPS; rep++) {
        // Alternate which goes first so a warming machine favours neither.
        const order = rep % 2 ? (['floor', 'ferry'] as const) : (['ferry', 'floor'] as const);
        for (const kind of order) {
          const name = `bench-${kind}-${mib}-${rep}`;
          log(`${kind}: ${mib} MiB runc workload (run ${rep}/${REPS})`);
          await ctxA
            .runtime('runc')
            .spawn(name, { argv: ['/bin/ferry-stateful', String(mib), String(TICK_MS)] });
          await waitForOutput(new HostPaths(a.stateDir).outputLog('runc', name), 50);
          const m = kind === 'floor' ? await floor(config, a, b, name) : await viaFerry(client, b, name);
          samples[kind].push(m);
          log(`  downtime ${m.downtimeMs} ms, total ${m.totalMs} ms`);
          for (const ctx of [ctxA, ctxB]) {
            await ctx.runtime('runc').stop(name);
            await ctx.runtime('runc').removeFiles(name);
          }
        }
      }
      rows.push({ mib, floor: median(samples.floor), ferry: median(samples.ferry) });
    }
    evacuations.push(...(await benchEvacuation(client, ctxA, ctxB)));
    const containerRows = await containerBench.benchContainers({
      config,
      client,
      sizesMiB: SIZES_MIB,
      reps: REPS,
      log,
    });
    const versions = await containerBench.toolVersions();
    await writeFile(
      containerBench.CONTAINER_BENCH_DOC,
      containerBench.renderContainers(containerRows, REPS, versions),
    );
  } finally {
    await client.close();
    await devDown(BENCH.dir, log);
  }
  const table = render(rows, config) + renderEvacuation(evacuations);
  process.stdout.write(table);
  await writeFile(path.join(REPO_ROOT, 'docs', 'bench-baseline.md'), table);
}

interface EvacuationRow {
  concurrency: number;
  workloads: number;
  moved: number;
  totalMs: number;
}
const EVACUATION_WORKLOADS = Number(process.env.FERRY_BENCH_EVACUATION_WORKLOADS ?? 10);

/** Evacuating node-a of small process workloads with concurrency 1, 2 and 4. */
async function benchEvacuation(
  client: FerryClient,
  ctxA: HostContext,
  ctxB: HostContext,
): Promise<EvacuationRow[]> {
  const out: EvacuationRow[] = [];
  const names = Array.from({ length: EVACUATION_WORKLOADS }, (_, i) => `bench-evac-${i + 1}`);
  for (const concurrency of [1, 2, 4]) {
    log(`evacuation: ${names.length} workloads, concurrency ${concurrency}`);
    for (const name of names)
      await ctxA.runtime('process').spawn(name, { argv: ['ferry-stateful', '4', '20'] });
    await sleep(1_000);
    await client.uncordon('node-a');
    const t0 = Date.now();
    const r = await client.evacuate({ host: 'node-a', candidates: ['node-b'], concurrency });
    out.push({ concurrency, workloads: names.length, moved: r.moved, totalMs: Date.now() - t0 });
    log(`  ${r.moved}/${names.length} moved in ${Date.now() - t0} ms`);
    for (const ctx of [ctxA, ctxB])
      for (const name of names) {
        await ctx.runtime('process').stop(name);
        await ctx.runtime('process').removeFiles(name);
      }
  }
  await client.uncordon('node-a');
  return out;
}

function renderEvacuation(rows: EvacuationRow[]): string {
  if (!rows.length) return '';
  const sequential = rows.find((r) => r.concurrency === 1)?.totalMs ?? 0;
  return [
    '',
    '## Evacuation',
    '',
    `Evacuating node-a of ${rows[0]!.workloads} process workloads (4 MiB each) to node-b, each a child migrate workflow (2 s verify window included).`,
    '',
    '| concurrency | moved | total | speed-up over sequential |',
    '|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.concurrency} | ${r.moved}/${r.workloads} | ${(r.totalMs / 1000).toFixed(1)} s | ${(sequential / r.totalMs).toFixed(2)}x |`,
    ),
    '',
  ].join('\n');
}

/** The run with the median downtime (its total and intactness come with it); all must be intact. */
function median<T extends Measure>(runs: T[]): T {
  const sorted = [...runs].sort((x, y) => x.downtimeMs - y.downtimeMs);
  const mid = sorted[Math.floor(sorted.length / 2)]!;
  return { ...mid, intact: runs.every((r) => r.intact) };
}

function render(rows: Row[], _config: FerryConfig): string {
  const ratio = (x: number, y: number) => (y > 0 ? (x / y).toFixed(2) : '-');
  const lines = [
    '# Benchmark: ferry against the hand-run floor',
    '',
    `Run ${new Date().toISOString()} on ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()} (${os.hostname()}).`,
    `Workload: ferry-stateful in a runc container, N MiB of random memory, a line every ${TICK_MS} ms. Two simulated hosts on this machine, rsync over SSH on loopback.`,
    'Floor: runc checkpoint, rsync (images and bundle), runc restore, run back to back by a script (bundle pre-copied, as ferry does).',
    `Each cell: the median-downtime run of ${REPS}, floor and ferry alternating. Downtime: the largest gap in the workload’s own output. Total: floor from checkpoint to restored; ferry from request to verified result (includes preflight, the 2 s verify window and cleanup).`,
    '',
    '| memory | floor downtime | ferry downtime | ratio | floor total | ferry total | ratio | ferry-reported downtime | state intact (floor/ferry) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|:---:|',
    ...rows.map(
      (r) =>
        `| ${r.mib} MiB | ${r.floor.downtimeMs} ms | ${r.ferry.downtimeMs} ms | ${ratio(r.ferry.downtimeMs, r.floor.downtimeMs)}x | ${r.floor.totalMs} ms | ${r.ferry.totalMs} ms | ${ratio(r.ferry.totalMs, r.floor.totalMs)}x | ${r.ferry.reportedDowntimeMs ?? '-'} ms | ${r.floor.intact ? 'yes' : 'NO'}/${r.ferry.intact ? 'yes' : 'NO'} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
