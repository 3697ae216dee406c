// runc containers that a user started with plain `runc run`, in a host's runc root, with their
// bundle where the user put it (docs/runtimes.md#runc): they move and come back, a missing
// bundle is refused before any freeze, and the hand-restore line printed for
// failed-needs-operator works when pasted as it is.
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { FerryClient } from '../../src/client/ferry-client.js';
import { analyseContinuity, parseStatefulOutput } from '../../src/domain/output-analysis.js';
import { HostPaths } from '../../src/host/host-paths.js';
import { corruptProcessTreeImage, E2E, ferry, sleep, stateDir } from './env.js';
import { makeUserBundle, runcDelete, runcRun, runcState } from './user-containers.js';

const paths = (host: string) => new HostPaths(stateDir(host));
const root = (host: string) => paths(host).runcRoot();
const userDir = path.join(E2E.dir, 'user-bundles');
let client: FerryClient;

beforeAll(async () => {
  client = await FerryClient.connect({ address: `127.0.0.1:${E2E.temporalPort}` });
});
afterAll(async () => {
  await client.close();
});

/** Its lines so far, read from the file it writes inside the rootfs it runs from on host. */
async function linesOn(host: string, name: string): Promise<ReturnType<typeof parseStatefulOutput>> {
  const st = await runcState(root(host), name);
  if (!st) return [];
  const rootfs = path.join(st.bundle, 'rootfs');
  return parseStatefulOutput(await readFile(path.join(rootfs, 'data', 'out.log'), 'utf8').catch(() => ''));
}

async function grows(host: string, name: string): Promise<ReturnType<typeof analyseContinuity>> {
  const before = (await linesOn(host, name)).length;
  for (let i = 0; i < 50 && (await linesOn(host, name)).length <= before + 5; i++) await sleep(100);
  const lines = await linesOn(host, name);
  expect(lines.length).toBeGreaterThan(before);
  return analyseContinuity(lines);
}

/** ferry migrate NAME --runtime runc, as a user types it (with --json). */
const migrate = (name: string, from: string, to: string) =>
  ferry(['migrate', name, '--runtime', 'runc', '--from', from, '--to', to, '--json']);

async function startUserContainer(name: string): Promise<string> {
  const dir = path.join(userDir, name);
  await makeUserBundle(dir);
  await runcRun(root('node-a'), dir, name);
  for (let i = 0; i < 100 && (await linesOn('node-a', name)).length < 20; i++) await sleep(100);
  expect((await linesOn('node-a', name)).length).toBeGreaterThanOrEqual(20);
  return dir;
}

async function removeEverywhere(name: string): Promise<void> {
  for (const host of E2E.hosts) {
    await runcDelete(root(host), name);
    await rm(paths(host).workloadDir('runc', name), { recursive: true, force: true });
    await writeFile(path.join(stateDir(host), 'fault-injection.json'), '{}');
  }
  await rm(path.join(userDir, name), { recursive: true, force: true });
}

