// Migration modes for real (docs/migration-modes.md): streamed pages through a CRIU page server
// on the destination, its rollback, and modes the hosts cannot run refused before the freeze.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FerryClient } from '../../src/client/ferry-client.js';
import { analyseContinuity, parseStatefulOutput } from '../../src/domain/output-analysis.js';
import type { MigrationResult } from '../../src/domain/types.js';
import { HostPaths } from '../../src/host/host-paths.js';
import { commandsMentioning } from '../../src/host/stale-commands.js';
import {
  corruptProcessTreeImage,
  E2E,
  ferry,
  hostsRunning,
  readOutput,
  runtimeOn,
  sleep,
  spawnStateful,
  stateContinues,
  stateDir,
  verifyMemory,
} from './env.js';

const paths = (host: string) => new HostPaths(stateDir(host));
const NAMES = ['dt-stream', 'dt-stream-rb', 'dt-pre', 'dt-post', 'dt-post-rb'];

async function migrate(
  name: string,
  extra: string[],
): Promise<{ exitCode: number; result: MigrationResult; stderr: string }> {
  const r = await ferry([
    'migrate',
    name,
    '--runtime',
    'runc',
    '--from',
    'node-a',
    '--to',
    'node-b',
    '--json',
    ...extra,
  ]);
  return { exitCode: r.exitCode, result: JSON.parse(r.stdout || '{}') as MigrationResult, stderr: r.stderr };
}

/** Nothing of the migration is left: no files on either host, no page server or other command. */
async function nothingLeft(migrationId: string): Promise<void> {
  // Only this migration's folder: other test files may keep images on purpose (--keep-images).
  for (const host of ['node-a', 'node-b'])
    expect(await readdir(paths(host).migrationsRoot())).not.toContain(migrationId);
  expect(await commandsMentioning(migrationId)).toEqual([]);
}

