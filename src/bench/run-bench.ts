// npm run bench: the same runc workload migrated by hand (the floor) and by ferry in each mode,
// in one run, at several memory sizes and two dirtying rates. Downtime is measured from
// outside: the largest gap in the workload's own timestamped output. Writes
// docs/bench-downtime.md (docs/bench-baseline.md is the earlier, single-mode table).
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
import { HostPaths } from '../host/host-paths.js';
import { startUnderShim } from '../runtimes/shim.js';
import { cgroupsPathFor, withCgroupsPath } from '../runtimes/oci-config.js';
import { rsyncPush, type SshOptions } from '../transfer/rsync.js';
import { BENCH_ENV } from './bench-env.js';

const BENCH = BENCH_ENV;
const SIZES_MIB = (process.env.FERRY_BENCH_SIZES ?? '16,128,512,1024').split(',').map(Number);
const CONTAINER_SIZES_MIB = (process.env.FERRY_BENCH_CONTAINER_SIZES ?? '16,128,512').split(',').map(Number);
/** Share of its memory the workload rewrites every tick: a small part, and most of it. */
const DIRTY_PERCENTS = (process.env.FERRY_BENCH_DIRTY ?? '1,80').split(',').map(Number);
const KINDS = ['floor', 'stop-and-copy', 'streamed', 'postcopy'] as const;
type Kind = (typeof KINDS)[number];
const TICK_MS = 5;
/** Runs per size and method; the table shows the median (downtime on loopback is noisy). */
const REPS = Number(process.env.FERRY_BENCH_REPS ?? 3);
/** Why a mode has no column of figures on this machine (docs/migration-modes.md). */
const POSTCOPY_NOTE =
  'postcopy: ferry with --accept-postcopy-risk, the workload restarts on the destination before its memory moved and faults its pages in from the source (downtime: the same largest gap, so stalls on page faults after the restart count). Pre-copy: no dirty-page tracking on this kernel (its rounds are proven in a qemu guest whose kernel does: docs/precopy.md).';
/** Where the table goes (a partial run can write elsewhere than the reference table). */
const OUT = process.env.FERRY_BENCH_OUT ?? path.join(REPO_ROOT, 'docs', 'bench-downtime.md');

