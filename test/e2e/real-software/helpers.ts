// Helpers of the real-software suite (test/e2e/real-software.test.ts): the engines of a
// simulated host called as an operator would (plain podman/docker commands against its storage
// and socket), migrations through the real CLI, the programs' own output, and the result table.
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { MigrationResult } from '../../../src/domain/types.js';
import type { RuntimeName } from '../../../src/domain/names.js';
import { engineLayout } from '../../../src/dev/container-engines.js';
import { DevLayout } from '../../../src/dev/dev-layout.js';
import { HostPaths } from '../../../src/host/host-paths.js';
import { E2E, ferry, runtimeOn, sleep, stateDir } from '../env.js';

export const engines = (host: string) => engineLayout(new DevLayout(E2E.dir), host);

/** `podman …` against the simulated host's own storage and containers.conf. */
export function podman(host: string, args: string[], opts: { reject?: boolean } = {}) {
  const p = engines(host).podman;
  return execa('podman', ['--root', p.root, '--runroot', p.runroot, ...args], {
    env: { CONTAINERS_CONF: p.containersConf },
    reject: opts.reject ?? true,
    timeout: 120_000,
  });
}

/** `docker …` against the simulated host's own dockerd socket. */
export function docker(host: string, args: string[], opts: { reject?: boolean } = {}) {
  const d = engines(host).docker;
  return execa(d.client, ['-H', `unix://${d.socket}`, ...args], {
    reject: opts.reject ?? true,
    timeout: 120_000,
  });
}

/** A command run inside the network namespace of the host's dockerd (where its ports are published). */
export function inDockerNetns(host: string, argv: string[]) {
  return execa('nsenter', [`--net=/run/netns/${engines(host).netns}`, ...argv], {
    reject: false,
    timeout: 30_000,
  });
}

/** `runc exec` in a container of ferry's runc runtime on the host. */
export function runcExec(host: string, name: string, argv: string[]) {
  return execa('runc', ['--root', new HostPaths(stateDir(host)).runcRoot(), 'exec', name, ...argv], {
    reject: false,
    timeout: 30_000,
  });
}

export interface Migration {
  exitCode: number;
  stderr: string;
  result?: MigrationResult & { freezes?: unknown };
  wallMs: number;
  /** The test told the waiting workflow that the destination runs no copy (ferry resolve). */
  resolved: boolean;
}

/**
 * Runs `ferry migrate … --json`. With resolveWaits, a rollback that stops to wait for an operator
 * (its progress names `ferry resolve … --destination-is-down`) while the destination really runs
 * no copy is resolved, so that the run ends instead of waiting out the CLI's timeout.
 */
