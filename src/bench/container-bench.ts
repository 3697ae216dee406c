// Podman and docker rows of the benchmark: the same container migrated by hand (the floor: the
// runtime's own checkpoint, rsync over SSH, the runtime's own restore, no Temporal, no ferry) and
// by ferry, in one run, at several memory sizes. Downtime is the largest gap in the workload's own
// timestamped output, as for the runc rows. Called from run-bench.ts (npm run bench), or alone:
// `node dist/bench/container-bench.js` (npm run bench:containers) with its own dev environment.
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HostContext } from '../activities/host-context.js';
import { FerryClient } from '../client/ferry-client.js';
import { loadConfig, type FerryConfig, type HostConfig } from '../config/schema.js';
import { devDown, devUp } from '../dev/dev-env.js';
import { BENCH_ENV } from './bench-env.js';
import { REPO_ROOT, toolsPath } from '../dev/dev-layout.js';
import { analyseContinuity, parseStatefulOutput } from '../domain/output-analysis.js';
import { run } from '../exec/run.js';
import { HostPaths } from '../host/host-paths.js';
import type { DockerInspect } from '../runtimes/docker-runtime.js';
import { dockerApi } from '../runtimes/docker-api.js';
import { createBody } from '../runtimes/docker-spec.js';
import type { WorkloadRuntime } from '../runtimes/runtime.js';
import { rsyncPush, type SshOptions } from '../transfer/rsync.js';

export type ContainerRuntime = 'podman' | 'docker';
const RUNTIMES: ContainerRuntime[] = ['podman', 'docker'];
const TICK_MS = 5;

export interface ContainerMeasure {
  downtimeMs: number;
  totalMs: number;
  intact: boolean;
  reportedDowntimeMs?: number;
}
export interface ContainerRow {
  runtime: ContainerRuntime;
  mib: number;
  floor: ContainerMeasure;
  ferry: ContainerMeasure;
}

export interface ContainerBenchOptions {
  config: FerryConfig;
  client: FerryClient;
  sizesMiB: number[];
  reps: number;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Both hosts' runtime, the SSH options a hand-run script would use, the image folders. */
interface Pair {
  a: HostConfig;
  b: HostConfig;
  rtA: WorkloadRuntime;
  rtB: WorkloadRuntime;
  ssh: SshOptions;
}

/** The podman/docker rows: median-downtime run of `reps` per size, floor and ferry alternating. */
export async function benchContainers(opts: ContainerBenchOptions): Promise<ContainerRow[]> {
  const [a, b] = opts.config.hosts as [HostConfig, HostConfig];
  const rows: ContainerRow[] = [];
  for (const runtime of RUNTIMES) {
    if (!a.runtimes.includes(runtime) || !b.runtimes.includes(runtime)) {
      opts.log(`${runtime}: not installed on the bench hosts, no rows`);
      continue;
    }
    const pair: Pair = {
      a,
      b,
      rtA: new HostContext(opts.config, a).runtime(runtime),
      rtB: new HostContext(opts.config, b).runtime(runtime),
      ssh: {
        identityFile: opts.config.transfer.identityFile,
        knownHostsFile: opts.config.transfer.knownHostsFile,
        bindAddress: a.ssh.address,
      },
    };
    for (const mib of opts.sizesMiB) {
      const samples: Record<'floor' | 'ferry', ContainerMeasure[]> = { floor: [], ferry: [] };
      for (let rep = 1; rep <= opts.reps; rep++) {
        // Alternate which goes first so a warming machine favours neither.
        const order = rep % 2 ? (['floor', 'ferry'] as const) : (['ferry', 'floor'] as const);
        for (const kind of order) {
          const name = `bench-${runtime}-${kind}-${mib}-${rep}`;
          opts.log(`${kind}: ${mib} MiB ${runtime} container (run ${rep}/${opts.reps})`);
          await pair.rtA.spawn(name, { argv: ['/bin/ferry-stateful', String(mib), String(TICK_MS)] });
          try {
            await waitForOutput(pair.rtA, name, 50);
            const m =
              kind === 'floor'
                ? await floor(runtime, pair, name)
                : await viaFerry(opts.client, runtime, pair, name);
            samples[kind].push(m);
            opts.log(`  downtime ${m.downtimeMs} ms, total ${m.totalMs} ms, intact ${m.intact}`);
          } finally {
            for (const rt of [pair.rtA, pair.rtB]) await rt.stop(name, { anyOwner: true });
          }
        }
      }
      rows.push({ runtime, mib, floor: median(samples.floor), ferry: median(samples.ferry) });
    }
  }
  return rows;
}

async function waitForOutput(rt: WorkloadRuntime, name: string, lines: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (parseStatefulOutput(await rt.output(name)).length >= lines) return;
    await sleep(100);
  }
  throw new Error(`${rt.name}/${name} printed nothing`);
}

/** Largest gap and state continuity, from the destination's copy of the whole output. */
async function judge(rt: WorkloadRuntime, name: string): Promise<{ downtimeMs: number; intact: boolean }> {
  await sleep(1_000);
  const c = analyseContinuity(parseStatefulOutput(await rt.output(name)));
  return {
    downtimeMs: c.largestGapMs,
    intact: c.restarts === 0 && c.counterBreaks === 0 && c.distinctChecksums === 1,
  };
}

