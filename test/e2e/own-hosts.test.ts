// docs/own-hosts.md, followed: two simulated hosts set up WITHOUT `ferry dev` (own sshd on
// 127.0.32.1 and .2, own state folders, the page's config file, `ferry setup`, workers started by
// the page's own line), a container started with plain `runc run` and a process started by
// hand, both moved to node-b and back. The blocks marked `<!-- own-hosts-test STEP [HOST] -->`
// are read from the page and run with bash as they are, after the path table below.
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { FerryClient } from '../../src/client/ferry-client.js';
import { DevLayout, REPO_ROOT } from '../../src/dev/dev-layout.js';
import { ensureClientKey, startHostSshd } from '../../src/dev/sshd.js';
import { spawnDetached, stopProcess, waitFor } from '../../src/dev/processes.js';
import { startTemporalDevServer } from '../../src/dev/temporal-dev-server.js';
import { analyseContinuity, parseStatefulOutput } from '../../src/domain/output-analysis.js';
import { HostPaths } from '../../src/host/host-paths.js';
import { createRuntime } from '../../src/runtimes/index.js';
import { removeCgroupTree } from '../../src/runtimes/cgroups.js';
import { unmountUnder } from '../../src/runtimes/mounts.js';
import { closeSshMasters } from '../../src/transfer/ssh-control.js';
import { sleep } from './env.js';
import { runcDelete, runcState } from './user-containers.js';

const DIR = path.join(REPO_ROOT, '.ferry', 'own-hosts-test');
const TEMPORAL_PORT = 37300;
const SSH_PORT = 37322;
const HOSTS = { 'node-a': '127.0.32.1', 'node-b': '127.0.32.2' } as const;
type Host = keyof typeof HOSTS;
const hostDir = (h: Host) => path.join(DIR, 'hosts', h);
const state = (h: Host) => path.join(hostDir(h), 'state');
const runcRoot = (h: Host) => path.join(hostDir(h), 'runc');

/** The page's paths and addresses → this machine's, per host (the longest first). */
const substitutions = (h: Host): [string, string][] => [
  ['/etc/ferry/ferry.yaml', path.join(DIR, 'ferry.yaml')],
  ['/etc/ferry', path.join(DIR, 'etc')],
  ['/var/lib/ferry', state(h)],
  ['/run/runc', runcRoot(h)],
  ['/run/counter.pid', path.join(DIR, 'counter.pid')],
  ['/var/log', path.join(hostDir(h), 'log')],
  ['/srv/containers', path.join(DIR, 'srv')],
  ['/opt/ferry', REPO_ROOT],
  ['10.0.0.11:7233', `127.0.0.1:${TEMPORAL_PORT}`],
  ['10.0.0.11', HOSTS['node-a']],
  ['10.0.0.12', HOSTS['node-b']],
  ['port: 22 }', `port: ${SSH_PORT} }`],
];
const localise = (text: string, h: Host) =>
  substitutions(h).reduce((t, [from, to]) => t.split(from).join(to), text);

/** The page's marked blocks: step (and host) → text. */
async function pageBlocks(): Promise<Map<string, string>> {
  const page = await readFile(path.join(REPO_ROOT, 'docs', 'own-hosts.md'), 'utf8');
  const blocks = new Map<string, string>();
  for (const m of page.matchAll(/<!-- own-hosts-test ([\w-]+(?: [\w-]+)?) -->\n\n```\w+\n([\s\S]*?)```/g))
    blocks.set(m[1]!, m[2]!);
  return blocks;
}

