import { Option, type Command } from 'commander';
import { checkName, isRuntimeName, RUNTIMES } from '../../domain/names.js';
import { defaultDevDir, toolsPath } from '../../dev/dev-layout.js';
import { CliError, EXIT, printResult, requireHost } from '../context.js';
import { shortImageId } from '../../domain/images.js';
import { parseLabels } from '../../domain/placement.js';
import { collect, examples, jsonOption, type SetExit } from '../command-helpers.js';

/** dev up|restart|down|status|load-image|spawn: the embedded dev environment. */
/** The dev environment's code (and the runtimes) load only when a dev command runs. */
const devEnv = () => import('../../dev/dev-env.js');

export function register(program: Command, exit: SetExit): void {
  const dev = program
    .command('dev')
    .description('the embedded dev environment: Temporal dev server and simulated hosts');
  const dirOption = () =>
    new Option('--dir <dir>', 'dev environment folder (default: $FERRY_DEV_DIR or .ferry/dev)');
  examples(
    dev
      .command('up')
      .description('start the Temporal dev server and, per simulated host, an sshd and a ferry worker')
      .option('--hosts <names>', 'comma-separated host names', 'node-a,node-b')
      .addOption(dirOption())
      .option('--temporal-port <port>', 'Temporal frontend port', '7233')
      .option('--ui-port <port>', 'Temporal UI port', '8233')
      .option('--ssh-port <port>', "port of each host's sshd (on the host's own address)", '2222')
      .option(
        '--metrics-port <port>',
        "port of each worker's Prometheus endpoint (on the host's own address)",
        '9464',
      )
      .option('--address-prefix <a.b.c>', 'simulated host N listens on a.b.c.N', '127.0.1')
      .option(
        '--without-image <hosts>',
        'do not load the podman/docker dev image on these hosts (comma-separated)',
      )
      .addOption(
        new Option('--fault-injection', 'start workers with --fault-injection (fault tests)').hideHelp(),
      )
      .addOption(jsonOption())
      .action(async (opts) => exit(await devUpCommand(opts))),
    'ferry dev up',
    'ferry dev up --hosts node-a,node-b,node-c --dir /tmp/ferry-dev --temporal-port 7300 --ui-port 8300',
  );
  examples(
    dev
      .command('restart')
      .description('restart one component: the Temporal dev server (same database) or a host worker')
      .argument('<component>', 'temporal | worker')
      .option('--host <host>', 'with worker: which host')
      .addOption(dirOption())
      .addOption(jsonOption())
      .action(async (component, opts) => exit(await devRestartCommand(component, opts))),
    'ferry dev restart temporal',
    'ferry dev restart worker --host node-b',
  );
  examples(
    dev
      .command('reboot')
      .description(
        'simulate a reboot of a simulated host: kill its worker and workloads, drop its runtimes’ state under /run, give it a new boot id, start its worker again',
      )
      .argument('<host>')
      .addOption(dirOption())
      .addOption(jsonOption())
      .action(async (host, opts) => exit(await devRebootCommand(host, opts))),
    'ferry dev reboot node-a',
  );
  examples(
    dev
      .command('down')
      .description('stop everything dev up started (workloads included) and remove its folder')
      .addOption(dirOption())
      .addOption(jsonOption())
      .action(async (opts) => exit(await devDownCommand(opts))),
    'ferry dev down',
    'ferry dev down --dir /tmp/ferry-dev',
  );
  examples(
    dev
      .command('status')
      .description('show what runs in the dev environment')
      .addOption(dirOption())
      .addOption(jsonOption())
      .addHelpText('after', '\nExit code: 0 everything runs, 1 something is down or nothing is up.')
      .action(async (opts) => exit(await devStatusCommand(opts))),
    'ferry dev status',
    'ferry dev status --json',
  );
  examples(
    dev
      .command('load-image')
      .description(
        "load an image into a simulated host's podman and/or docker: ferry's dev image (ferry-stateful), or any local one with --image",
      )
      .requiredOption('--host <host>', 'simulated host')
      .option(
        '--image <name>',
        "image to load, from this machine's podman or docker store (or from --file); default: the dev image",
      )
      .option(
        '--file <tar>',
        'take it from this tar: an image archive (podman/docker save) is loaded, a root filesystem tar is imported as --image',
      )
      .addOption(
        new Option('--runtime <engine>', 'only this engine of the host (default: all it has)').choices([
          'podman',
          'docker',
        ]),
      )
      .addOption(dirOption())
      .addOption(jsonOption())
      .action(async (opts) => exit(await devLoadImageCommand(opts))),
    'ferry dev load-image --host node-b',
    'ferry dev load-image --host node-a --image localhost/api:1 --runtime podman',
    'ferry dev load-image --host node-a --image api:1 --file api.tar --runtime docker',
  );
  examples(
    dev
      .command('spawn')
      .description('start a workload on a simulated host')
      .requiredOption('--host <host>', 'simulated host')
      .requiredOption('--runtime <runtime>', 'runc | process | podman | docker')
      .requiredOption('--name <name>', 'workload name')
      .option('--image <image>', 'podman/docker: image to run (default: the dev image ferry-stateful)')
      .option('--label <key=value>', 'a label for evacuation filters (repeatable)', collect, [])
      .addOption(dirOption())
      .addOption(jsonOption())
      .argument('<command...>', 'the command, after --')
      .action(async (argv, opts) => exit(await devSpawnCommand(argv, opts))),
    'ferry dev spawn --host node-a --runtime runc --name web -- /bin/ferry-stateful 64 10',
    'ferry dev spawn --host node-a --runtime process --name calc --label tier=batch -- ferry-stateful 16 100',
  );
}

