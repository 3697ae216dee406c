import { checkName, isRuntimeName, RUNTIMES } from '../../domain/names.js';
import { defaultDevDir, toolsPath } from '../../dev/dev-layout.js';
import { devDown, devLoadImage, devRestart, devStatus, devUp, readDevState } from '../../dev/dev-env.js';
import { HostContext } from '../../activities/host-context.js';
import { loadConfig } from '../../config/schema.js';
import { CliError, EXIT, printResult, requireHost } from '../context.js';
import { parseLabels } from '../../domain/placement.js';

export interface DevUpCliOptions {
  hosts: string;
  dir?: string;
  temporalPort: string;
  uiPort: string;
  sshPort: string;
  metricsPort: string;
  addressPrefix: string;
  faultInjection?: boolean;
  json?: boolean;
  withoutImage?: string;
}

const say = (line: string) => process.stderr.write(`[ferry dev] ${line}\n`);

export async function devUpCommand(opts: DevUpCliOptions): Promise<number> {
  if (!/^127\.\d{1,3}\.\d{1,3}$/.test(opts.addressPrefix))
    throw new CliError(
      `--address-prefix must be three octets in 127.0.0.0/8, e.g. 127.0.1 (got ${opts.addressPrefix})`,
      EXIT.badInput,
    );
  const state = await devUp(
    {
      dir: opts.dir ?? defaultDevDir(),
      hosts: opts.hosts
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
      temporalPort: Number(opts.temporalPort),
      uiPort: Number(opts.uiPort),
      sshPort: Number(opts.sshPort),
      metricsPort: Number(opts.metricsPort),
      addressPrefix: opts.addressPrefix,
      faultInjection: !!opts.faultInjection,
      withoutImage: opts.withoutImage
        ?.split(',')
        .map((h) => h.trim())
        .filter(Boolean),
    },
    say,
  );
  printResult(
    opts.json,
    { dir: state.dir, configFile: state.configFile, temporal: state.temporal, hosts: state.hosts },
    `config: ${state.configFile}\nTemporal UI: ${state.temporal.uiUrl}`,
  );
  return EXIT.ok;
}

export async function devRestartCommand(
  component: string,
  opts: { host?: string; dir?: string; json?: boolean },
): Promise<number> {
  if (component !== 'temporal' && component !== 'worker')
    throw new CliError(`unknown component "${component}": use temporal or worker --host H`, EXIT.badInput);
  if (component === 'worker' && !opts.host)
    throw new CliError('restart worker needs --host H', EXIT.badInput);
  await devRestart(opts.dir ?? defaultDevDir(), component, opts.host);
  say(`${component}${opts.host ? ` of ${opts.host}` : ''} restarted`);
  if (opts.json) printResult(true, { component, host: opts.host, restarted: true }, '');
  return EXIT.ok;
}

export async function devDownCommand(opts: { dir?: string; json?: boolean }): Promise<number> {
  const dir = opts.dir ?? defaultDevDir();
  await devDown(dir, say);
  if (opts.json) printResult(true, { dir, down: true }, '');
  return EXIT.ok;
}

export async function devStatusCommand(opts: { dir?: string; json?: boolean }): Promise<number> {
  const dir = opts.dir ?? defaultDevDir();
  const { state, rows } = await devStatus(dir);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ dir, up: !!state, components: rows }, null, 2)}\n`);
    return EXIT.ok;
  }
  if (!state) {
    process.stdout.write(`no dev environment in ${dir}; start one with: ferry dev up\n`);
    return EXIT.failed;
  }
  for (const r of rows)
    process.stdout.write(
      `${r.running ? 'up  ' : 'DOWN'}  ${r.component.padEnd(32)} ${String(r.pid ?? '-').padEnd(8)} ${r.detail}\n`,
    );
  return rows.every((r) => r.running || r.component.startsWith('  ')) ? EXIT.ok : EXIT.failed;
}

export async function devSpawnCommand(
  argv: string[],
  opts: {
    host: string;
    runtime: string;
    name: string;
    label?: string[];
    image?: string;
    dir?: string;
    json?: boolean;
  },
): Promise<number> {
  if (!isRuntimeName(opts.runtime))
    throw new CliError(`unknown runtime "${opts.runtime}": use one of ${RUNTIMES.join(', ')}`, EXIT.badInput);
  const problem = checkName('workload', opts.name);
  if (problem) throw new CliError(problem, EXIT.badInput);
  if (argv.length === 0)
    throw new CliError('give the workload command after --, e.g. -- ferry-stateful 64 10', EXIT.badInput);
  const state = await readDevState(opts.dir ?? defaultDevDir());
  if (!state) throw new CliError('the dev environment is not up: run ferry dev up first', EXIT.badInput);
  const config = await loadConfig(state.configFile);
  const ctx = new HostContext(config, requireHost(config, opts.host));
  const runtime = ctx.runtime(opts.runtime);
  const existing = await runtime.inspect(opts.name);
  if (existing)
    throw new CliError(`${opts.runtime}/${opts.name} already exists on ${opts.host}`, EXIT.badInput);
  process.env.PATH = toolsPath();
  let labels: Record<string, string> | undefined;
  try {
    labels = opts.label?.length ? parseLabels(opts.label) : undefined;
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.badInput);
  }
  const info = await runtime.spawn(opts.name, { argv, labels, image: opts.image });
  printResult(
    opts.json,
    { host: opts.host, runtime: opts.runtime, name: opts.name, pid: info.pid, labels },
    `started ${opts.runtime}/${opts.name} on ${opts.host} (pid ${info.pid ?? '?'}); output: ferry logs ${opts.name} --host ${opts.host}`,
  );
  return EXIT.ok;
}

export async function devLoadImageCommand(opts: { host: string; dir?: string }): Promise<number> {
  process.env.PATH = toolsPath(); // busybox and ferry-stateful for the image
  await devLoadImage(opts.dir ?? defaultDevDir(), opts.host);
  say(`ferry-stateful image loaded on ${opts.host}`);
  return EXIT.ok;
}