async function viaFerry(
  client: FerryClient,
  runtime: ContainerRuntime,
  p: Pair,
  name: string,
): Promise<ContainerMeasure> {
  const t0 = Date.now();
  const result = await client.migrate({ workload: name, runtime, source: p.a.name, destination: p.b.name });
  const totalMs = Date.now() - t0;
  if (result.outcome !== 'migrated')
    throw new Error(`ferry migrate of ${runtime}/${name}: ${result.outcome}: ${result.cause?.message}`);
  return { ...(await judge(p.rtB, name)), totalMs, reportedDowntimeMs: result.downtimeMs };
}

/** The floor: the runtime's own checkpoint, rsync over SSH, its own restore, back to back. */
async function floor(runtime: ContainerRuntime, p: Pair, name: string): Promise<ContainerMeasure> {
  const id = `floor-${name}`;
  const from = new HostPaths(p.a.stateDir).imagesDir(id);
  const to = new HostPaths(p.b.stateDir).imagesDir(id);
  await mkdir(from, { recursive: true, mode: 0o700 });
  const push = () =>
    rsyncPush(
      {
        fromRoot: p.a.stateDir,
        paths: [path.relative(p.a.stateDir, from)],
        to: p.b.ssh,
        toRoot: p.b.stateDir,
      },
      p.ssh,
      () => undefined,
    );
  try {
    const t0 = Date.now();
    if (runtime === 'podman') await podmanByHand(p, name, from, to, push);
    else await dockerByHand(p, name, from, to, push);
    const totalMs = Date.now() - t0;
    return { ...(await judge(p.rtB, name)), totalMs };
  } finally {
    for (const dir of [from, to]) await rm(path.dirname(dir), { recursive: true, force: true });
  }
}

function podmanCli(h: HostConfig, args: string[], timeoutMs = 10 * 60_000) {
  const s = h.podman;
  const global = [...(s.root ? ['--root', s.root] : []), ...(s.runroot ? ['--runroot', s.runroot] : [])];
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  if (s.containersConf) env.CONTAINERS_CONF = s.containersConf;
  // In the host's network namespace when it has one (the dev environment's hosts do).
  const netns = s.netns ? ['--net=' + s.netns, 'podman'] : [];
  return run(s.netns ? 'nsenter' : 'podman', [...netns, ...global, ...args], { env, timeoutMs });
}

/** podman container checkpoint --export, rsync, podman container restore --import. */
async function podmanByHand(
  p: Pair,
  name: string,
  from: string,
  to: string,
  push: () => Promise<unknown>,
): Promise<void> {
  const archive = 'checkpoint.tar';
  // The same export ferry makes: uncompressed (docs/runtimes.md).
  await podmanCli(p.a, [
    'container',
    'checkpoint',
    '--export',
    path.join(from, archive),
    '--compress',
    'none',
    name,
  ]);
  await push();
  await podmanCli(p.b, ['container', 'restore', '--import', path.join(to, archive)]);
}

const dockerCli = (h: HostConfig, args: string[], timeoutMs = 10 * 60_000) =>
  run(h.docker.client, ['-H', `unix://${h.docker.socket}`, ...args], { timeoutMs });

/**
 * docker checkpoint create, the container's record, files and log copied, rsync, docker create
 * of the same container, the checkpoint and files put into it, docker start --checkpoint: what
 * docs/runtimes.md says a restore into another daemon takes.
 */
async function dockerByHand(
  p: Pair,
  name: string,
  from: string,
  to: string,
  push: () => Promise<unknown>,
): Promise<void> {
  const spec = JSON.parse((await dockerCli(p.a, ['container', 'inspect', name])).stdout)[0] as DockerInspect;
  await dockerCli(p.a, ['checkpoint', 'create', '--checkpoint-dir', from, name, 'ckpt']);
  const upper = spec.GraphDriver?.Data?.UpperDir;
  if (upper)
    await run('tar', ['-C', upper, '--xattrs', '--numeric-owner', '-cf', path.join(from, 'rootfs.tar'), '.']);
  if (spec.LogPath) await copyFile(spec.LogPath, path.join(from, 'json.log'));
  await push();
  // The same container, recreated from its inspect record as ferry does (docker-spec.ts).
  const newId = (
    await dockerApi<{ Id: string }>(
      p.b.docker.socket,
      'POST',
      `/containers/create?name=${name}`,
      createBody(spec, 'bench'),
    )
  ).Id;
  const created = JSON.parse(
    (await dockerCli(p.b, ['container', 'inspect', newId])).stdout,
  )[0] as DockerInspect;
  const root = (await dockerCli(p.b, ['info', '--format', '{{.DockerRootDir}}'])).stdout.trim();
  const dir = path.join(root, 'containers', newId);
  await mkdir(path.join(dir, 'checkpoints'), { recursive: true, mode: 0o700 });
  await run('cp', ['-a', path.join(to, 'ckpt'), path.join(dir, 'checkpoints', 'ckpt')]);
  const newUpper = created.GraphDriver?.Data?.UpperDir;
  if (newUpper && upper)
    await run('tar', ['-C', newUpper, '--xattrs', '--numeric-owner', '-xpf', path.join(to, 'rootfs.tar')]);
  if (spec.LogPath) await copyFile(path.join(to, 'json.log'), path.join(dir, `${newId}-json.log`));
  await dockerCli(p.b, ['start', '--checkpoint', 'ckpt', name]);
}

