import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { analyseContinuity, parseStatefulOutput } from '../../src/domain/output-analysis.js';
import type { MigrationResult } from '../../src/domain/types.js';
import type { RuntimeName } from '../../src/domain/names.js';
import { HostPaths } from '../../src/host/host-paths.js';
import { ferry, readOutput, runtimeOn, sleep, spawnStateful, stateDir } from './env.js';

/**
 * A workload with 64 MiB of pseudo-random memory (its checksum in every line) and a counter
 * moves from node-a to node-b and continues: same checksum, counter never restarts.
 */
async function migrateAndCheck(
  runtime: RuntimeName,
  name: string,
  extra: string[] = [],
): Promise<MigrationResult> {
  const before = parseStatefulOutput(
    await spawnStateful('node-a', runtime, name, { mib: 64, intervalMs: 20 }),
  );
  expect(before[0]!.counter).toBe(1);

  const run = await ferry([
    'migrate',
    name,
    '--runtime',
    runtime,
    '--from',
    'node-a',
    '--to',
    'node-b',
    '--json',
    ...extra,
  ]);
  if (run.exitCode !== 0) throw new Error(`migrate failed (${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
  const result = JSON.parse(run.stdout) as MigrationResult;
  expect(result.outcome).toBe('migrated');
  expect(result.downtimeMs).toBeGreaterThan(0);
  expect(result.bytesTransferred).toBeGreaterThan(60 * 1024 * 1024);
  expect(result.criu.dump?.pagesWritten).toBeGreaterThan(16_000); // 64 MiB = 16384 pages
  expect(result.criu.restore?.pagesRestored).toBeGreaterThan(16_000);
  expect(result.phases.map((p) => p.phase)).toEqual([
    'preflight',
    'presync',
    'checkpoint',
    'transfer',
    'restore',
    'verify',
    'cleanup',
  ]);

  // The destination keeps printing after the migration, from where the source stopped.
  const linesAfterMigration = parseStatefulOutput(await readOutput('node-b', runtime, name)).length;
  await sleep(1_000);
  const lines = parseStatefulOutput(await readOutput('node-b', runtime, name));
  expect(lines.length).toBeGreaterThan(linesAfterMigration);
  const c = analyseContinuity(lines);
  expect(c).toMatchObject({ restarts: 0, counterBreaks: 0, distinctChecksums: 1 });
  expect(lines[0]!.counter).toBe(1); // the whole history moved with it
  expect(lines[0]!.checksum).toBe(before[0]!.checksum);
  expect(lines.length).toBeGreaterThan(before.length);

  // `ferry logs` on the destination shows the whole history; the source has nothing left.
  const logs = await ferry(['logs', name, '--host', 'node-b']);
  expect(logs.exitCode).toBe(0);
  expect(logs.stdout.startsWith(`${before[0]!.atMs} 1 ${before[0]!.checksum}`)).toBe(true);
  expect(await runtimeOn('node-a', runtime).inspect(name)).toBeUndefined();
  expect((await ferry(['logs', name, '--host', 'node-a'])).exitCode).toBe(2);
  const destination = await runtimeOn('node-b', runtime).inspect(name);
  expect(destination?.running).toBe(true);
  return result;
}

describe('live migration between two simulated hosts', () => {
  afterAll(async () => {
    for (const host of ['node-a', 'node-b'])
      for (const [rt, name] of [
        ['runc', 'e2e-web'],
        ['process', 'e2e-calc'],
      ] as const) {
        await runtimeOn(host, rt).stop(name, { anyOwner: true });
        await runtimeOn(host, rt).removeFiles(name);
      }
    // The images kept by --keep-images go too: other test files expect no migration files.
    for (const host of ['node-a', 'node-b']) {
      const root = new HostPaths(stateDir(host)).migrationsRoot();
      for (const f of await readdir(root).catch(() => [] as string[]))
        if (f.includes('-e2e-')) await rm(path.join(root, f), { recursive: true, force: true });
    }
  });

  it('moves a runc container and its state continues', async () => {
    await migrateAndCheck('runc', 'e2e-web');
    // Images are removed on both hosts after success.
    for (const host of ['node-a', 'node-b'])
      expect(await readdir(new HostPaths(stateDir(host)).migrationsRoot())).toEqual([]);
  });

  it('moves a plain process tree and its state continues; kept images are private', async () => {
    const result = await migrateAndCheck('process', 'e2e-calc', ['--keep-images']);
    const images = new HostPaths(stateDir('node-b')).imagesDir(result.migrationId);
    expect((await stat(images)).mode & 0o777).toBe(0o700);
    const files = await readdir(images);
    expect(files.some((f) => f.startsWith('pages-'))).toBe(true);
    for (const f of files) expect((await stat(path.join(images, f))).mode & 0o077).toBe(0);
    expect((await stat(new HostPaths(stateDir('node-a')).migrationsRoot())).mode & 0o077).toBe(0);
  });

  it('moves it back again (the id is free once the first migration ended)', async () => {
    const back = await ferry([
      'migrate',
      'e2e-calc',
      '--runtime',
      'process',
      '--from',
      'node-b',
      '--to',
      'node-a',
      '--json',
    ]);
    expect(back.exitCode).toBe(0);
    await sleep(500);
    const c = analyseContinuity(parseStatefulOutput(await readOutput('node-a', 'process', 'e2e-calc')));
    expect(c).toMatchObject({ restarts: 0, counterBreaks: 0, distinctChecksums: 1 });
  });

  it('lists and shows finished migrations from Temporal visibility; setup is idempotent', async () => {
    const ls = await ferry(['ls', '--host', 'node-a', '--json']);
    expect(ls.exitCode).toBe(0);
    const rows = JSON.parse(ls.stdout) as {
      workflowId: string;
      outcome?: string;
      workload?: string;
      status: string;
    }[];
    const web = rows.find((r) => r.workflowId === 'migrate-runc-node-a-e2e-web');
    expect(web).toMatchObject({ workload: 'e2e-web', outcome: 'migrated', status: 'COMPLETED' });
    expect((await ferry(['ls', '--host', 'node-z'])).stderr).toContain('unknown host "node-z"');
    expect(JSON.parse((await ferry(['ls', '--running', '--json'])).stdout)).toEqual([]);

    const show = await ferry(['show', 'migrate-runc-node-a-e2e-web', '--json']);
    expect(show.exitCode).toBe(0);
    const result = JSON.parse(show.stdout) as MigrationResult & { uiUrl?: string };
    expect(result.outcome).toBe('migrated');
    expect(result.phases.map((p) => p.phase)).toContain('restore');
    expect(result.uiUrl).toContain('/workflows/migrate-runc-node-a-e2e-web/');
    expect((await ferry(['show', 'migrate-runc-node-a-nope'])).exitCode).toBe(2);

    const setup = await ferry(['setup']);
    expect(setup.exitCode).toBe(0);
    expect(setup.stdout).toContain('already registered: FerryWorkload');
  });
});