/** --dir and --json, which every dev subcommand takes. */
interface DevOptions {
  dir?: string;
  json?: boolean;
}

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
  const state = await (
    await devEnv()
  ).devUp(
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
  opts: DevOptions & { host?: string },
): Promise<number> {
  if (component !== 'temporal' && component !== 'worker')
    throw new CliError(`unknown component "${component}": use temporal or worker --host H`, EXIT.badInput);
  if (component === 'worker' && !opts.host)
    throw new CliError('restart worker needs --host H', EXIT.badInput);
  await (await devEnv()).devRestart(opts.dir ?? defaultDevDir(), component, opts.host);
  say(`${component}${opts.host ? ` of ${opts.host}` : ''} restarted`);
  if (opts.json) printResult(true, { component, host: opts.host, restarted: true }, '');
  return EXIT.ok;
}

export async function devRebootCommand(host: string, opts: DevOptions): Promise<number> {
  const { devReboot } = await import('../../dev/reboot.js');
  const report = await devReboot(opts.dir ?? defaultDevDir(), host, say).catch((err: Error) => {
    throw new CliError(err.message, EXIT.badInput);
  });
  printResult(opts.json, report, `${host} rebooted (boot id ${report.bootId}); its worker runs again`);
  return EXIT.ok;
}

export async function devDownCommand(opts: DevOptions): Promise<number> {
  const dir = opts.dir ?? defaultDevDir();
  await (await devEnv()).devDown(dir, say);
  if (opts.json) printResult(true, { dir, down: true }, '');
  return EXIT.ok;
}

export async function devStatusCommand(opts: DevOptions): Promise<number> {
  const dir = opts.dir ?? defaultDevDir();
  const { state, rows } = await (await devEnv()).devStatus(dir);
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
  opts: DevOptions & { host: string; runtime: string; name: string; label?: string[]; image?: string },
): Promise<number> {
  if (!isRuntimeName(opts.runtime))
    throw new CliError(`unknown runtime "${opts.runtime}": use one of ${RUNTIMES.join(', ')}`, EXIT.badInput);
  const problem = checkName('workload', opts.name);
  if (problem) throw new CliError(problem, EXIT.badInput);
  if (argv.length === 0)
    throw new CliError('give the workload command after --, e.g. -- ferry-stateful 64 10', EXIT.badInput);
  const state = await (await devEnv()).readDevState(opts.dir ?? defaultDevDir());
  if (!state) throw new CliError('the dev environment is not up: run ferry dev up first', EXIT.badInput);
  const [{ loadConfig }, { HostContext }] = await Promise.all([
    import('../../config/schema.js'),
    import('../../activities/host-context.js'),
  ]);
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

export async function devLoadImageCommand(
  opts: DevOptions & { host: string; image?: string; file?: string; runtime?: 'podman' | 'docker' },
): Promise<number> {
  process.env.PATH = toolsPath(); // busybox and ferry-stateful for the dev image
  let loaded;
  try {
    loaded = await (await devEnv()).devLoadImage(opts.dir ?? defaultDevDir(), opts.host, opts);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.badInput);
  }
  const lines = loaded.map(
    (l) =>
      `${l.image}${l.imageId ? ` (${shortImageId(l.imageId)})` : ''} loaded into ${opts.host}'s ${l.engine}`,
  );
  if (!opts.json) for (const line of lines) say(line);
  else printResult(true, { host: opts.host, loaded }, '');
  return EXIT.ok;
}
