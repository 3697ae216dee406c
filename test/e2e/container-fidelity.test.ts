// Containers started the way users start them (the engine's own CLI against a simulated host,
// as `ferry dev status` prints it), migrated with bin/ferry: everything the user set arrives,
// `inspect` differs only where docs/runtimes.md says it may, the published port answers on the
// destination; a container of the same name on the destination is never replaced unasked.
import { readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';
import { FerryClient } from '../../src/client/ferry-client.js';
import { parseConfig } from '../../src/config/schema.js';
import type { MigrateRequest, MigrationResult } from '../../src/domain/types.js';
import { HostPaths } from '../../src/host/host-paths.js';
import { CONFIG_FILE, E2E, ferry, sleep, stateDir } from './env.js';

type Engine = 'docker' | 'podman';
const IMAGE = { docker: 'ferry-stateful:latest', podman: 'localhost/ferry-stateful:latest' };
const PORT = { docker: 16379, podman: 16380 };

/** The host's engine settings from the environment's config file. */
function settings(host: string) {
  const h = parseConfig(parseYaml(readFileSync(CONFIG_FILE as string, 'utf8'))).hosts.find(
    (x) => x.name === host,
  )!;
  return { docker: h.docker, podman: h.podman as typeof h.podman & { netns?: string } };
}

/** The engine's CLI against a simulated host, as a user runs it (`ferry dev status` prints it). */
function cli(host: string, engine: Engine, args: string[]) {
  const s = settings(host);
  if (engine === 'docker') return execa(s.docker.client, ['-H', `unix://${s.docker.socket}`, ...args]);
  const p = s.podman;
  const podman = ['podman', '--root', p.root!, '--runroot', p.runroot!, ...args];
  return p.netns
    ? execa('nsenter', [`--net=${p.netns}`, ...podman], { env: { CONTAINERS_CONF: p.containersConf! } })
    : execa(podman[0]!, podman.slice(1), { env: { CONTAINERS_CONF: p.containersConf! } });
}

type Record_ = Record<string, unknown> & {
  Id: string;
  State: { Pid: number; Running: boolean; Status: string; ConmonPid?: number };
};

async function inspect(host: string, engine: Engine, name: string): Promise<Record_ | undefined> {
  const r = await cli(host, engine, ['container', 'inspect', name]).catch(() => undefined);
  return r ? (JSON.parse(r.stdout) as Record_[])[0] : undefined;
}

const removeAll = async (engine: Engine, name: string) => {
  for (const host of E2E.hosts) await cli(host, engine, ['rm', '-f', name]).catch(() => undefined);
};

/** GET / of the published port inside the host's network namespace (where its engine publishes). */
async function answer(host: string, port: number): Promise<string | undefined> {
  const netns = `/run/netns/ferry-${new HostPaths(stateDir(host)).stateHash()}`;
  const r = await execa(
    'nsenter',
    // No -T: busybox 1.35's wget crashes with it; execa's timeout bounds the wait instead.
    [`--net=${netns}`, 'busybox', 'wget', '-q', '-O', '-', `http://127.0.0.1:${port}/`],
    { reject: false, timeout: 3_000 },
  );
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

async function answers(host: string, port: number): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const text = await answer(host, port);
    if (text) return text;
    await sleep(100);
  }
  throw new Error(`nothing answers on ${host}:${port}`);
}

async function migrate(engine: Engine, name: string, from: string, to: string) {
  const r = await ferry(['migrate', name, '--runtime', engine, '--from', from, '--to', to, '--json']);
  return { ...r, result: r.stdout ? (JSON.parse(r.stdout) as MigrationResult) : undefined };
}

/** Each host's own folders in an inspect record, named alike, so that paths compare across hosts. */
async function hostPlaces(host: string, engine: Engine, id: string): Promise<[string, string][]> {
  const s = settings(host);
  if (engine === 'podman')
    return [
      [s.podman.root!, '<ROOT>'],
      [s.podman.runroot!, '<RUNROOT>'],
    ];
  const root = (await cli(host, engine, ['info', '--format', '{{.DockerRootDir}}'])).stdout.trim();
  return [
    [root, '<DATA-ROOT>'],
    [path.dirname(s.docker.socket), '<EXEC-ROOT>'],
    [id, '<ID>'],
    [id.slice(0, 12), '<ID>'],
  ];
}

