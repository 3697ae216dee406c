// Images the destination lacks (docs/runtimes.md): ferry ships the container's image before the
// freeze, checked by id, unless the request says not to. The image is built here from the dev
// image's rootfs plus one file (no registry), loaded only on node-a with `ferry dev load-image`.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { MigrationResult } from '../../src/domain/types.js';
import { analyseContinuity, parseStatefulOutput } from '../../src/domain/output-analysis.js';
import { ContainerEngineRuntime, type EngineInspect } from '../../src/runtimes/container-engine.js';
import { E2E, ferry, runtimeOn, sleep, stateDir } from './env.js';

type Engine = 'podman' | 'docker';
const ENGINES: Engine[] = ['podman', 'docker'];
const HOSTS = ['node-a', 'node-b', 'node-c', 'node-d'];

// One name per environment: two checkouts testing on this machine never share the image.
const suffix = createHash('sha256').update(E2E.dir).digest('hex').slice(0, 8);
const CONTENT = `shipped-${suffix}`;
/** The name each engine gives the image (podman puts short names under localhost/). */
const IMAGE: Record<Engine, string> = {
  podman: `localhost/ferry-e2e-extra-${suffix}:1`,
  docker: `ferry-e2e-extra-${suffix}:1`,
};

let scratch: string;
/** The image as a docker-archive, for docker (this machine runs no default dockerd). */
let archive: string;

const engineOn = (host: string, engine: Engine) => {
  const rt = runtimeOn(host, engine);
  if (!(rt instanceof ContainerEngineRuntime)) throw new Error(`${engine} is not a container engine`);
  return rt as ContainerEngineRuntime<EngineInspect>;
};

/** This machine's own podman (its default store), where the test image is built. */
const machinePodman = (args: string[]) => execa('podman', args);

const exec = (host: string, engine: Engine, name: string, cmd: string[]) => {
  const s = (runtimeOn(host, engine) as unknown as { settings: Record<string, string> }).settings;
  return engine === 'podman'
    ? execa('podman', ['--root', s.root!, '--runroot', s.runroot!, 'exec', name, ...cmd], {
        env: { CONTAINERS_CONF: s.containersConf! },
      })
    : execa(s.client!, ['-H', `unix://${s.socket}`, 'exec', name, ...cmd]);
};

/** Test cleanup only: every name of the image goes (docker keeps localhost/… from the archive too). */
async function removeTestImage(host: string, engine: Engine): Promise<void> {
  const id = await engineOn(host, engine)
    .imageIdOf(IMAGE[engine])
    .catch(() => undefined);
  if (!id) return;
  const s = (runtimeOn(host, engine) as unknown as { settings: Record<string, string> }).settings;
  if (engine === 'podman')
    await execa('podman', ['--root', s.root!, '--runroot', s.runroot!, 'rmi', '-f', id], {
      env: { CONTAINERS_CONF: s.containersConf! },
      reject: false,
    });
  else await execa(s.client!, ['-H', `unix://${s.socket}`, 'rmi', '-f', id], { reject: false });
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'ferry-e2e-images-'));
  // The dev image's rootfs (built by dev up) plus one file: a second, different image.
  const rootfs = path.join(scratch, 'rootfs.tar');
  await execa('cp', [path.join(E2E.dir, 'image', 'ferry-stateful.tar'), rootfs]);
  await execa('mkdir', ['-p', path.join(scratch, 'add', 'etc')]);
  await writeFile(path.join(scratch, 'add', 'etc', 'ferry-extra'), `${CONTENT}\n`);
  await execa('tar', ['-C', path.join(scratch, 'add'), '-rf', rootfs, './etc/ferry-extra']);
  await machinePodman(['rmi', '-f', IMAGE.podman]).catch(() => undefined);
  await machinePodman(['import', '--quiet', rootfs, IMAGE.podman]);
  archive = path.join(scratch, 'image.tar');
  await machinePodman(['save', '--quiet', '--format', 'docker-archive', '-o', archive, IMAGE.podman]);
});

