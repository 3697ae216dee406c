import type { MigrationResult } from '../../src/domain/types.js';
import type { RuntimeName } from '../../src/domain/names.js';
import { analyseContinuity, parseStatefulOutput } from '../../src/domain/output-analysis.js';
import { corruptWhenArrives, E2E, ferry, runtimeOn, sleep, spawnStateful } from './env.js';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { ContainerEngineRuntime, EngineInspect } from '../../src/runtimes/container-engine.js';
import { HostPaths } from '../../src/host/host-paths.js';
import { stateDir } from './env.js';

// Real podman and a real dockerd per simulated host (started by ferry dev up).
const RUNTIMES: ('podman' | 'docker')[] = ['podman', 'docker'];

const output = (host: string, runtime: RuntimeName, name: string) => runtimeOn(host, runtime).output(name);

async function spawn(host: string, runtime: RuntimeName, name: string, mib = 32): Promise<void> {
  await spawnStateful(host, runtime, name, { mib, intervalMs: 20 });
}

async function migrate(runtime: RuntimeName, name: string, from: string, to: string, extra: string[] = []) {
  const r = await ferry([
    'migrate',
    name,
    '--runtime',
    runtime,
    '--from',
    from,
    '--to',
    to,
    '--json',
    ...extra,
  ]);
  return { ...r, result: r.stdout ? (JSON.parse(r.stdout) as MigrationResult) : undefined };
}

/** Continuity of the whole output (history moved along): no restart, one checksum, still growing. */
async function continues(host: string, runtime: RuntimeName, name: string): Promise<void> {
  const before = parseStatefulOutput(await output(host, runtime, name)).length;
  await sleep(800);
  const lines = parseStatefulOutput(await output(host, runtime, name));
  expect(lines.length).toBeGreaterThan(before);
  expect(lines[0]!.counter).toBe(1);
  expect(analyseContinuity(lines)).toMatchObject({ restarts: 0, counterBreaks: 0, distinctChecksums: 1 });
}

/** The host's own engine CLI (its storage, network namespace, daemon), as a user runs it. */
const exec = (host: string, runtime: 'podman' | 'docker', name: string, cmd: string[]) =>
  (runtimeOn(host, runtime) as ContainerEngineRuntime<EngineInspect>).cli(['exec', name, ...cmd]);

describe.each(RUNTIMES)('%s containers between simulated hosts', (runtime) => {
  const name = `e2e-${runtime}`;
  afterAll(async () => {
    for (const host of ['node-a', 'node-b', 'node-c']) {
      for (const n of [name, `${name}-rb`, `${name}-img`])
        await runtimeOn(host, runtime).stop(n, { anyOwner: true });
    }
  });

  it('migrates with its state, its name and the files it wrote; gone from the source', async () => {
    await spawn('node-a', runtime, name);
    await exec('node-a', runtime, name, ['sh', '-c', 'echo kept > /data/written.txt']);
    const { exitCode, result, stderr } = await migrate(runtime, name, 'node-a', 'node-b');
    if (exitCode !== 0) throw new Error(`migrate failed:\n${stderr}\n${JSON.stringify(result)}`);
    expect(result!.outcome).toBe('migrated');
    expect(result!.downtimeMs).toBeGreaterThan(0);
    const there = await runtimeOn('node-b', runtime).inspect(name);
    expect(there).toMatchObject({ name, running: true });
    expect(await runtimeOn('node-a', runtime).inspect(name)).toBeUndefined();
    await continues('node-b', runtime, name);
    expect((await exec('node-b', runtime, name, ['cat', '/data/written.txt'])).stdout).toBe('kept');
    // Its images are gone on both hosts (other suites' migrations may keep theirs on purpose).
    for (const host of ['node-a', 'node-b'])
      expect(
        (await readdir(new HostPaths(stateDir(host)).migrationsRoot())).filter((d) =>
          d.startsWith(`migrate-${runtime}-`),
        ),
      ).toEqual([]);
  });

  it('rolls back to the source when the restore fails on the destination', async () => {
    const n = `${name}-rb`;
    await spawn('node-a', runtime, n, 8);
    // The destination refuses every restore: its images are damaged once they arrive.
    const images = path.join(stateDir('node-b'), 'migrations');
    const done = corruptWhenArrives(images, runtime, n);
    const { result } = await migrate(runtime, n, 'node-a', 'node-b', ['--verify-window-ms', '500']);
    await done;
    expect(result!.outcome).toBe('rolled-back');
    expect(result!.cause?.type).toBe('RestoreFailed');
    console.log(`${runtime} restore failure as reported: ${result!.cause?.message}`);
    // CRIU's own words from its log, not only the runtime's summary or the log's path. docker:
    // containerd deletes the failed task's folder; dockerd's runc wrapper kept the log.
    expect(result!.cause?.message).toMatch(
      /Error \(criu\/image\.c:\d+\): Head magic doesn't match for pstree\.img/,
    );
    // The kept log moved into the migration's folder, which rollback removes; nothing stays behind.
    if (runtime === 'docker')
      expect(await readdir(path.join(E2E.dir, 'hosts', 'node-b', 'docker-criu'))).toEqual([]);
    expect((await runtimeOn('node-a', runtime).inspect(n))?.running).toBe(true);
    expect(await runtimeOn('node-b', runtime).inspect(n)).toBeUndefined();
    await continues('node-a', runtime, n);
  });

  it('refuses in preflight, before any freeze, when the destination lacks the image (--no-ship-image)', async () => {
    const n = `${name}-img`;
    await spawn('node-a', runtime, n, 8);
    const pidBefore = (await runtimeOn('node-a', runtime).inspect(n))!.pid;
    // Without the flag ferry ships the image (test/e2e/images.test.ts).
    const { result, exitCode } = await migrate(runtime, n, 'node-a', 'node-d', ['--no-ship-image']);
    expect(exitCode).toBe(2);
    expect(result!.outcome).toBe('refused');
    expect(result!.cause?.type).toBe('ImageMissing');
    expect(result!.cause?.message).toContain('ferry dev load-image --host node-d');
    expect(result!.phases.map((p) => p.phase)).toEqual(['preflight']);
    expect((await runtimeOn('node-a', runtime).inspect(n))?.pid).toBe(pidBefore);
    await continues('node-a', runtime, n);
  });
});