describe('migration modes', () => {
  let client: FerryClient;
  beforeAll(async () => {
    client = await FerryClient.connect({ address: `127.0.0.1:${E2E.temporalPort}` });
  });
  afterAll(async () => {
    await client.close();
    for (const host of ['node-a', 'node-b']) {
      await writeFile(path.join(stateDir(host), 'fault-injection.json'), '{}');
      for (const name of NAMES) {
        await runtimeOn(host, 'runc').stop(name);
        await runtimeOn(host, 'runc').removeFiles(name);
      }
    }
  });

  it('streamed: pages go straight into a page server on node-b; the state continues', async () => {
    const before = parseStatefulOutput(
      await spawnStateful('node-a', 'runc', 'dt-stream', { mib: 64, intervalMs: 10 }),
    );
    const { exitCode, result } = await migrate('dt-stream', ['--mode', 'streamed']);
    expect(exitCode).toBe(0);
    expect(result).toMatchObject({ outcome: 'migrated', mode: 'streamed' });
    // Bound to the destination's own address, never a wildcard.
    expect(result.pageServer?.address).toBe(`${E2E.addressPrefix}.2`);
    expect(result.pageServer?.port).toBeGreaterThan(1024);
    // The 64 MiB of pages did not travel through rsync: it sent only the other images and files.
    expect(result.criu.dump?.pagesWritten).toBeGreaterThan(16_000);
    expect(result.criu.restore?.pagesRestored).toBeGreaterThan(16_000);
    expect(result.bytesTransferred).toBeLessThan(32 * 1024 * 1024);

    await sleep(500);
    const lines = parseStatefulOutput(await readOutput('node-b', 'runc', 'dt-stream'));
    expect(analyseContinuity(lines)).toMatchObject({ restarts: 0, counterBreaks: 0, distinctChecksums: 1 });
    expect(lines[0]!.checksum).toBe(before[0]!.checksum);
    expect(await stateContinues('node-b', 'runc', 'dt-stream')).toBe(true);
    expect(await hostsRunning('runc', 'dt-stream', ['node-a', 'node-b'])).toEqual(['node-b']);
    await nothingLeft(result.migrationId);
  });

  it('streamed rollback: the pages come back from node-b and the source continues', async () => {
    await spawnStateful('node-a', 'runc', 'dt-stream-rb', { mib: 32, intervalMs: 10 });
    await writeFile(
      path.join(stateDir('node-b'), 'fault-injection.json'),
      JSON.stringify({ pauseMs: { 'before-restore': 4_000 } }),
    );
    const handle = await client.startMigration({
      workload: 'dt-stream-rb',
      runtime: 'runc',
      source: 'node-a',
      destination: 'node-b',
      mode: 'streamed',
    });
    // During the pause: the destination's copy of the checkpoint is damaged (not its pages).
    for (let i = 0; ; i++) {
      const text = await readFile(path.join(stateDir('node-b'), 'fault-injection.json'), 'utf8');
      if (!text.includes('before-restore')) break;
      if (i > 600) throw new Error('the restore never paused');
      await sleep(100);
    }
    const [id] = (await readdir(paths('node-b').migrationsRoot())).filter((m) =>
      m.startsWith(handle.workflowId),
    );
    await corruptProcessTreeImage(paths('node-b').imagesDir(id!));
    const result = await handle.result();
    expect(result).toMatchObject({ outcome: 'rolled-back', mode: 'streamed' });
    expect(result.rollback).toContain('bringing the streamed memory pages');
    expect(await hostsRunning('runc', 'dt-stream-rb', ['node-a', 'node-b'])).toEqual(['node-a']);
    expect(await stateContinues('node-a', 'runc', 'dt-stream-rb')).toBe(true);
    await nothingLeft(result.migrationId);
  });

  it('auto picks stop-and-copy here and says why; forced precopy is refused before the freeze', async () => {
    await spawnStateful('node-a', 'runc', 'dt-pre', { mib: 16, intervalMs: 10 });
    const forced = await migrate('dt-pre', ['--mode', 'precopy']);
    expect(forced.exitCode).toBe(2);
    expect(forced.result.outcome).toBe('refused');
    expect(forced.result.cause?.type).toBe('ModeUnavailable');
    expect(forced.result.cause?.message).toContain('mem_dirty_track');
    expect(forced.result.phases.map((p) => p.phase)).toEqual(['preflight']);
    expect(await stateContinues('node-a', 'runc', 'dt-pre')).toBe(true);
    await nothingLeft(forced.result.migrationId);

    const auto = await migrate('dt-pre', []);
    expect(auto.exitCode).toBe(0);
    expect(auto.result).toMatchObject({ outcome: 'migrated', mode: 'stop-and-copy' });
    expect(auto.result.modeReason).toContain('pre-copy skipped');
    expect(await stateContinues('node-b', 'runc', 'dt-pre')).toBe(true);
  });

  it('postcopy needs the explicit opt-in; with it the workload runs on node-b before its memory moved', async () => {
    const before = parseStatefulOutput(
      await spawnStateful('node-a', 'runc', 'dt-post', { mib: 64, intervalMs: 10 }),
    );
    const noOptIn = await migrate('dt-post', ['--mode', 'postcopy']);
    expect(noOptIn.exitCode).toBe(2);
    expect(noOptIn.stderr).toContain('--accept-postcopy-risk');

    const { exitCode, result } = await migrate('dt-post', ['--mode', 'postcopy', '--accept-postcopy-risk']);
    expect(exitCode).toBe(0);
    expect(result).toMatchObject({ outcome: 'migrated', mode: 'postcopy' });
    expect(result.phases.map((p) => p.phase)).toEqual([
      'preflight',
      'presync',
      'checkpoint',
      'transfer',
      'restore',
      'postcopy',
      'verify',
      'cleanup',
    ]);
    // The source's lazy page server was bound to its own address, never a wildcard.
    expect(result.pageServer?.address).toBe(`${E2E.addressPrefix}.1`);
    // The 64 MiB of memory was neither in the source's images nor sent by rsync: the
    // destination fetched it from the lazy page server (verified word by word below).
    expect(result.imageBytes).toBeLessThan(8 * 1024 * 1024);
    expect(result.bytesTransferred).toBeLessThan(32 * 1024 * 1024);
    expect(result.postcopyMs).toBeGreaterThanOrEqual(0);

    await sleep(500);
    const lines = parseStatefulOutput(await readOutput('node-b', 'runc', 'dt-post'));
    expect(analyseContinuity(lines)).toMatchObject({ restarts: 0, counterBreaks: 0, distinctChecksums: 1 });
    expect(lines.at(-1)!.checksum).toBe(before[0]!.checksum);
    // Every word of the 64 MiB, served lazily from node-a, is what it was there.
    const memory = await verifyMemory('node-b', 'runc', 'dt-post');
    expect(memory.recomputed).toBe(memory.running);
    expect(memory.running).toBe(before[0]!.checksum);
    expect(await stateContinues('node-b', 'runc', 'dt-post')).toBe(true);
    expect(await hostsRunning('runc', 'dt-post', ['node-a', 'node-b'])).toEqual(['node-b']);
    await nothingLeft(result.migrationId);
  });

  it('postcopy rollback: a restore that fails before the workload runs on node-b lets the source resume', async () => {
    await spawnStateful('node-a', 'runc', 'dt-post-rb', { mib: 32, intervalMs: 10 });
    await writeFile(
      path.join(stateDir('node-b'), 'fault-injection.json'),
      JSON.stringify({ pauseMs: { 'before-restore': 4_000 } }),
    );
    const handle = await client.startMigration({
      workload: 'dt-post-rb',
      runtime: 'runc',
      source: 'node-a',
      destination: 'node-b',
      mode: 'postcopy',
      acceptPostcopyRisk: true,
    });
    for (let i = 0; ; i++) {
      const text = await readFile(path.join(stateDir('node-b'), 'fault-injection.json'), 'utf8');
      if (!text.includes('before-restore')) break;
      if (i > 600) throw new Error('the restore never paused');
      await sleep(100);
    }
    const [id] = (await readdir(paths('node-b').migrationsRoot())).filter((m) =>
      m.startsWith(handle.workflowId),
    );
    await corruptProcessTreeImage(paths('node-b').imagesDir(id!));
    const result = await handle.result();
    expect(result).toMatchObject({ outcome: 'rolled-back', mode: 'postcopy' });
    expect(result.rollback).toContain('runs there again');
    expect(await hostsRunning('runc', 'dt-post-rb', ['node-a', 'node-b'])).toEqual(['node-a']);
    expect(await stateContinues('node-a', 'runc', 'dt-post-rb')).toBe(true);
    await nothingLeft(result.migrationId);
  });
});