describe('runc containers started with plain runc run', () => {
  it('moves there and back; the user bundle on the source is left as it was', async () => {
    const name = 'u-web';
    try {
      const dir = await startUserContainer(name);
      const configBefore = await readFile(path.join(dir, 'config.json'), 'utf8');
      const there = await migrate(name, 'node-a', 'node-b');
      expect([JSON.parse(there.stdout).outcome, JSON.parse(there.stdout).cause]).toEqual([
        'migrated',
        undefined,
      ]);
      expect(there.exitCode).toBe(0);
      // On node-b it runs from ferry's copy; node-a's runc no longer knows it, its bundle stays.
      expect((await runcState(root('node-b'), name))?.bundle).toBe(
        path.join(paths('node-b').workloadDir('runc', name), 'bundle'),
      );
      expect(await runcState(root('node-a'), name)).toBeUndefined();
      expect(await readFile(path.join(dir, 'config.json'), 'utf8')).toBe(configBefore);
      const c1 = await grows('node-b', name);
      expect([c1.restarts, c1.counterBreaks, c1.distinctChecksums]).toEqual([0, 0, 1]);

      const back = await migrate(name, 'node-b', 'node-a');
      expect([JSON.parse(back.stdout).outcome, JSON.parse(back.stdout).cause]).toEqual([
        'migrated',
        undefined,
      ]);
      // Back on node-a it runs from node-a's own copy, not from the user's folder.
      expect((await runcState(root('node-a'), name))?.bundle).toBe(
        path.join(paths('node-a').workloadDir('runc', name), 'bundle'),
      );
      const c2 = await grows('node-a', name);
      expect([c2.restarts, c2.counterBreaks, c2.distinctChecksums]).toEqual([0, 0, 1]);
      expect(await readdir(paths('node-b').workloadsRoot('runc'))).not.toContain(name);
    } finally {
      await removeEverywhere(name);
    }
  });

  it('a missing bundle is refused before the freeze, naming the path; the container runs on', async () => {
    const name = 'u-gone';
    try {
      const dir = await startUserContainer(name);
      const pid = (await runcState(root('node-a'), name))!.pid;
      await rename(path.join(dir, 'config.json'), path.join(dir, 'config.json.away'));
      const r = await migrate(name, 'node-a', 'node-b');
      expect(r.exitCode).toBe(2);
      const result = JSON.parse(r.stdout);
      expect(result.outcome).toBe('refused');
      expect(result.cause.type).toBe('BundleMissing');
      expect(result.cause.message).toContain(path.join(dir, 'config.json'));
      expect(result.cause.message).toContain('Put the bundle back');
      expect(result.freezes ?? 0).toBe(0);
      const st = await runcState(root('node-a'), name);
      expect([st?.status, st?.pid]).toEqual(['running', pid]);
      const c = await grows('node-a', name);
      expect([c.restarts, c.counterBreaks]).toEqual([0, 0]);
      expect(await runcState(root('node-b'), name)).toBeUndefined();
    } finally {
      await removeEverywhere(name);
    }
  });

  it('failed-needs-operator: the printed hand-restore line, pasted as it is, brings it back', async () => {
    const name = 'u-hand';
    try {
      const dir = await startUserContainer(name);
      await writeFile(
        path.join(stateDir('node-b'), 'fault-injection.json'),
        JSON.stringify({ pauseMs: { [`before-restore:${name}`]: 4_000 } }),
      );
      const handle = await client.startMigration({
        workload: name,
        runtime: 'runc',
        source: 'node-a',
        destination: 'node-b',
      });
      // The images are on node-b: spoil them there, and take the source's bundle away for
      // ferry's own restore of the source (the rollback), so that both restores fail.
      for (let i = 0; ; i++) {
        const text = await readFile(path.join(stateDir('node-b'), 'fault-injection.json'), 'utf8');
        if (!text.includes('before-restore')) break;
        if (i > 1200) throw new Error('the restore on node-b never started');
        await sleep(50);
      }
      const [id] = (await readdir(paths('node-b').migrationsRoot())).filter((d) => d.includes(`-${name}-`));
      await corruptProcessTreeImage(paths('node-b').imagesDir(id!));
      await rename(path.join(dir, 'config.json'), path.join(dir, 'config.json.away'));
      const result = await handle.result();
      expect([result.outcome, result.rollback]).toEqual(['failed-needs-operator', expect.any(String)]);
      expect(await runcState(root('node-a'), name)).toBeUndefined();
      await rename(path.join(dir, 'config.json.away'), path.join(dir, 'config.json'));

      const line = /run this line as root on node-a:\n(.+)\n/.exec(result.rollback ?? '')?.[1];
      expect(line).toBeDefined();
      expect(line).toContain(`-b ${dir} ${name}`);
      // An operator's shell: no ferry tools on PATH, nothing inherited from the worker.
      const pasted = await execa('bash', ['-c', line!], {
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' },
        extendEnv: false,
        reject: false,
      });
      expect([pasted.exitCode, pasted.stdout, pasted.stderr]).toEqual([0, '', '']);
      expect((await runcState(root('node-a'), name))?.status).toBe('running');
      const c = await grows('node-a', name);
      expect([c.restarts, c.counterBreaks, c.distinctChecksums]).toEqual([0, 0, 1]);
    } finally {
      await removeEverywhere(name);
      for (const host of E2E.hosts) await rm(paths(host).migrationsRoot(), { recursive: true, force: true });
    }
  });
});