let blocks: Map<string, string>;
let client: FerryClient;
const pids: { temporal?: number; sshd: number[]; workers: number[] } = { sshd: [], workers: [] };
const SHELL_ENV = { PATH: `${path.join(DIR, 'bin')}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: '/root' };
let t0 = 0;

function block(step: string, h?: Host): string {
  const text = blocks.get(h ? `${step} ${h}` : step);
  if (!text)
    throw new Error(`docs/own-hosts.md has no block marked own-hosts-test ${step}${h ? ` ${h}` : ''}`);
  return h ? localise(text, h) : text;
}

/**
 * An operator's shell has only its stdio open. Jest's process holds other descriptors that its
 * children inherit (a pipe at fd 251 here), which a process started by hand would then share
 * with the test: ferry would rightly refuse it (pipe-outside). Closed before the block runs.
 */
const CLEAN_SHELL =
  'for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done 2>/dev/null; ' +
  'exec bash -euo pipefail -c "$0"';

/** Runs a block of the page on a host, as an operator's shell would. */
async function onHost(h: Host, step: string): Promise<string> {
  const r = await execa('bash', ['-c', CLEAN_SHELL, block(step, h)], {
    env: SHELL_ENV,
    extendEnv: false,
    // No socket on stdin: bash would take itself for a remote shell and read bashrc.
    stdin: 'ignore',
    reject: false,
    timeout: 170_000,
  });
  if (r.exitCode !== 0)
    throw new Error(
      `block ${step} on ${h} failed (${r.exitCode}):\n${String(r.stderr)}\n${String(r.stdout)}`,
    );
  return String(r.stdout);
}

async function lines(file: string) {
  return parseStatefulOutput(await readFile(file, 'utf8').catch(() => ''));
}

/** The counter of a workload's output file goes on from where it was, same memory checksum. */
async function continues(file: string): Promise<void> {
  const before = (await lines(file)).length;
  for (let i = 0; i < 50 && (await lines(file)).length <= before + 5; i++) await sleep(100);
  const all = await lines(file);
  expect(all.length).toBeGreaterThan(before);
  const c = analyseContinuity(all);
  expect([c.restarts, c.counterBreaks, c.distinctChecksums]).toEqual([0, 0, 1]);
}

const processOn = (h: Host) => createRuntime('process', { host: h, paths: new HostPaths(state(h)) });
const containerLog = (h: Host) =>
  path.join(new HostPaths(state(h)).workloadDir('runc', 'web'), 'bundle', 'rootfs', 'data', 'out.log');

beforeAll(async () => {
  await tearDown();
  t0 = Date.now();
  blocks = await pageBlocks();
  await mkdir(path.join(DIR, 'bin'), { recursive: true, mode: 0o700 });
  await symlink(path.join(REPO_ROOT, 'bin', 'ferry'), path.join(DIR, 'bin', 'ferry'));
  pids.temporal = await startTemporalDevServer({
    port: TEMPORAL_PORT,
    uiPort: TEMPORAL_PORT + 1,
    dbFile: path.join(DIR, 'temporal.db'),
    logFile: path.join(DIR, 'temporal.log'),
  });
  // sshd, key and known_hosts as section 2 of the page sets them up (src/dev/sshd.ts).
  const layout = new DevLayout(DIR);
  await mkdir(layout.logsDir, { recursive: true });
  await ensureClientKey(layout);
  const known: string[] = [];
  for (const h of Object.keys(HOSTS) as Host[]) {
    for (const d of [state(h), runcRoot(h), path.join(hostDir(h), 'log')])
      await mkdir(d, { recursive: true, mode: 0o700 });
    const sshd = await startHostSshd(layout, h, HOSTS[h], SSH_PORT);
    pids.sshd.push(sshd.pid);
    known.push(sshd.knownHostsLine);
  }
  await mkdir(path.join(DIR, 'etc'), { recursive: true, mode: 0o700 });
  await execa('cp', [layout.clientKey, path.join(DIR, 'etc', 'id_ed25519')]);
  await writeFile(path.join(DIR, 'etc', 'known_hosts'), known.join('\n') + '\n', { mode: 0o600 });
  // The page's config, as it is (its paths localised); one machine needs nothing else.
  const config = parseYaml(localise(block('config'), 'node-a')) as {
    hosts: { name: Host; stateDir: string; runc: { root: string } }[];
  };
  for (const h of config.hosts) {
    h.stateDir = state(h.name);
    h.runc.root = runcRoot(h.name);
  }
  await writeFile(path.join(DIR, 'ferry.yaml'), toYaml(config), { mode: 0o600 });
  await onHost('node-a', 'setup');
  client = await FerryClient.connect({ address: `127.0.0.1:${TEMPORAL_PORT}` });
  for (const h of Object.keys(HOSTS) as Host[]) {
    pids.workers.push(
      spawnDetached(
        'bash',
        ['-c', CLEAN_SHELL, block('worker', h)],
        path.join(DIR, `worker-${h}.out`),
        SHELL_ENV,
      ),
    );
    await waitFor(`the worker of ${h}`, () => client.hasWorker(h), 90_000, `see ${hostDir(h)}/log`);
  }
});

afterAll(async () => {
  await client?.close();
  await tearDown();
});

/** Everything the test made: workers, sshds, Temporal, containers, the process, cgroups, folders. */
async function tearDown(): Promise<void> {
  for (const pid of pids.workers) await stopGroup(pid);
  for (const h of Object.keys(HOSTS) as Host[]) {
    await runcDelete(runcRoot(h), 'web');
    const pid = Number((await readFile(path.join(DIR, 'counter.pid'), 'utf8').catch(() => '')).trim());
    if (pid > 1 && (await processOn(h).inspect('counter'))?.running) process.kill(pid, 'SIGKILL');
    await removeCgroupTree(new HostPaths(state(h)).cgroupParent(h));
    await closeSshMasters(state(h));
  }
  for (const pid of pids.sshd) await stopProcess(pid, 'sshd');
  await stopProcess(pids.temporal, 'start-dev', 10_000);
  pids.sshd = [];
  pids.workers = [];
  await unmountUnder(DIR);
  await rm(DIR, { recursive: true, force: true });
}

/** The worker's shell, ferry's launcher and node: one process group. */
async function stopGroup(pgid: number): Promise<void> {
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  process.kill(-pgid, 'SIGKILL');
}

describe('docs/own-hosts.md, followed', () => {
  it('a container from plain runc run and a process started by hand move to node-b and back', async () => {
    await onHost('node-a', 'container');
    await onHost('node-a', 'process');
    const counterLog = path.join(hostDir('node-a'), 'log', 'counter.log');
    const userBundle = path.join(DIR, 'srv', 'web');
    const userConfig = await readFile(path.join(userBundle, 'config.json'), 'utf8');
    const userLog = path.join(userBundle, 'rootfs', 'data', 'out.log');
    for (
      let i = 0;
      i < 100 && ((await lines(userLog)).length < 20 || (await lines(counterLog)).length < 20);
      i++
    )
      await sleep(100);

    await onHost('node-a', 'there');
    // No assertion on it: the figure for the report.
    console.log(`own-hosts: from an empty folder to both workloads moved: ${Date.now() - t0} ms`);
    const web = await runcState(runcRoot('node-b'), 'web');
    expect(web?.status).toBe('running');
    expect(web?.bundle).toBe(path.join(state('node-b'), 'workloads', 'runc', 'web', 'bundle'));
    const hash = new HostPaths(state('node-b')).stateHash();
    expect(await readFile(`/proc/${web!.pid}/cgroup`, 'utf8')).toContain(`/ferry/node-b-${hash}/web`);
    expect(await runcState(runcRoot('node-a'), 'web')).toBeUndefined();
    expect(await readFile(path.join(userBundle, 'config.json'), 'utf8')).toBe(userConfig);
    await continues(containerLog('node-b'));
    expect((await processOn('node-b').inspect('counter'))?.running).toBe(true);
    expect((await processOn('node-a').inspect('counter'))?.running ?? false).toBe(false);
    await continues(counterLog);

    await onHost('node-b', 'back');
    expect((await runcState(runcRoot('node-a'), 'web'))?.bundle).toBe(
      path.join(state('node-a'), 'workloads', 'runc', 'web', 'bundle'),
    );
    await continues(containerLog('node-a'));
    expect((await processOn('node-a').inspect('counter'))?.running).toBe(true);
    await continues(counterLog);

    await onHost('node-a', 'remove');
    expect(await runcState(runcRoot('node-a'), 'web')).toBeUndefined();
    expect((await processOn('node-a').inspect('counter'))?.running ?? false).toBe(false);
    const listed = await onHost('node-a', 'clean');
    expect(listed.trim()).toBe(''); // successful migrations leave no images
  });
});
