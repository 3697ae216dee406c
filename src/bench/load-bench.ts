// npm run bench:load: many small workloads (ferry-stateful with 1-4 MiB; process and runc) over
// six simulated hosts, FERRY_LOAD_MIGRATIONS migrations (default 200) at FERRY_LOAD_CONCURRENCY
// (default 20) through the typed client, then an evacuation of FERRY_LOAD_EVACUATE workloads
// (default 40; 0 skips it). Its own dev environment (bench-env.ts), torn down at the end.
// Writes docs/bench-load.md (FERRY_BENCH_OUT) and ends with the line
// `N migrations: lost L, duplicated D, left behind B`; exits 1 unless all three are 0.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { devDown, devUp } from '../dev/dev-env.js';
import { REPO_ROOT, toolsPath } from '../dev/dev-layout.js';
import { LOAD_ENV } from './bench-env.js';
import { renderLoadPage } from './load-page.js';
import { closingLine, loadRunClean, summaryRows, type LoadReport } from './load-report.js';
import { removeWorkloads, runLoad } from './load-run.js';

const log = (line: string) => process.stderr.write(`[bench:load] ${line}\n`);
const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 0)
    throw new Error(`${name} must be a whole number, not ${process.env[name]}`);
  return v;
};

async function main(): Promise<void> {
  const migrations = num('FERRY_LOAD_MIGRATIONS', 200);
  const concurrency = Math.max(1, num('FERRY_LOAD_CONCURRENCY', 20));
  const evacuate = num('FERRY_LOAD_EVACUATE', 40);
  const out = process.env.FERRY_BENCH_OUT ?? path.join(REPO_ROOT, 'docs', 'bench-load.md');
  process.env.PATH = toolsPath(); // ferry-stateful, ferry-shim, the criu wrapper
  await devDown(LOAD_ENV.dir, log);
  const state = await devUp(LOAD_ENV, log);
  const opts = {
    configFile: state.configFile,
    hosts: state.hosts.map((h) => h.name),
    envDir: state.dir,
    pids: {
      temporal: state.temporal.pid,
      ...Object.fromEntries(state.hosts.map((h) => [`worker ${h.name}`, h.workerPid])),
      ...Object.fromEntries(state.hosts.map((h) => [`sshd ${h.name}`, h.sshdPid])),
    },
    migrations,
    concurrency,
    evacuate,
    prefix: 'ld',
    log,
  };
  let report: LoadReport | undefined;
  try {
    report = await runLoad(opts);
  } finally {
    await removeWorkloads(opts).catch((err: Error) => log(`removing the workloads: ${err.message}`));
    await devDown(LOAD_ENV.dir, log);
  }
  for (const [k, v] of summaryRows(report)) log(`${k}: ${v}`);
  for (const l of [...report.lost, ...report.duplicated, ...Object.values(report.leftBehind).flat()]) log(l);
  const kernel = (await execa('uname', ['-r'])).stdout.trim();
  // Only a run of the full size (or an explicit FERRY_BENCH_OUT) replaces the committed page.
  if (process.env.FERRY_BENCH_OUT || (migrations >= 200 && concurrency >= 20)) {
    const existing = await readFile(out, 'utf8').catch(() => undefined);
    const facts = { date: new Date().toISOString().slice(0, 10), kernel };
    await writeFile(out, renderLoadPage(report, facts, existing));
    log(`wrote ${out}`);
  }
  process.stdout.write(`${closingLine(report)}\n`);
  if (!loadRunClean(report)) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  main().catch((err: unknown) => {
    process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  });
