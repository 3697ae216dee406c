// Shared by the end-to-end tests: where their dev environment lives and how to call the CLI.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { RuntimeName } from '../../src/domain/names.js';
import { createRuntime } from '../../src/runtimes/index.js';
import { analyseContinuity, parseStatefulOutput } from '../../src/domain/output-analysis.js';
import { HostPaths } from '../../src/host/host-paths.js';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/schema.js';
import { toolsPath } from '../../src/dev/dev-layout.js';
// @ts-expect-error plain JavaScript shared with the global setup
import { CONFIG_FILE, E2E as RAW, ROOT, runFerry } from './run-ferry.mjs';

process.env.PATH = toolsPath(); // criu wrapper, ferry-shim, runc lookups in the test process

export { CONFIG_FILE, ROOT };
export const E2E = RAW as {
  dir: string;
  temporalPort: number;
  uiPort: number;
  sshPort: number;
  addressPrefix: string;
  hosts: string[];
};
export const stateDir = (host: string) => path.join(E2E.dir, 'hosts', host, 'state');

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (bin/ferry) against the e2e environment. */
export async function ferry(args: string[], timeoutMs = 170_000): Promise<CliRun> {
  return (await runFerry(args, timeoutMs)) as CliRun;
}

export function outputLog(host: string, runtime: string, name: string): string {
  return path.join(stateDir(host), 'workloads', runtime, name, 'output.log');
}

export async function readOutput(host: string, runtime: string, name: string): Promise<string> {
  return readFile(outputLog(host, runtime, name), 'utf8').catch(() => '');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the workload has printed at least n lines. */
export async function waitForLines(
  host: string,
  runtime: string,
  name: string,
  n: number,
  timeoutMs = 30_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readOutput(host, runtime, name);
    if (text.split('\n').filter(Boolean).length >= n) return text;
    if (Date.now() > deadline)
      throw new Error(
        `${runtime}/${name} on ${host} printed fewer than ${n} lines in ${timeoutMs} ms:\n${text}`,
      );
    await sleep(100);
  }
}

/** A host's runtime as its worker sees it: podman and docker settings from the config file. */
export const runtimeOn = (host: string, runtime: RuntimeName) => {
  const h = parseConfig(parseYaml(readFileSync(CONFIG_FILE as string, 'utf8'))).hosts.find(
    (x) => x.name === host,
  );
  return createRuntime(runtime, {
    host,
    paths: new HostPaths(stateDir(host)),
    runc: h?.runc,
    podman: h?.podman,
    docker: h?.docker,
  });
};

/** Overwrites the process-tree image with garbage: CRIU refuses it at once. */
export async function corruptProcessTreeImage(imagesDir: string): Promise<void> {
  const file = path.join(imagesDir, 'pstree.img');
  await writeFile(file, Buffer.alloc((await stat(file)).size, 0x5a));
}

/** Where the workload runs now (every host of the environment is asked). */
export async function hostsRunning(
  runtime: RuntimeName,
  name: string,
  hosts: readonly string[] = E2E.hosts,
): Promise<string[]> {
  const on: string[] = [];
  for (const h of hosts) if ((await runtimeOn(h, runtime).inspect(name))?.running) on.push(h);
  return on;
}

/** Its output on host keeps growing, the counter never restarted or skipped, the memory checksum never changed. */
export async function stateContinues(
  host: string,
  runtime: RuntimeName,
  name: string,
  watchMs = 400,
): Promise<boolean> {
  const before = parseStatefulOutput(await readOutput(host, runtime, name)).length;
  await sleep(watchMs);
  const lines = parseStatefulOutput(await readOutput(host, runtime, name));
  const c = analyseContinuity(lines);
  return lines.length > before && c.restarts === 0 && c.counterBreaks === 0 && c.distinctChecksums === 1;
}

/**
 * Asks ferry-stateful to recompute its checksum from all of its memory (SIGUSR1) and returns
 * the recomputed and the running checksum: equal when every page is intact.
 */
