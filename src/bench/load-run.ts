// The core of npm run bench:load, shared with its small e2e version (test/e2e/load.test.ts):
// small workloads spread over the hosts, N migrations at concurrency C through the typed client,
// an evacuation, then the audit: where each workload runs (lost, duplicated) and what is left.
import { HostContext } from '../activities/host-context.js';
import { FerryClient } from '../client/ferry-client.js';
import { findHost, loadConfig, type FerryConfig } from '../config/schema.js';
import type { RuntimeName } from '../domain/names.js';
import type { MigrationResult } from '../domain/types.js';
import { parseStatefulOutput } from '../domain/output-analysis.js';
import { temporalConnectionOptions } from '../config/temporal-connection.js';
import {
  cores,
  cpuSeconds,
  machineBusySeconds,
  migrationLeftovers,
  mountsUnder,
  rssKiB,
  strayProcesses,
} from './load-audit.js';
import { outcomeCounts, type CpuUse, type LoadReport } from './load-report.js';

export interface LoadOptions {
  configFile: string;
  /** Hosts to spread workloads over (at least 2). */
  hosts: string[];
  /** The environment's folder: processes and mounts under it are audited. */
  envDir: string;
  /** Processes whose CPU and memory are measured: `worker <host>` pids, `temporal`, `sshd <host>`. */
  pids: Record<string, number | undefined>;
  migrations: number;
  concurrency: number;
  /** Workloads to spawn on the first host and evacuate from it (0: no evacuation). */
  evacuate: number;
  /** Workload names start with it (names must be unique in the environment). */
  prefix: string;
  log: (line: string) => void;
}

interface Workload {
  name: string;
  runtime: RuntimeName;
  /** Where it runs now, as far as the results say. */
  host: string;
}

const RUNTIME_MIX: RuntimeName[] = ['process', 'runc'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over items, at most `limit` at once. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(runners);
}

function contexts(config: FerryConfig, hosts: string[]): Map<string, HostContext> {
  return new Map(hosts.map((h) => [h, new HostContext(config, findHost(config, h)!)]));
}

async function spawnAll(ctxs: Map<string, HostContext>, workloads: Workload[], log: LoadOptions['log']) {
  await pool(workloads, 4, async (w, i = workloads.indexOf(w)) => {
    const mib = 1 + (i % 4); // 1-4 MiB of random memory each
    const program = w.runtime === 'process' ? 'ferry-stateful' : '/bin/ferry-stateful';
    await ctxs
      .get(w.host)!
      .runtime(w.runtime)
      .spawn(w.name, { argv: [program, String(mib), '100'] });
  });
  // Each one prints before it moves: a workload that never started is not "lost" by ferry.
  for (const w of workloads) {
    const rt = ctxs.get(w.host)!.runtime(w.runtime);
    for (let i = 0; parseStatefulOutput(await rt.output(w.name)).length < 2; i++) {
      if (i > 300) throw new Error(`${w.runtime}/${w.name} on ${w.host} does not print`);
      await sleep(100);
    }
  }
  log(`${workloads.length} workloads running`);
}

/** Stops and removes every workload of this run on every host (also after a failed run). */
export async function removeWorkloads(
  opts: Pick<LoadOptions, 'configFile' | 'hosts' | 'prefix'>,
): Promise<void> {
  const config = await loadConfig(opts.configFile);
  for (const ctx of contexts(config, opts.hosts).values())
    for (const runtime of RUNTIME_MIX) {
      const rt = ctx.runtime(runtime);
      for (const w of await rt.list().catch(() => []))
        if (w.name.startsWith(`${opts.prefix}-`)) {
          await rt.stop(w.name, { anyOwner: true }).catch(() => undefined);
          await rt.removeFiles(w.name).catch(() => undefined);
        }
    }
}

async function cpuNow(pids: LoadOptions['pids']): Promise<Record<string, { own: number; children: number }>> {
  const out: Record<string, { own: number; children: number }> = {};
  for (const [k, pid] of Object.entries(pids)) out[k] = await cpuSeconds(pid);
  out.bench = { own: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6, children: 0 };
  return out;
}

