// npm run bench:hibernate: one workload per run (process, runc, podman; ferry-stateful with N MiB)
// hibernated on node-a, node-a "rebooted" (ferry dev reboot), and its return timed: from
// `ferry hibernate` to "ready to reboot", and from the worker's return to the workload running,
// each beside CRIU's own dump and restore time of the same run (the floor: nothing but CRIU).
// Its own dev environment (bench-env.ts), torn down at the end. Writes docs/bench-hibernate.md.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { HostContext } from '../activities/host-context.js';
import { findHost, loadConfig } from '../config/schema.js';
import { devDown, devUp } from '../dev/dev-env.js';
import { DevLayout, REPO_ROOT, toolsPath } from '../dev/dev-layout.js';
import type { HibernationResult, HibernationRow } from '../domain/hibernation.js';
import type { RuntimeName } from '../domain/names.js';
import { analyseContinuity, parseStatefulOutput } from '../domain/output-analysis.js';
import { BENCH_ENV } from './bench-env.js';
import { ratio } from './snapshot-table.js';

const HOST = 'node-a';
const SIZES = (process.env.FERRY_BENCH_HIBERNATE_SIZES ?? '64,512').split(',').map(Number);
const RUNTIMES = (process.env.FERRY_BENCH_HIBERNATE_RUNTIMES ?? 'process,runc,podman').split(
  ',',
) as RuntimeName[];
const OUT = process.env.FERRY_BENCH_OUT ?? path.join(REPO_ROOT, 'docs', 'bench-hibernate.md');
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface HibernateBenchRow {
  runtime: RuntimeName;
  mib: number;
  /** ferry hibernate: request to "ready to reboot" (the workflow's figure), and CRIU's dump in it. */
  readyMs: number;
  criuDumpMs?: number;
  /** The worker's return (new boot id seen) to the workload running, and CRIU's restore in it. */
  resumeMs: number;
  criuRestoreMs?: number;
  /** The whole restore step (stage, runtime restore) of ferry. */
  restoreStepMs?: number;
  /** Its output went on from where it was: no restart, no counter gap, one memory checksum. */
  intact: boolean;
}