/** The run with the median downtime (its total comes with it); all runs must be intact. */
function median(runs: ContainerMeasure[]): ContainerMeasure {
  const sorted = [...runs].sort((x, y) => x.downtimeMs - y.downtimeMs);
  const mid = sorted[Math.floor(sorted.length / 2)]!;
  return { ...mid, intact: runs.every((r) => r.intact) };
}

/** First line of each tool's version output, for the table's header. */
export async function toolVersions(): Promise<string> {
  const first = (args: [string, string[]]) =>
    run(...args, { timeoutMs: 20_000 }).then(
      (r) =>
        r.stdout
          .split('\n')[0]!
          .trim()
          .replace(/^Version:/, `${args[0]}`),
      () => `${args[0]}: not found`,
    );
  const tools: [string, string[]][] = [
    ['podman', ['--version']],
    ['dockerd', ['--version']],
    ['containerd', ['--version']],
    ['runc', ['--version']],
    ['criu', ['--version']], // "Version: 4.2.1"
  ];
  return (await Promise.all(tools.map(first))).join('; ');
}

export function renderContainers(rows: ContainerRow[], reps: number, versions: string): string {
  const ratio = (x: number, y: number) => (y > 0 ? `${(x / y).toFixed(2)}x` : '-');
  const ok = (m: ContainerMeasure) => (m.intact ? 'yes' : 'NO');
  const none = rows.length ? '' : '\nNo podman or docker on the bench hosts: no rows.\n';
  return [
    '# Benchmark: podman and docker, ferry against the hand-run floor',
    '',
    `Run ${new Date().toISOString()} on ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()} (${os.hostname()}).`,
    `Workload: ferry-stateful in a podman or docker container (--network none), N MiB of random memory, a line every ${TICK_MS} ms. Two simulated hosts on this machine (their own podman storage; their own dockerd each), rsync over SSH on loopback.`,
    'Floor podman: `podman container checkpoint --export X.tar --compress none`, rsync, `podman container restore --import X.tar`, back to back by a script.',
    'Floor docker: `docker checkpoint create --checkpoint-dir`, the container’s upper dir tarred and its json log copied, rsync, `docker create` of the same container, checkpoint and files put into it, `docker start --checkpoint`.',
    `Versions: ${versions.replace(/\s+/g, ' ')}. Each dockerd runs containers under ferry’s runc wrapper (bin/ferry-docker-runc), floor and ferry alike.`,
    `Each cell: the median-downtime run of ${reps}, floor and ferry alternating. Downtime: the largest gap in the workload’s own output (podman logs / docker logs on the destination, history included). Total: floor from checkpoint to restored; ferry from request to verified result (includes preflight, the 2 s verify window and cleanup). Ratios: ferry / floor.`,
    none,
    '| runtime | memory | floor downtime | ferry downtime | ratio | floor total | ferry total | ratio | ferry-reported downtime | state intact (floor/ferry) |',
    '|:---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|',
    ...rows.map(
      (r) =>
        `| ${r.runtime} | ${r.mib} MiB | ${r.floor.downtimeMs} ms | ${r.ferry.downtimeMs} ms | ${ratio(r.ferry.downtimeMs, r.floor.downtimeMs)} | ${r.floor.totalMs} ms | ${r.ferry.totalMs} ms | ${ratio(r.ferry.totalMs, r.floor.totalMs)} | ${r.ferry.reportedDowntimeMs ?? '-'} ms | ${ok(r.floor)}/${ok(r.ferry)} |`,
    ),
    '',
  ].join('\n');
}

export const CONTAINER_BENCH_DOC = path.join(REPO_ROOT, 'docs', 'bench-containers.md');

/** Alone: its own bench dev environment (same ports and knobs as run-bench.ts). */
async function main(): Promise<void> {
  const env = BENCH_ENV;
  const sizesMiB = (process.env.FERRY_BENCH_SIZES ?? '16,128,512').split(',').map(Number);
  const reps = Number(process.env.FERRY_BENCH_REPS ?? 3);
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  process.env.PATH = toolsPath();
  await devDown(env.dir, log);
  const state = await devUp(env, log);
  const config = await loadConfig(state.configFile);
  const client = await FerryClient.connect({ address: config.temporal.address });
  let rows: ContainerRow[];
  try {
    rows = await benchContainers({ config, client, sizesMiB, reps, log });
  } finally {
    await client.close();
    await devDown(env.dir, log);
  }
  const table = renderContainers(rows, reps, await toolVersions());
  process.stdout.write(table);
  await writeFile(CONTAINER_BENCH_DOC, table);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