/** CPU used between two readings, grouped: the workers' node vs their commands, Temporal, sshd. */
function cpuBetween(
  a: Awaited<ReturnType<typeof cpuNow>>,
  b: Awaited<ReturnType<typeof cpuNow>>,
  wallS: number,
  machineBusyS: number,
): CpuUse {
  const by: Record<string, number> = {};
  const add = (k: string, v: number) => (by[k] = (by[k] ?? 0) + v);
  for (const k of Object.keys(b)) {
    const own = b[k]!.own - (a[k]?.own ?? 0);
    const children = b[k]!.children - (a[k]?.children ?? 0);
    if (k.startsWith('worker ')) {
      add('workers: node (SDK, activities)', own);
      add('workers: their commands (criu, rsync, ssh, runc)', children);
    } else if (k.startsWith('sshd ')) add('sshd: sessions, receiving rsync', own + children);
    else
      add(k === 'temporal' ? 'Temporal dev server (SQLite inside)' : `${k} (client, audit)`, own + children);
  }
  return { wallS, machineBusyS, cores: cores(), byComponent: by };
}

/** Where each workload runs now: host names with a running copy. */
async function whereRunning(ctxs: Map<string, HostContext>, w: Pick<Workload, 'name' | 'runtime'>) {
  const hosts: string[] = [];
  const stopped: string[] = [];
  for (const [host, ctx] of ctxs) {
    const info = await ctx.runtime(w.runtime).inspect(w.name);
    if (info?.running) hosts.push(host);
    else if (info) stopped.push(host);
  }
  return { hosts, stopped };
}