export async function migrate(
  runtime: RuntimeName,
  name: string,
  from: string,
  to: string,
  extra: string[] = [],
  opts: { resolveWaits?: boolean } = {},
): Promise<Migration> {
  const started = Date.now();
  const workflowId = `migrate-${runtime}-${from}-${name}`;
  let done = false;
  let resolved = false;
  const running = ferry([
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
  const watch = (async () => {
    while (opts.resolveWaits && !done && !resolved) {
      await sleep(2_000);
      const show = await ferry(['show', workflowId, '--json'], 20_000);
      let waiting = false;
      try {
        const s = JSON.parse(show.stdout) as { status?: string; progress?: { rollback?: string } };
        waiting =
          s.status === 'RUNNING' &&
          /ferry resolve \S+ --destination-is-down/.test(s.progress?.rollback ?? '');
      } catch {
        /* not started yet */
      }
      if (waiting && !done && !(await runtimeOn(to, runtime).inspect(name))?.running) {
        await ferry(['resolve', workflowId, '--destination-is-down']);
        resolved = true;
      }
    }
  })();
  const r = await running;
  done = true;
  await watch;
  let result: Migration['result'];
  try {
    result = r.stdout ? (JSON.parse(r.stdout) as Migration['result']) : undefined;
  } catch {
    result = undefined;
  }
  return { exitCode: r.exitCode, stderr: r.stderr, result, wallMs: Date.now() - started, resolved };
}

/** Fails with what ferry said when a migration did not end `migrated`. */
export function expectMigrated(m: Migration): MigrationResult {
  if (m.result?.outcome !== 'migrated')
    throw new Error(
      `migration did not end migrated (exit ${m.exitCode}): ${m.result?.outcome ?? '?'} ${JSON.stringify(m.result?.cause)} ${m.result?.rollback ?? ''}\n${m.stderr.slice(-2000)}`,
    );
  return m.result;
}

export const output = (host: string, runtime: RuntimeName, name: string) =>
  runtimeOn(host, runtime).output(name);

/** Waits until the workload's output matches re (all matches returned). */
export async function waitForOutput(
  host: string,
  runtime: RuntimeName,
  name: string,
  re: RegExp,
  opts: { count?: number; timeoutMs?: number } = {},
): Promise<RegExpMatchArray[]> {
  const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const text = await output(host, runtime, name);
    const found = [...text.matchAll(global)];
    if (found.length >= (opts.count ?? 1)) return found;
    if (Date.now() > deadline)
      throw new Error(
        `${runtime}/${name} on ${host} printed no ${re} in time; its output ends:\n${text.slice(-3000)}`,
      );
    await sleep(100);
  }
}

/** Sends SIGUSR1 to the workload's main process and waits for one more line matching re. */
export async function askBySignal(
  host: string,
  runtime: RuntimeName,
  name: string,
  re: RegExp,
): Promise<RegExpMatchArray> {
  const pid = (await runtimeOn(host, runtime).inspect(name))?.pid;
  if (!pid) throw new Error(`${runtime}/${name} does not run on ${host}`);
  const global = new RegExp(re.source, 'gm');
  const before = [...(await output(host, runtime, name)).matchAll(global)].length;
  process.kill(pid, 'SIGUSR1');
  const found = await waitForOutput(host, runtime, name, re, { count: before + 1, timeoutMs: 30_000 });
  return found.at(-1)!;
}

/** `tick <ms> <n> …` lines: their times and counters, in order. */
export function ticks(text: string): { ms: number; n: number; rest: string }[] {
  return [...text.matchAll(/^tick (\d+) (\d+)(?: (.*))?$/gm)].map((m) => ({
    ms: Number(m[1]),
    n: Number(m[2]),
    rest: m[3] ?? '',
  }));
}

/** The largest gap between consecutive ticks, and whether the counter ever broke (restart, skip). */
export function tickContinuity(text: string): { count: number; largestGapMs: number; counterBreaks: number } {
  const t = ticks(text);
  let largestGapMs = 0;
  let counterBreaks = 0;
  for (let i = 1; i < t.length; i++) {
    largestGapMs = Math.max(largestGapMs, t[i]!.ms - t[i - 1]!.ms);
    if (t[i]!.n !== t[i - 1]!.n + 1) counterBreaks++;
  }
  return { count: t.length, largestGapMs, counterBreaks };
}

/** pids of a process's children (from /proc, host pid namespace). */
export async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

/** A host pid's pid inside its own (innermost) pid namespace, from /proc/PID/status NSpid. */
export async function nsPid(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const ns = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [String(pid)];
  return Number(ns.at(-1));
}

export interface Row {
  program: string;
  runtime: string;
  migrated: string;
  verifiedBy: string;
  downtime: string;
  freezes: string;
}

/** One row per case, printed as a table when the suite ends. */
export const rows: Row[] = [];

/** ferry's downtime and, when the program printed timestamps, the largest gap it saw. */
export function downtimeCell(result: MigrationResult | undefined, largestGapMs?: number): string {
  const ferryMs = result?.downtimeMs !== undefined ? `${result.downtimeMs} ms` : 'n/a';
  return largestGapMs !== undefined ? `${ferryMs} (largest gap ${largestGapMs} ms)` : ferryMs;
}

/** The result's `freezes`, when this version of ferry reports them. */
export function freezesCell(result: (MigrationResult & { freezes?: unknown }) | undefined): string {
  const f = result?.freezes;
  if (f === undefined) return 'not reported';
  if (Array.isArray(f)) return `${f.length}: ${JSON.stringify(f)}`;
  return JSON.stringify(f);
}

export function table(all: Row[]): string {
  const head: Row = {
    program: 'program',
    runtime: 'runtime',
    migrated: 'migrated',
    verifiedBy: 'state verified by',
    downtime: 'downtime',
    freezes: 'freezes',
  };
  const keys = Object.keys(head) as (keyof Row)[];
  const width = (k: keyof Row) => Math.max(...[head, ...all].map((r) => r[k].length));
  const line = (r: Row) => `| ${keys.map((k) => r[k].padEnd(width(k))).join(' | ')} |`;
  const rule = `|${keys.map((k) => '-'.repeat(width(k) + 2)).join('|')}|`;
  return [line(head), rule, ...all.map(line)].join('\n');
}

/** The memory, pids and CPU limits in force for a process, read from its cgroups (v1 or v2). */
export async function effectiveLimits(
  pid: number,
): Promise<{ memoryBytes?: number; pidsMax?: number; cpuQuota?: string }> {
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n').filter(Boolean);
  const pathIn = (controller: string) =>
    lines.map((l) => l.split(':')).find(([, c]) => c!.split(',').includes(controller))?.[2];
  const read = (file: string) =>
    readFile(file, 'utf8').then(
      (s) => s.trim(),
      () => undefined,
    );
  const num = (s: string | undefined) => (s === undefined || s === 'max' ? undefined : Number(s));
  const unified = lines.find((l) => l.startsWith('0::'))?.slice(3);
  if (pathIn('memory') === undefined && unified !== undefined) {
    const dir = `/sys/fs/cgroup${unified}`;
    return {
      memoryBytes: num(await read(`${dir}/memory.max`)),
      pidsMax: num(await read(`${dir}/pids.max`)),
      cpuQuota: await read(`${dir}/cpu.max`),
    };
  }
  const cpu = pathIn('cpu');
  const quota = await read(`/sys/fs/cgroup/cpu${cpu}/cpu.cfs_quota_us`);
  const period = await read(`/sys/fs/cgroup/cpu${cpu}/cpu.cfs_period_us`);
  const memory = num(await read(`/sys/fs/cgroup/memory${pathIn('memory')}/memory.limit_in_bytes`));
  return {
    // v1 writes "no limit" as a huge number
    memoryBytes: memory !== undefined && memory < 2 ** 62 ? memory : undefined,
    pidsMax: num(await read(`/sys/fs/cgroup/pids${pathIn('pids')}/pids.max`)),
    cpuQuota: quota && period ? `${quota} ${period}` : undefined,
  };
}
