// Runs inside the proof guest (a stock Debian kernel with soft-dirty, under qemu: see
// docs/precopy.md and run-guest.ts). It drives ferry's own pre-copy code for real: the preDump
// activity, the stop rule and loop (runPrecopyRounds), the final dump with the last round as
// parent, shipping with rsync to a second host folder, and the restore activity there; then it
// checks that the workload's counter and checksum continued. One JSON line on the console.
import { cp, mkdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { createHostActivities } from '../activities/index.js';
import { HostContext } from '../activities/host-context.js';
import { configSchema } from '../config/schema.js';
import { dirtyTrackingSupport, criuVersionChecked } from '../criu/criu.js';
import { analyseContinuity, parseStatefulOutput } from '../domain/output-analysis.js';
import { DEFAULT_PRECOPY_POLICY } from '../domain/precopy.js';
import { snapshotId } from '../domain/snapshots.js';
import { run } from '../exec/run.js';
import { parseBytesSent } from '../transfer/rsync.js';
import { runPrecopyRounds } from '../workflows/precopy-rounds.js';
import { REPORT_MARK } from './report-mark.js';

async function main(): Promise<void> {
  const root = process.argv[2] ?? '/tmp/ferry-precopy-guest';
  const mib = Number(process.argv[3] ?? 32);
  const tools =
    process.argv[4] ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../.tools/bin');
  process.env.PATH = `${tools}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
  const host = (name: string) => ({
    name,
    ssh: { address: '127.0.0.1', port: 22, user: 'root' },
    stateDir: path.join(root, name),
    runtimes: ['process' as const],
  });
  const config = configSchema.parse({
    transfer: { identityFile: '/nonexistent/key', knownHostsFile: '/nonexistent/known_hosts' },
    hosts: [host('guest-a'), host('guest-b')],
  });
  const [a, b] = config.hosts.map((h) => new HostContext(config, h)) as [HostContext, HostContext];
  const srcActs = createHostActivities(a);
  const dstActs = createHostActivities(b);
  const report: Record<string, unknown> = {
    kernel: (await readFile('/proc/sys/kernel/osrelease', 'utf8')).trim(),
  };
  report.criuVersion = await criuVersionChecked();
  const dirty = await dirtyTrackingSupport();
  report.dirtyTracking = dirty;
  if (!dirty.supported) return print(report);

  // The workload: ferry-stateful, copied onto the guest's own disk (tmpfs) so that every file it
  // holds lives where both "hosts" see it at the same path and size.
  const bin = path.join(root, 'bin');
  await mkdir(bin, { recursive: true });
  await cp(path.join(tools, 'ferry-stateful'), path.join(bin, 'ferry-stateful'));
  const workload = 'counter';
  const ref = { workload, runtime: 'process' as const };
  const migrationId = 'proof-1';
  const step = { ...ref, migrationId };
  await a
    .runtime('process')
    .spawn(workload, { argv: [path.join(bin, 'ferry-stateful'), String(mib), '100', '0'] });
  await waitForLines(a.paths.outputLog('process', workload), 5);

  // rsync between the two host folders (what shipPrecopyRounds/transfer do over SSH).
  const ship = async (paths: string[]) => {
    const started = Date.now();
    const { stdout } = await run(
      'rsync',
      [
        '-a',
        '--relative',
        '--delete',
        '--stats',
        ...paths.map((p) => `${a.paths.stateDir}/./${p}`),
        `${b.paths.stateDir}/`,
      ],
      { timeoutMs: 10 * 60_000 },
    );
    return { bytesSent: parseBytesSent(stdout), durationMs: Date.now() - started };
  };
  const rel = (p: string) => path.relative(a.paths.stateDir, p);
  await mkdir(b.paths.migrationDir(migrationId), { recursive: true, mode: 0o700 });
  await ship([rel(a.paths.workloadDir('process', workload))]);

  const policy = DEFAULT_PRECOPY_POLICY;
  const summary = await runPrecopyRounds(policy, {
    preDump: async (round) => {
      if (round > 1) await sleep(1_000); // let the workload run between rounds, as a migration would
      return srcActs.preDump({ ...step, round });
    },
    ship: () => ship([rel(a.paths.roundsDir(migrationId))]),
    isFatal: () => true,
    describe: (err) => String(err),
  });
  report.policy = policy;
  report.precopy = summary;

  const checkpoint = await srcActs.checkpoint({ ...step, parentRound: summary.finalParentRound });
  report.finalDump = checkpoint;
  report.finalParentLink = await readlink(path.join(a.paths.imagesDir(migrationId), 'parent')).catch(
    () => null,
  );
  const finalShip = await ship([
    rel(a.paths.imagesDir(migrationId)),
    rel(a.paths.roundsDir(migrationId)),
    rel(a.paths.workloadDir('process', workload)),
  ]);
  report.finalShip = finalShip;
  report.parentLinkAfterRsync = await readlink(path.join(b.paths.imagesDir(migrationId), 'parent')).catch(
    () => null,
  );

  const restored = await dstActs.restore(step);
  report.restore = restored;
  const log = b.paths.outputLog('process', workload);
  const before = parseStatefulOutput(await readFile(log, 'utf8')).length;
  await waitForLines(log, before + 10);
  await dstActs.verify({ ...ref, windowMs: 1_000 });
  const lines = parseStatefulOutput(await readFile(log, 'utf8'));
  report.continuity = analyseContinuity(lines);
  report.lastLine = lines[lines.length - 1];
  await dstActs.removeWorkload(ref);
  report.snapshots = await snapshotSeries(a, mib, bin);
  print(report);
}

/**
 * Incremental snapshots for real: three snapshots of a running ferry-stateful through ferry's
 * createSnapshot activity, the second and third each on the one before, then a restore of the
 * third, which needs pages of all three, verified by the workload itself (its memory checksum).
 */
async function snapshotSeries(a: HostContext, mib: number, bin: string): Promise<Record<string, unknown>> {
  const acts = createHostActivities(a);
  const workload = 'series';
  const ref = { workload, runtime: 'process' as const };
  // 1 % of its pages dirtied per line, a line a second: under emulation, with ~10-20 s between
  // snapshots, a sixth to a quarter of its memory changes from one to the next.
  await a
    .runtime('process')
    .spawn(workload, { argv: [path.join(bin, 'ferry-stateful'), String(mib), '1000', '1'] });
  const log = a.paths.outputLog('process', workload);
  await waitForLines(log, 2);
  const taken = [];
  for (let i = 1; i <= 3; i++) {
    await sleep(1_000);
    const s = await acts.createSnapshot({ ...ref, snapshotId: snapshotId(workload, Date.now(), `000${i}`) });
    taken.push({
      id: s.id,
      parent: s.parent ?? null,
      fullBecause: s.fullBecause ?? null,
      pagesWritten: s.pagesWritten,
      pagesFromParent: s.pagesFromParent ?? 0,
      sizeBytes: s.sizeBytes,
      frozenMs: s.frozenMs,
    });
  }
  const last = taken[taken.length - 1]!;
  await acts.removeWorkload(ref);
  await acts.stageSnapshot({
    snapshotId: last.id,
    restoreId: 'series-restore',
    runtime: 'process',
    target: workload,
  });
  const restore = await acts.restore({ ...ref, migrationId: 'series-restore' });
  const before = parseStatefulOutput(await readFile(log, 'utf8')).length;
  await waitForLines(log, before + 3);
  process.kill(restore.pid!, 'SIGUSR1');
  let verify: string[] | undefined;
  for (let i = 0; i < 300 && !verify; i++) {
    const m = /^verify ([0-9a-f]{16}) ([0-9a-f]{16})$/m.exec(await readFile(log, 'utf8'));
    if (m) verify = [m[1]!, m[2]!];
    else await sleep(100);
  }
  const lines = parseStatefulOutput(await readFile(log, 'utf8'));
  await acts.removeWorkload(ref);
  return {
    taken,
    restoredPages: restore.stats.pagesRestored,
    memoryIntact: !!verify && verify[0] === verify[1],
    continuity: analyseContinuity(lines.slice(before - 1)),
  };
}

function print(report: Record<string, unknown>): void {
  process.stdout.write(`\n${REPORT_MARK}${JSON.stringify(report)}\n`);
}

async function waitForLines(file: string, count: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (parseStatefulOutput(text).length >= count) return;
    await sleep(100);
  }
  throw new Error(`${file} did not reach ${count} lines`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

main().catch((err: unknown) => {
  print({ error: err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err) });
  process.exitCode = 1;
});