export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const { log, hosts } = opts;
  const config = await loadConfig(opts.configFile);
  const ctxs = contexts(config, hosts);
  const mountsBefore = new Set(await mountsUnder(opts.envDir));
  const count = Math.min(opts.migrations, Math.max(opts.concurrency + Math.ceil(opts.concurrency / 2), 2));
  const workloads: Workload[] = Array.from({ length: count }, (_, i) => ({
    name: `${opts.prefix}-m${i}`,
    runtime: RUNTIME_MIX[i % RUNTIME_MIX.length]!,
    host: hosts[i % hosts.length]!,
  }));
  const evacHost = hosts[0]!;
  const evacuees: Workload[] = Array.from({ length: opts.evacuate }, (_, i) => ({
    name: `${opts.prefix}-e${i}`,
    runtime: RUNTIME_MIX[i % RUNTIME_MIX.length]!,
    host: evacHost,
  }));
  await spawnAll(ctxs, workloads, log);

  const client = await FerryClient.connect({
    ...(await temporalConnectionOptions(config.temporal)),
    namespace: config.temporal.namespace,
    knownHosts: config.hosts.map((h) => h.name),
  });
  const memoryStart = await Promise.all(hosts.map(async (h) => rssKiB(opts.pids[`worker ${h}`])));
  const cpuStart = await cpuNow(opts.pids);
  const busyStart = await machineBusySeconds();
  const started = Date.now();
  const results: MigrationResult[] = [];
  const errors: string[] = [];
  const historyEvents: number[] = [];
  let evacuation: LoadReport['evacuation'];
  try {
    // A workload is migrated by one runner at a time: it goes back to the idle line when done.
    const idle = [...workloads];
    const live = new Set<string>(); // workflow ids of running migrations
    const slotSamples = {
      samples: 0,
      waiting: {} as Record<string, number>,
      example: undefined as string | undefined,
    };
    let sampling = true;
    // A few running migrations every 2 s, as `ferry migrate` reads them: do steps wait for slots?
    const sampler = (async () => {
      let turn = 0;
      while (sampling) {
        const ids = [...live];
        for (const id of ids.slice(turn % Math.max(1, ids.length)).slice(0, 3)) {
          const p = await client.getLiveProgress(id).catch(() => undefined);
          if (!p) continue;
          slotSamples.samples++;
          const kind = /waiting for an? (\S+) slot/.exec(p.waitingForSlot ?? '')?.[1];
          if (kind) {
            slotSamples.waiting[kind] = (slotSamples.waiting[kind] ?? 0) + 1;
            slotSamples.example ??= p.waitingForSlot;
          }
        }
        turn += 3;
        await sleep(2_000);
      }
    })();
    let startedCount = 0;
    const runner = async () => {
      while (startedCount < opts.migrations) {
        const w = idle.shift();
        if (!w) {
          await sleep(50);
          continue;
        }
        const n = startedCount++;
        const others = hosts.filter((h) => h !== w.host);
        const destination = others[n % others.length]!;
        try {
          const handle = await client.startMigration({
            workload: w.name,
            runtime: w.runtime,
            source: w.host,
            destination,
          });
          live.add(handle.workflowId);
          const result = await handle.result().finally(() => live.delete(handle.workflowId));
          results.push(result);
          historyEvents.push(Number((await handle.describe()).historyLength));
          if (result.outcome === 'migrated') w.host = destination;
          else
            log(
              `#${n} ${w.runtime}/${w.name} ${w.host} → ${destination}: ${result.outcome} ${result.cause?.message ?? ''}`,
            );
          if ((results.length + errors.length) % 10 === 0)
            log(
              `${results.length + errors.length}/${opts.migrations} migrations done (${Math.round((Date.now() - started) / 1000)} s)`,
            );
        } catch (err) {
          errors.push(`${w.runtime}/${w.name}: ${(err as Error).message}`);
          log(`#${n} ${w.runtime}/${w.name}: client error ${(err as Error).message}`);
        }
        idle.push(w);
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, runner));
    sampling = false;
    await sampler;
    const totalMs = Date.now() - started;
    log(`${opts.migrations} migrations in ${Math.round(totalMs / 1000)} s`);

    if (evacuees.length) {
      await spawnAll(ctxs, evacuees, log);
      const evacStarted = Date.now();
      const res = await client.evacuate({
        host: evacHost,
        concurrency: opts.concurrency,
        namePattern: `${opts.prefix}-e*`,
      });
      await client.uncordon(evacHost);
      for (const row of res.rows) {
        const w = evacuees.find((e) => e.name === row.workload);
        if (w && row.outcome === 'migrated' && row.destination) w.host = row.destination;
      }
      evacuation = {
        workloads: evacuees.length,
        moved: res.moved,
        totalMs: Date.now() - evacStarted,
        outcomes: outcomeCounts(res.rows.map((r) => r.outcome)),
      };
      log(
        `evacuation of ${evacuees.length}: ${res.moved} moved in ${Math.round(evacuation.totalMs / 1000)} s`,
      );
    }
    const wallS = (Date.now() - started) / 1000;
    const cpu = cpuBetween(
      cpuStart,
      await cpuNow(opts.pids),
      wallS,
      (await machineBusySeconds()) - busyStart,
    );
    const memory = await Promise.all(
      hosts.map(async (h, i) => ({
        host: h,
        startKiB: memoryStart[i]!,
        endKiB: await rssKiB(opts.pids[`worker ${h}`]),
      })),
    );

    // The audit: every workload runs exactly once, nothing of a migration is left.
    const lost: string[] = [];
    const duplicated: string[] = [];
    const stoppedCopies: string[] = [];
    let running = 0;
    for (const w of [...workloads, ...evacuees]) {
      const where = await whereRunning(ctxs, w);
      running += where.hosts.length;
      if (!where.hosts.length) lost.push(`${w.runtime}/${w.name} (last known on ${w.host})`);
      if (where.hosts.length > 1) duplicated.push(`${w.runtime}/${w.name} on ${where.hosts.join(' and ')}`);
      for (const h of where.stopped) stoppedCopies.push(`stopped copy of ${w.runtime}/${w.name} on ${h}`);
    }
    const stateDirs = Object.fromEntries([...ctxs].map(([h, c]) => [h, c.paths.stateDir]));
    const leftBehind = {
      processes: [...stoppedCopies, ...(await strayProcesses(opts.envDir, running))],
      images: await migrationLeftovers(stateDirs),
      mounts: (await mountsUnder(opts.envDir)).filter((m) => !mountsBefore.has(m)),
    };
    return {
      migrations: opts.migrations,
      concurrency: opts.concurrency,
      hosts: hosts.length,
      workloads: workloads.length,
      results,
      errors,
      totalMs,
      historyEvents,
      evacuation,
      lost,
      duplicated,
      leftBehind,
      memory,
      cpu,
      slotSamples,
    };
  } finally {
    await client.close();
  }
}