export async function verifyMemory(
  host: string,
  runtime: RuntimeName,
  name: string,
): Promise<{ recomputed: string; running: string }> {
  const pid = (await runtimeOn(host, runtime).inspect(name))?.pid;
  if (!pid) throw new Error(`${runtime}/${name} does not run on ${host}`);
  const seen = (text: string) => [...text.matchAll(/^verify ([0-9a-f]{16}) ([0-9a-f]{16})$/gm)];
  // The runtime's own view of its output (podman and docker keep theirs in the engine's log).
  const output = () => runtimeOn(host, runtime).output(name);
  const before = seen(await output()).length;
  process.kill(pid, 'SIGUSR1');
  for (let i = 0; i < 300; i++) {
    const found = seen(await output());
    if (found.length > before) return { recomputed: found.at(-1)![1]!, running: found.at(-1)![2]! };
    await sleep(100);
  }
  throw new Error(`${runtime}/${name} on ${host} printed no verify line`);
}

/**
 * Starts ferry-stateful (MiB of random memory, a line every intervalMs) as a workload on a
 * simulated host through the real CLI, and waits until it has printed `lines` lines.
 */
export async function spawnStateful(
  host: string,
  runtime: RuntimeName,
  name: string,
  opts: { mib?: number; intervalMs?: number; dirtyPercent?: number; lines?: number; extra?: string[] } = {},
): Promise<string> {
  const program = runtime === 'process' ? 'ferry-stateful' : '/bin/ferry-stateful';
  const argv = [program, String(opts.mib ?? 16), String(opts.intervalMs ?? 10)];
  if (opts.dirtyPercent !== undefined) argv.push(String(opts.dirtyPercent));
  const r = await ferry([
    'dev',
    'spawn',
    '--host',
    host,
    '--runtime',
    runtime,
    '--name',
    name,
    ...(opts.extra ?? []),
    '--',
    ...argv,
  ]);
  if (r.exitCode !== 0)
    throw new Error(`ferry dev spawn ${runtime}/${name} on ${host} failed (${r.exitCode}):\n${r.stderr}`);
  // The runtime's own view of its output: output.log for runc and process, the engine's log for
  // podman and docker.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = await runtimeOn(host, runtime).output(name);
    if (parseStatefulOutput(text).length >= (opts.lines ?? 20)) return text;
    if (Date.now() > deadline)
      throw new Error(
        `${runtime}/${name} on ${host} printed fewer than ${opts.lines ?? 20} lines in 30 s:\n${text}`,
      );
    await sleep(100);
  }
}

/**
 * Damages the checkpoint on the destination while its restore step is paused (the images have
 * all arrived by then): a pause of the fault-injection switch, taken off the file when it starts.
 */
export async function corruptWhenArrives(
  migrations: string,
  runtime: 'podman' | 'docker',
  name: string,
): Promise<void> {
  const faults = path.join(path.dirname(migrations), 'fault-injection.json');
  await writeFile(faults, JSON.stringify({ pauseMs: { [`before-restore:${name}`]: 8000 } }));
  for (let i = 0; ; i++) {
    if (!(await readFile(faults, 'utf8').catch(() => '')).includes('before-restore')) break;
    if (i > 2400) throw new Error('the restore step never started on the destination');
    await sleep(50);
  }
  const ids = (await readdir(migrations)).filter((id) => id.includes(`-${name}-`));
  if (ids.length !== 1)
    throw new Error(`expected one migration of ${name} in ${migrations}, found ${ids.join(', ')}`);
  const images = path.join(migrations, ids[0]!, 'images');
  if (runtime === 'docker') return corruptProcessTreeImage(path.join(images, 'ferry'));
  const tar = path.join(images, 'podman-checkpoint.tar');
  // Rebuild the archive with the damaged entry instead of appending a second copy: which copy an
  // extractor keeps is not guaranteed (a run where podman kept the intact one migrated).
  const members = (await execa('tar', ['-tf', tar])).stdout.split('\n').filter(Boolean);
  const unpacked = path.join(images, 'unpacked');
  await execa('mkdir', ['-p', unpacked]);
  await execa('tar', ['-C', unpacked, '-xf', tar]);
  await corruptProcessTreeImage(path.join(unpacked, 'checkpoint'));
  await execa('tar', ['-C', unpacked, '--no-recursion', '-cf', tar, ...members]);
  await execa('rm', ['-rf', unpacked, path.join(images, 'checkpoint')]);
}