afterAll(async () => {
  for (const engine of ENGINES)
    for (const host of HOSTS) {
      for (const n of [`img-${engine}`, `img-${engine}-stay`])
        await runtimeOn(host, engine).stop(n, { anyOwner: true });
      await removeTestImage(host, engine);
      await writeFile(path.join(stateDir(host), 'fault-injection.json'), '{}');
    }
  await machinePodman(['rmi', '-f', IMAGE.podman]).catch(() => undefined);
  await rm(scratch, { recursive: true, force: true });
});

async function spawn(host: string, engine: Engine, name: string): Promise<number> {
  const r = await ferry([
    'dev',
    'spawn',
    '--host',
    host,
    '--runtime',
    engine,
    '--name',
    name,
    '--image',
    IMAGE[engine],
    '--',
    '/bin/ferry-stateful',
    '16',
    '20',
  ]);
  if (r.exitCode !== 0) throw new Error(`dev spawn ${engine}/${name} failed:\n${r.stderr}`);
  for (let i = 0; i < 100; i++) {
    if (parseStatefulOutput(await engineOn(host, engine).output(name)).length >= 10)
      return (await engineOn(host, engine).inspect(name))!.pid!;
    await sleep(100);
  }
  throw new Error(`${engine}/${name} printed nothing on ${host}`);
}

async function migrate(engine: Engine, name: string, to: string, extra: string[] = []) {
  const r = await ferry([
    'migrate',
    name,
    '--runtime',
    engine,
    '--from',
    'node-a',
    '--to',
    to,
    '--json',
    ...extra,
  ]);
  return { ...r, result: r.stdout ? (JSON.parse(r.stdout) as MigrationResult) : undefined };
}

/** Its whole output: no restart, one checksum, still growing. */
async function continues(host: string, engine: Engine, name: string): Promise<void> {
  const output = () => engineOn(host, engine).output(name);
  const before = parseStatefulOutput(await output()).length;
  await sleep(800);
  const lines = parseStatefulOutput(await output());
  expect(lines.length).toBeGreaterThan(before);
  expect(lines[0]!.counter).toBe(1);
  expect(analyseContinuity(lines)).toMatchObject({ restarts: 0, counterBreaks: 0, distinctChecksums: 1 });
}

/** No archive of a shipped image is left in any migration folder of the host. */
async function noArchiveLeft(host: string): Promise<void> {
  const root = path.join(stateDir(host), 'migrations');
  for (const id of await readdir(root).catch(() => [] as string[]))
    expect(await readdir(path.join(root, id, 'image')).catch(() => [])).toEqual([]);
}