/** path -> value of every leaf, host folders replaced by their names. */
function leaves(value: unknown, places: [string, string][], at = '', out = new Map<string, unknown>()) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value))
      leaves(v, places, `${at}${/^\w+$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`}`, out);
  } else if (Array.isArray(value) && value.length) {
    value.forEach((v, i) => leaves(v, places, `${at}[${i}]`, out));
  } else {
    let v = value;
    if (typeof v === 'string') for (const [from, to] of places) v = (v as string).split(from).join(to);
    out.set(at.replace(/^\./, ''), v);
  }
  return out;
}

/**
 * What may differ between the source's and the destination's `inspect` (docs/runtimes.md,
 * "What differs after a migration"): identity, times, processes, the new layer folders and
 * network endpoint. Everything else, host folders aside, must be equal.
 */
const ALLOWED: Record<Engine, RegExp[]> = {
  docker: [
    /^(Id|Created|Image)$/, // new container; Image: the local image id (each host imported it)
    /^State\.(Pid|StartedAt|FinishedAt)$/,
    /^GraphDriver\.Data\./, // the new container's own layer
    /^NetworkSettings\.(SandboxID|SandboxKey|EndpointID|IPAddress|Gateway|MacAddress|LinkLocalIPv6Address)$/,
    /^NetworkSettings\.Networks\.\w+\.(EndpointID|NetworkID|IPAddress|Gateway|MacAddress)$/,
    /^Config\.Labels\["ferry\.migration"\]$/, // added: the migration that created it
  ],
  podman: [
    /^Created$/,
    /^State\.(Pid|ConmonPid|StartedAt|Restored|RestoredAt)$/,
    /^GraphDriver\.Data\.(MergedDir|UpperDir|WorkDir)$/,
    /^NetworkSettings\.SandboxKey$/,
    /^NetworkSettings\.(IPAddress|Gateway|MacAddress)$/,
    /^NetworkSettings\.Networks\.\w+\.(IPAddress|Gateway|MacAddress|EndpointID)$/,
    // The command line that created it, kept verbatim: it names the source's --root/--runroot.
    /^Config\.CreateCommand\[\d+\]$/,
  ],
};

async function differences(
  engine: Engine,
  a: Record_,
  from: string,
  b: Record_,
  to: string,
): Promise<string[]> {
  const before = leaves(a, await hostPlaces(from, engine, a.Id));
  const after = leaves(b, await hostPlaces(to, engine, b.Id));
  const out: string[] = [];
  for (const k of new Set([...before.keys(), ...after.keys()]))
    if (
      JSON.stringify(before.get(k)) !== JSON.stringify(after.get(k)) &&
      !ALLOWED[engine].some((r) => r.test(k))
    )
      out.push(`${k}: ${JSON.stringify(before.get(k))} -> ${JSON.stringify(after.get(k))}`);
  return out;
}

/** `run` as a user types it: ports, limits, restart policy, capabilities, ulimits, tmpfs, … */
function userRun(engine: Engine, name: string, token: string): string[] {
  return [
    'run',
    '-d',
    '--name',
    name,
    '-p',
    `${PORT[engine]}:8080`,
    '--memory',
    '256m',
    '--memory-swap',
    '512m',
    '--cpu-shares',
    '512',
    '--cpuset-cpus',
    '0',
    ...(engine === 'docker' ? ['--cpus', '0.5'] : []),
    '--pids-limit',
    '100',
    '--restart',
    'unless-stopped',
    '--cap-drop',
    'NET_RAW',
    '--cap-add',
    'SYS_PTRACE',
    '--security-opt',
    'no-new-privileges',
    '--ulimit',
    'nofile=1024:2048',
    // podman then sets nproc to its own default, above this machine's hard limit: give it.
    ...(engine === 'podman' ? ['--ulimit', 'nproc=32768:32768'] : []),
    '--tmpfs',
    '/scratch:size=16m',
    '-e',
    `TOKEN=${token}`,
    '-e',
    'K=V',
    '-l',
    'k=v',
    '--user',
    '0:0',
    '-w',
    '/tmp',
    '--hostname',
    'webhost',
    '--stop-signal',
    'SIGINT',
    '--stop-timeout',
    '7',
    '--init',
    '--read-only',
    '--add-host',
    'foo:10.1.2.3',
    '--dns',
    '10.0.0.53',
    '--dns-search',
    'example.test',
    ...(engine === 'docker' ? ['--log-opt', 'max-size=1m'] : []),
    IMAGE[engine],
    'sh',
    '-c',
    // The page lives in the tmpfs: it answers on the destination only if the tmpfs moved too.
    'mkdir -p /scratch/www && echo "$TOKEN" > /scratch/www/index.html && exec busybox httpd -f -p 8080 -h /scratch/www',
  ];
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

describe.each(['docker', 'podman'] as const)('%s: containers as users run them', (engine) => {
  const web = `fid-${engine}`;
  const dup = `dup-${engine}`;
  afterAll(async () => {
    for (const n of [web, dup]) await removeAll(engine, n);
  });

  it('arrive with everything the user set; inspect differs only where documented; the port answers there', async () => {
    const token = `${engine}-${Date.now()}`;
    await cli('node-a', engine, userRun(engine, web, token));
    expect(await answers('node-a', PORT[engine])).toBe(token);
    const before = (await inspect('node-a', engine, web))!;
    const { result, exitCode, stderr } = await migrate(engine, web, 'node-a', 'node-b');
    if (exitCode !== 0) throw new Error(`migrate failed:\n${stderr}\n${JSON.stringify(result?.cause)}`);
    expect(result!.outcome).toBe('migrated');
    const after = (await inspect('node-b', engine, web))!;
    expect(after.State.Running).toBe(true);
    expect(await differences(engine, before, 'node-a', after, 'node-b')).toEqual([]);
    // Same page, from the same tmpfs, through the port published on node-b.
    expect(await answers('node-b', PORT[engine])).toBe(token);
    // Gone from the source: not left behind, not restarted by its restart policy.
    expect(await inspect('node-a', engine, web)).toBeUndefined();
    expect(await answer('node-a', PORT[engine])).toBeUndefined();
    if (engine === 'podman') {
      // conmon's files stay on their own host: node-b's conmon writes into node-b's run root.
      const a = settings('node-a').podman.runroot!;
      const b = settings('node-b').podman.runroot!;
      const conmon = readFileSync(`/proc/${after.State.ConmonPid!}/cmdline`, 'utf8').split('\0');
      expect(conmon.filter((arg) => arg.includes(a))).toEqual([]);
      expect(after.ConmonPidFile).toBe(`${b}/overlay-containers/${after.Id}/userdata/conmon.pid`);
      expect(readFileSync(after.ConmonPidFile as string, 'utf8').trim()).toBe(String(after.State.ConmonPid));
      expect(await exists(path.join(a, 'overlay-containers', after.Id))).toBe(false);
    }
  });

  it('a same-name container on the destination, in any state, is refused before any freeze and left alone', async () => {
    await cli('node-a', engine, [
      'run',
      '-d',
      '--name',
      dup,
      '--network',
      'none',
      IMAGE[engine],
      'sleep',
      '3600',
    ]);
    await cli('node-b', engine, ['create', '--name', dup, '--network', 'none', IMAGE[engine], 'sleep', '60']);
    await cli('node-c', engine, [
      'run',
      '-d',
      '--name',
      dup,
      '--network',
      'none',
      IMAGE[engine],
      'sleep',
      '3600',
    ]);
    const source = (await inspect('node-a', engine, dup))!;
    const stopped = (await inspect('node-b', engine, dup))!;
    const running = (await inspect('node-c', engine, dup))!;

    const toStopped = await migrate(engine, dup, 'node-a', 'node-b');
    expect(toStopped.exitCode).not.toBe(0);
    expect(toStopped.result!.outcome).toBe('refused');
    expect(toStopped.result!.phases.map((p) => p.phase)).toEqual(['preflight']);
    expect(toStopped.result!.cause?.type).toBe('NameTakenOnDestination');
    const message = toStopped.result!.cause!.message;
    expect(message).toContain(`node-b (state ${stopped.State.Status}, id ${stopped.Id.slice(0, 12)})`);
    expect(message).toContain(`rm ${stopped.Id.slice(0, 12)}`);
    expect(message).toContain('replaceStopped');

    const toRunning = await migrate(engine, dup, 'node-a', 'node-c');
    expect(toRunning.result!.outcome).toBe('refused');
    expect(toRunning.result!.cause?.type).toBe('WorkloadAlreadyOnDestination');
    expect(toRunning.result!.cause!.message).toContain(
      `node-c (state running, id ${running.Id.slice(0, 12)})`,
    );

    // Untouched on all three hosts: the same containers, the source never frozen.
    expect((await inspect('node-b', engine, dup))!).toMatchObject({
      Id: stopped.Id,
      State: { Running: false },
    });
    expect((await inspect('node-c', engine, dup))!).toMatchObject({
      Id: running.Id,
      State: { Pid: running.State.Pid },
    });
    expect((await inspect('node-a', engine, dup))!).toMatchObject({
      Id: source.Id,
      State: { Running: true, Pid: source.State.Pid },
    });
  });

  it('replaceStopped: a stopped same-name container is replaced, a running one never', async () => {
    const client = await FerryClient.connect({ address: `127.0.0.1:${E2E.temporalPort}` });
    try {
      const stopped = (await inspect('node-b', engine, dup))!;
      const req = {
        workload: dup,
        runtime: engine,
        source: 'node-a',
        destination: 'node-b',
        replaceStopped: true,
      };
      const replaced = await client.migrate(req as MigrateRequest);
      expect(replaced.cause).toBeUndefined();
      expect(replaced.outcome).toBe('migrated');
      const now = (await inspect('node-b', engine, dup))!;
      expect(now.State.Running).toBe(true);
      expect(now.Id).not.toBe(stopped.Id);
      expect(await inspect('node-b', engine, stopped.Id)).toBeUndefined();
      expect(await inspect('node-a', engine, dup)).toBeUndefined();

      const running = (await inspect('node-c', engine, dup))!;
      const refused = await client.migrate({
        ...req,
        source: 'node-b',
        destination: 'node-c',
      } as MigrateRequest);
      expect(refused.outcome).toBe('refused');
      expect(refused.cause?.type).toBe('WorkloadAlreadyOnDestination');
      expect((await inspect('node-c', engine, dup))!).toMatchObject({
        Id: running.Id,
        State: { Pid: running.State.Pid },
      });
      expect((await inspect('node-b', engine, dup))!.State.Pid).toBe(now.State.Pid);
    } finally {
      await client.close();
    }
  });
});