async function ferry(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const layout = new DevLayout(BENCH_ENV.dir);
  const r = await execa(path.join(REPO_ROOT, 'bin', 'ferry'), args, {
    reject: false,
    timeout: 15 * 60_000,
    stdin: 'ignore',
    env: { FERRY_DEV_DIR: BENCH_ENV.dir, FERRY_CONFIG: layout.configFile, PATH: toolsPath() },
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

async function json<T>(args: string[]): Promise<T> {
  const r = await ferry([...args, '--json']);
  if (r.exitCode !== 0)
    throw new Error(`ferry ${args.join(' ')} exited ${r.exitCode}:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

async function benchOne(ctx: HostContext, runtime: RuntimeName, mib: number): Promise<HibernateBenchRow> {
  const name = `hib-${runtime}-${mib}`;
  const rt = ctx.runtime(runtime);
  const program = runtime === 'process' ? 'ferry-stateful' : '/bin/ferry-stateful';
  const spawned = await ferry([
    'dev',
    'spawn',
    '--host',
    HOST,
    '--runtime',
    runtime,
    '--name',
    name,
    '--',
    program,
    String(mib),
    '20',
  ]);
  if (spawned.exitCode !== 0) throw new Error(`spawn ${name}: ${spawned.stderr}`);
  try {
    for (let i = 0; parseStatefulOutput(await rt.output(name)).length < 20; i++) {
      if (i > 600) throw new Error(`${name} does not print`);
      await sleep(100);
    }
    const ready = await json<HibernationResult>(['hibernate', HOST, '--name', name]);
    const hibernated = ready.rows.find((r) => r.workload === name);
    if (ready.phase !== 'ready-to-reboot' || hibernated?.state !== 'hibernated')
      throw new Error(`hibernate ${name}: ${ready.phase} ${hibernated?.state} ${hibernated?.cause ?? ''}`);
    await json(['dev', 'reboot', HOST]);
    const done = await json<HibernationResult>(['hibernation', HOST, '--wait']);
    const row: HibernationRow | undefined = done.rows.find((r) => r.workload === name);
    if (done.outcome !== 'resumed' || row?.state !== 'restored')
      throw new Error(`after the reboot ${name}: ${done.outcome} ${row?.state} ${row?.cause ?? ''}`);
    const before = parseStatefulOutput(await rt.output(name)).length;
    let lines = parseStatefulOutput(await rt.output(name));
    for (let i = 0; i < 100 && lines.length < before + 10; i++) {
      await sleep(100);
      lines = parseStatefulOutput(await rt.output(name));
    }
    const c = analyseContinuity(lines);
    const m: HibernateBenchRow = {
      runtime,
      mib,
      readyMs: ready.readyMs ?? NaN,
      criuDumpMs: hibernated.frozenMs,
      resumeMs: done.resumeMs ?? NaN,
      criuRestoreMs: row.criuRestoreMs,
      restoreStepMs: row.restoreMs,
      intact:
        lines.length >= before + 10 && c.restarts === 0 && c.counterBreaks === 0 && c.distinctChecksums === 1,
    };
    log(`${runtime} ${mib} MiB: ${JSON.stringify(m)}`);
    return m;
  } finally {
    await rt.stop(name, { anyOwner: true }).catch(() => undefined);
    await rt.removeFiles(name).catch(() => undefined);
  }
}

export function renderHibernatePage(
  rows: readonly HibernateBenchRow[],
  facts: { date: string; kernel: string },
): string {
  const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : `${Math.round(v)} ms`);
  const table = rows.map(
    (r) =>
      `| ${r.runtime} | ${r.mib} MiB | ${ms(r.readyMs)} | ${ms(r.criuDumpMs)} | ${ratio(r.readyMs, r.criuDumpMs)} | ${ms(r.resumeMs)} | ${ms(r.restoreStepMs)} | ${ms(r.criuRestoreMs)} | ${ratio(r.resumeMs, r.criuRestoreMs)} | ${r.intact ? 'yes' : 'NO'} |`,
  );
  return [
    '# Hibernation through a reboot: ferry against CRIU alone',
    '',
    `Written by \`npm run bench:hibernate\` on ${facts.date} (kernel ${facts.kernel}, this 2-core machine, one`,
    'simulated host rebooted with `ferry dev reboot`). One workload per run: ferry-stateful holding',
    'that much random memory, hibernated alone (`ferry hibernate node-a --name …`), the host',
    'rebooted, and `ferry hibernation node-a --wait`. The floor is CRIU itself in the same run:',
    'its own frozen time of the dump and its own restore time (its stats images). What lies between',
    "is ferry's: preflight, cordon, catalog records, the checksum of the snapshot (before the stop",
    'and again before the restore: a disk that lost data after a reboot must not be restored),',
    'staging, the verify window (1 s), the workflow round trips.',
    '',
    'Where the rest of "worker back → running" goes (read from the run\'s history): `ferry dev reboot`',
    'SIGKILLs the worker, so Temporal keeps sending the tasks of the workflows that worker had cached',
    "(the catalog's, this one) to its dead sticky queue until a 3 s timeout (workers set",
    '`stickyQueueScheduleToStartTimeout`; a worker that shuts down cleanly should release it, not measured); the',
    "listing of the host's workloads (~0.5-0.7 s); the checksum of the snapshot (~1 s per 64 MiB",
    'here) and the 1 s verify window.',
    '',
    '| runtime | memory | hibernate → ready (ferry) | CRIU dump | ratio | worker back → running (ferry) | restore step | CRIU restore | ratio | state intact |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...table,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  process.env.PATH = toolsPath(); // ferry-stateful, ferry-shim, the criu wrapper
  const env = { ...BENCH_ENV, hosts: ['node-a', 'node-b'] };
  await devDown(env.dir, log);
  const state = await devUp(env, log);
  const rows: HibernateBenchRow[] = [];
  try {
    const config = await loadConfig(state.configFile);
    const ctx = new HostContext(config, findHost(config, HOST)!);
    for (const runtime of RUNTIMES) for (const mib of SIZES) rows.push(await benchOne(ctx, runtime, mib));
  } finally {
    await devDown(env.dir, log);
  }
  const kernel = (await execa('uname', ['-r'])).stdout.trim();
  await writeFile(OUT, renderHibernatePage(rows, { date: new Date().toISOString().slice(0, 10), kernel }));
  log(`wrote ${OUT}`);
  if (rows.some((r) => !r.intact)) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  main().catch((err: unknown) => {
    process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  });