interface Measure {
  downtimeMs: number;
  totalMs: number;
  intact: boolean;
}
type FerryMeasure = Measure & { reportedDowntimeMs?: number };
interface Row {
  mib: number;
  dirty: number;
  runs: Record<Kind, FerryMeasure>;
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
async function judge(file: string, dirtying: boolean): Promise<{ downtimeMs: number; intact: boolean }> {
  await sleep(1_000);
  const c = analyseContinuity(parseStatefulOutput(await readFile(file, 'utf8')));
  // A workload that dirties its memory changes its checksum every tick: then only the
  // counter (never restarted, never skipped) tells that its state moved.
  const checksumKept = dirtying || c.distinctChecksums === 1;
  return {
    downtimeMs: c.largestGapMs,
    intact: c.restarts === 0 && c.counterBreaks === 0 && checksumKept,
  };
}

/** The floor: runc checkpoint, rsync, runc restore, back to back, as a script would. */
async function floor(
  config: FerryConfig,
  a: HostConfig,
  b: HostConfig,
  name: string,
  dirtying: boolean,
): Promise<Measure> {
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
  return { ...(await judge(pb.outputLog('runc', name), dirtying)), totalMs };
}

async function viaFerry(
  client: FerryClient,
  b: HostConfig,
  name: string,
  mode: 'stop-and-copy' | 'streamed' | 'postcopy',
  dirtying: boolean,
) {
  const t0 = Date.now();
  const result = await client.migrate({
    workload: name,
    runtime: 'runc',
    source: 'node-a',
    destination: 'node-b',
    mode,
    acceptPostcopyRisk: mode === 'postcopy',
  });
  const totalMs = Date.now() - t0;
  if (result.outcome !== 'migrated')
    throw new Error(`ferry migrate of ${name}: ${result.outcome}: ${result.cause?.message}`);
  const judged = await judge(new HostPaths(b.stateDir).outputLog('runc', name), dirtying);
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
    for (const mib of SIZES_MIB)
      for (const dirty of DIRTY_PERCENTS) {
        const samples = Object.fromEntries(KINDS.map((k) => [k, [] as FerryMeasure[]])) as Record<
          Kind,
          FerryMeasure[]
        >;
        for (let rep = 1; rep <= REPS; rep++) {
          // Rotate which goes first so a warming machine favours none.
          const order = KINDS.map((_, i) => KINDS[(i + rep - 1) % KINDS.length]!);
          for (const kind of order) {
            const name = `bench-${kind}-${mib}-${dirty}-${rep}`;
            log(`${kind}: ${mib} MiB runc workload dirtying ${dirty}% per tick (run ${rep}/${REPS})`);
            await ctxA.runtime('runc').spawn(name, {
              argv: ['/bin/ferry-stateful', String(mib), String(TICK_MS), String(dirty)],
            });
            await waitForOutput(new HostPaths(a.stateDir).outputLog('runc', name), 50);
            const m =
              kind === 'floor'
                ? await floor(config, a, b, name, dirty > 0)
                : await viaFerry(client, b, name, kind, dirty > 0);
            samples[kind].push(m);
            log(`  downtime ${m.downtimeMs} ms, total ${m.totalMs} ms`);
            for (const ctx of [ctxA, ctxB]) {
              await ctx.runtime('runc').stop(name);
              await ctx.runtime('runc').removeFiles(name);
            }
          }
        }
        rows.push({
          mib,
          dirty,
          runs: Object.fromEntries(KINDS.map((k) => [k, median(samples[k])])) as Record<Kind, FerryMeasure>,
        });
      }
    if (EVACUATION_WORKLOADS > 0) evacuations.push(...(await benchEvacuation(client, ctxA, ctxB)));
    // podman and docker rows (docs/bench-containers.md), against their own hand-run floors.
    const containerRows = await containerBench.benchContainers({
      config,
      client,
      sizesMiB: CONTAINER_SIZES_MIB,
      reps: REPS,
      log,
    });
    await writeFile(
      containerBench.CONTAINER_BENCH_DOC,
      containerBench.renderContainers(containerRows, REPS, await containerBench.toolVersions()),
    );
  } finally {
    await client.close();
    await devDown(BENCH.dir, log);
  }
  const table = render(rows, config) + renderEvacuation(evacuations);
  process.stdout.write(table);
  await writeFile(OUT, table);
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
  const ratio = (x: number, y: number) => (y > 0 ? `${(x / y).toFixed(2)}x` : '-');
  const floorOf = (r: Row) => r.runs.floor;
  const lines = [
    '# Benchmark: downtime per migration mode against the hand-run floor',
    '',
    `Run ${new Date().toISOString()} on ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()} (${os.hostname()}).`,
    `Workload: ferry-stateful in a runc container, N MiB of random memory, a line every ${TICK_MS} ms, rewriting D% of its pages every tick. Two simulated hosts on this machine, rsync over SSH on loopback.`,
    'Floor: runc checkpoint, rsync (images and bundle), runc restore, run back to back by a script (bundle pre-copied, as ferry does).',
    'stop-and-copy: ferry, images written to disk then rsynced. streamed: ferry, the final dump writes its pages straight into a CRIU page server on the destination, rsync sends the rest.',
    `Each cell: the median-downtime run of ${REPS}, the three rotating which goes first. Downtime: the largest gap in the workload’s own output. Total: floor from checkpoint to restored; ferry from request to verified result (includes preflight, the 2 s verify window and cleanup). Ratios: against the floor of the same row.`,
    POSTCOPY_NOTE,
    '',
    '| memory | dirty/tick | floor downtime | stop-and-copy downtime | ratio | streamed downtime | ratio | postcopy downtime | ratio | floor total | stop-and-copy total | ratio | streamed total | ratio | postcopy total | ratio | state intact (floor/s&c/streamed/postcopy) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|',
    ...rows.map((r) => {
      const f = floorOf(r);
      const sc = r.runs['stop-and-copy'];
      const st = r.runs.streamed;
      const pc = r.runs.postcopy;
      const ok = (m: Measure) => (m.intact ? 'yes' : 'NO');
      return `| ${r.mib} MiB | ${r.dirty}% | ${f.downtimeMs} ms | ${sc.downtimeMs} ms | ${ratio(sc.downtimeMs, f.downtimeMs)} | ${st.downtimeMs} ms | ${ratio(st.downtimeMs, f.downtimeMs)} | ${pc.downtimeMs} ms | ${ratio(pc.downtimeMs, f.downtimeMs)} | ${f.totalMs} ms | ${sc.totalMs} ms | ${ratio(sc.totalMs, f.totalMs)} | ${st.totalMs} ms | ${ratio(st.totalMs, f.totalMs)} | ${pc.totalMs} ms | ${ratio(pc.totalMs, f.totalMs)} | ${ok(f)}/${ok(sc)}/${ok(st)}/${ok(pc)} |`;
    }),
    '',
  ];
  return lines.join('\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