describe.each(ENGINES)('%s: an image only the source has', (engine) => {
  const name = `img-${engine}`;
  const stay = `img-${engine}-stay`;
  let sourceId: string;

  it('dev load-image loads a local image on node-a only', async () => {
    const from = engine === 'podman' ? [] : ['--file', archive]; // no default dockerd here
    const r = await ferry([
      'dev',
      'load-image',
      '--host',
      'node-a',
      '--image',
      IMAGE[engine],
      ...from,
      '--runtime',
      engine,
      '--json',
    ]);
    if (r.exitCode !== 0) throw new Error(`dev load-image failed (${r.exitCode}):\n${r.stderr}`);
    const loaded = (JSON.parse(r.stdout) as { loaded: { engine: string; imageId: string }[] }).loaded;
    expect(loaded).toHaveLength(1);
    sourceId = loaded[0]!.imageId;
    expect(await engineOn('node-a', engine).imageIdOf(IMAGE[engine])).toBe(sourceId);
    for (const host of ['node-b', 'node-c'])
      expect(await engineOn(host, engine).imageIdOf(IMAGE[engine])).toBeUndefined();
  });

  it('ships it before the freeze, checked by id; the container runs on the destination with its state', async () => {
    await spawn('node-a', engine, name);
    const { exitCode, result, stderr } = await migrate(engine, name, 'node-b');
    if (exitCode !== 0) throw new Error(`migrate failed:\n${stderr}\n${JSON.stringify(result)}`);
    expect(result!.outcome).toBe('migrated');
    const image = result!.image!;
    expect(image).toMatchObject({
      image: IMAGE[engine],
      imageId: sourceId,
      shipped: true,
      createdOnDestination: true,
    });
    expect(image.archiveBytes).toBeGreaterThan(1024 * 1024);
    expect(image.bytesSent).toBeGreaterThan(0);
    for (const t of [image.saveMs, image.shipMs, image.loadMs]) expect(t).toBeGreaterThanOrEqual(0);
    console.log(
      `${engine} image ${image.image}: ${(image.archiveBytes! / 1024 / 1024).toFixed(1)} MiB archive; ` +
        `save ${image.saveMs} ms, ship ${image.shipMs} ms, load ${image.loadMs} ms; ` +
        `phase ship-image ${result!.phases.find((p) => p.phase === 'ship-image')?.durationMs} ms`,
    );
    expect(result!.phases.map((p) => p.phase).slice(0, 3)).toEqual(['preflight', 'ship-image', 'presync']);
    // The same image (by id) under the same name on the destination; the container runs from it.
    expect(await engineOn('node-b', engine).imageIdOf(IMAGE[engine])).toBe(sourceId);
    expect(await engineOn('node-b', engine).inspect(name)).toMatchObject({ name, running: true });
    expect(await engineOn('node-a', engine).inspect(name)).toBeUndefined();
    expect((await exec('node-b', engine, name, ['cat', '/etc/ferry-extra'])).stdout).toBe(CONTENT);
    await continues('node-b', engine, name);
    for (const host of ['node-a', 'node-b']) await noArchiveLeft(host);
  });

  it('--no-ship-image refuses with both fixes named; the workload untouched', async () => {
    const pid = await spawn('node-a', engine, stay);
    const { exitCode, result } = await migrate(engine, stay, 'node-c', ['--no-ship-image']);
    expect(exitCode).toBe(2);
    expect(result!.outcome).toBe('refused');
    expect(result!.cause?.type).toBe('ImageMissing');
    expect(result!.cause?.message).toContain(`ferry dev load-image --host node-c --image ${IMAGE[engine]}`);
    expect(result!.cause?.message).toContain('migrate without --no-ship-image');
    expect(result!.phases.map((p) => p.phase)).toEqual(['preflight']);
    expect(result!.image).toBeUndefined();
    expect((await engineOn('node-a', engine).inspect(stay))?.pid).toBe(pid);
    expect(await engineOn('node-c', engine).imageIdOf(IMAGE[engine])).toBeUndefined();
    await continues('node-a', engine, stay);
  });

  it('a migration that ends before the freeze removes the image it loaded', async () => {
    const pid = (await engineOn('node-a', engine).inspect(stay))!.pid;
    // The destination pauses once the image is loaded and named: the migration is cancelled there.
    const faults = path.join(stateDir('node-c'), 'fault-injection.json');
    await writeFile(faults, JSON.stringify({ pauseMs: { [`after-load-image:${stay}`]: 30_000 } }));
    const running = migrate(engine, stay, 'node-c');
    for (let i = 0; (await readFile(faults, 'utf8')).includes('after-load-image'); i++) {
      if (i > 1200) throw new Error('the image was never loaded on node-c');
      await sleep(50);
    }
    expect(await engineOn('node-c', engine).imageIdOf(IMAGE[engine])).toBe(sourceId);
    expect((await ferry(['cancel', `migrate-${engine}-node-a-${stay}`])).exitCode).toBe(0);
    const { result } = await running;
    expect(result!.outcome).toBe('cancelled');
    expect(result!.image).toMatchObject({
      imageId: sourceId,
      createdOnDestination: true,
      removedAfterFailure: true,
    });
    expect(await engineOn('node-c', engine).imageIdOf(IMAGE[engine])).toBeUndefined();
    expect((await engineOn('node-a', engine).inspect(stay))?.pid).toBe(pid);
    await continues('node-a', engine, stay);
    for (const host of ['node-a', 'node-c']) await noArchiveLeft(host);
  });
});
