import { Command, Option } from 'commander';
import { ConfigError } from '../config/schema.js';
import { toolsPath } from '../dev/dev-layout.js';
import { runHostWorker } from '../workers/host-worker.js';
import { CliError, EXIT, resolveConfigPath } from './context.js';
import { demoCommand } from './commands/demo.js';
import {
  devDownCommand,
  devRestartCommand,
  devSpawnCommand,
  devStatusCommand,
  devUpCommand,
} from './commands/dev.js';
import { cancelCommand, resolveCommand } from './commands/control.js';
import { lsCommand, setupCommand, showCommand } from './commands/history.js';
import { cordonCommand, evacuateCommand } from './commands/evacuate.js';
import { scheduleActionCommand, scheduleEvacuateCommand, scheduleListCommand } from './commands/schedule.js';
import { logsCommand } from './commands/logs.js';
import { migrateCommand } from './commands/migrate.js';

// ferry's private tools (criu wrapper, ferry-shim, temporal) come first for every child.
process.env.PATH = toolsPath();

let exitCode: number = EXIT.ok;
const collect = (value: string, previous: string[]) => [...previous, value];
const setExit = (code: number) => {
  exitCode = code;
};

const program = new Command('ferry')
  .description('Live-migrate running Linux workloads between hosts with CRIU, as durable Temporal workflows.')
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Exit codes: 0 success, 1 migration failed (workload left or put back on the source),
            2 bad input (nothing was started), 3 failed and needs an operator.
Examples:
  ferry dev up
  ferry dev spawn --host node-a --runtime runc --name web -- ferry-stateful 64 10
  ferry migrate web --runtime runc --from node-a --to node-b
  ferry logs web --host node-b`,
  );

program
  .command('migrate')
  .description('move a running workload to another host and wait for the outcome')
  .argument('<workload>', 'workload name')
  .requiredOption('--runtime <runtime>', 'runc | process')
  .requiredOption('--from <host>', 'source host')
  .requiredOption('--to <host>', 'destination host')
  .option('--json', 'print the result object as JSON on stdout')
  .option('--verify-window-ms <ms>', 'how long the restored workload must keep running (default 2000)')
  .option('--keep-images', 'keep checkpoint images on both hosts after success')
  .option(
    '--allow-start-fresh',
    'if the source cannot be restored after a failure, start it fresh there (state lost)',
  )
  .option('--config <file>', 'ferry config (default: $FERRY_CONFIG or the dev environment)')
  .addHelpText('after', '\nExample:\n  ferry migrate web --runtime runc --from node-a --to node-b --json')
  .action(async (workload, opts) => setExit(await migrateCommand(workload, opts)));

program
  .command('worker')
  .description('run the host worker of one host (polls ferry-host-<host> and the workflow queue)')
  .requiredOption('--host <host>', 'this host, as named in the config')
  .requiredOption('--config <file>', 'ferry config file (YAML, docs/configuration.md)')
  .addOption(new Option('--fault-injection', 'obey STATE/fault-injection.json (fault tests only)').hideHelp())
  .action(async (opts) => {
    await runHostWorker({
      host: opts.host,
      configFile: resolveConfigPath(opts.config),
      faultInjection: !!opts.faultInjection,
    });
  });

program
  .command('serve')
  .description('HTTP API for services without a Temporal SDK: start and follow migrations and evacuations')
  .option('--listen <address:port>', 'where to listen (loopback by default)', '127.0.0.1:8470')
  .option('--token-file <file>', 'bearer token (mode 0600); default: $FERRY_API_TOKEN')
  .option('--config <file>', 'ferry config (default: $FERRY_CONFIG or the dev environment)')
  .addHelpText(
    'after',
    '\nExample:\n  ferry serve --listen 127.0.0.1:8470 --token-file /etc/ferry/api-token --config /etc/ferry/ferry.yaml\nAPI: docs/api.md, GET /openapi.json',
  )
  // Loaded on use: the HTTP framework stays out of every other command's start-up.
  .action(async (opts) => {
    const { serveCommand } = await import('./commands/serve.js');
    setExit(await serveCommand(opts));
  });

program
  .command('ls')
  .description('recent and ongoing migrations (from Temporal visibility)')
  .option('--running', 'only those still running')
  .option('--host <host>', 'only those from or to this host')
  .option('--limit <n>', 'at most this many (default 50)')
  .option('--json', 'as JSON')
  .option('--config <file>', 'ferry config')
  .action(async (opts) => setExit(await lsCommand(opts)));

program
  .command('show')
  .description('one migration: phases, timings, outcome, cause, UI link')
  .argument('<workflow-id>', 'e.g. migrate-runc-node-a-web')
  .option('--json', 'as JSON')
  .option('--config <file>', 'ferry config')
  .action(async (id, opts) => setExit(await showCommand(id, opts)));

program
  .command('setup')
  .description("register ferry's search attributes on the configured Temporal cluster (idempotent)")
  .option('--config <file>', 'ferry config')
  .action(async (opts) => setExit(await setupCommand(opts)));

program
  .command('cancel')
  .description('cancel a migration: before the freeze it stops cleanly, after it the workload is rolled back')
  .argument('<workflow-id>', 'e.g. migrate-runc-node-a-web')
  .option('--config <file>', 'ferry config')
  .action(async (id, opts) => setExit(await cancelCommand(id, opts)));

program
  .command('resolve')
  .description('tell a migration that waits for an unreachable destination that it is down for good')
  .argument('<workflow-id>', 'e.g. migrate-runc-node-a-web')
  .requiredOption('--destination-is-down', 'the destination runs no copy: roll back without its confirmation')
  .option('--config <file>', 'ferry config')
  .action(async (id, opts) => setExit(await resolveCommand(id, opts)));

program
  .command('evacuate')
  .description('move every running workload off a host (cordons it first), with bounded concurrency')
  .argument('<host>', 'the host to empty')
  .option('--to <hosts>', 'comma-separated destinations (default: every other configured host)')
  .option('--concurrency <n>', 'migrations at once (default 2)')
  .option('--deadline <iso>', 'start no migration that could not finish before this time')
  .option('--runtime <runtimes>', 'only these runtimes, comma-separated')
  .option('--name <glob>', 'only workloads whose name matches, e.g. "web-*"')
  .option('--label <key=value>', 'only workloads with this label (repeatable)', collect, [])
  .option('--allow-start-fresh', 'last resort when a rollback cannot restore a workload')
  .option('--json', 'print the per-workload result as JSON')
  .option('--config <file>', 'ferry config')
  .addHelpText(
    'after',
    '\nExample:\n  ferry evacuate node-a --to node-b,node-c --concurrency 2 --deadline 2026-12-01T02:00:00Z',
  )
  .action(async (host, opts) => setExit(await evacuateCommand(host, opts)));

program
  .command('cordon')
  .description('mark a host so that no evacuation places workloads on it')
  .argument('<host>')
  .option('--reason <text>', 'shown in evacuation results')
  .option('--config <file>', 'ferry config')
  .action(async (host, opts) => setExit(await cordonCommand(host, true, opts)));
program
  .command('uncordon')
  .description('let evacuations place workloads on a host again')
  .argument('<host>')
  .option('--config <file>', 'ferry config')
  .action(async (host, opts) => setExit(await cordonCommand(host, false, opts)));

const schedule = program
  .command('schedule')
  .description('Temporal Schedules that evacuate a host (e.g. before a reboot window)');
schedule
  .command('evacuate')
  .description('evacuate HOST once (--at) or repeatedly (--cron); overlapping runs are skipped')
  .argument('<host>')
  .option('--at <iso>', 'once, at this time')
  .option('--cron <expr>', 'repeatedly, e.g. "0 2 * * SUN"')
  .option('--note <text>', 'shown in ferry schedule list and the Temporal UI')
  .option('--to <hosts>', 'comma-separated destinations')
  .option('--concurrency <n>', 'migrations at once')
  .option('--config <file>', 'ferry config')
  .action(async (host, opts) => setExit(await scheduleEvacuateCommand(host, opts)));
schedule
  .command('list')
  .description('evacuation schedules')
  .option('--json', 'as JSON')
  .option('--config <file>', 'ferry config')
  .action(async (opts) => setExit(await scheduleListCommand(opts)));
for (const action of ['pause', 'unpause', 'delete'] as const)
  schedule
    .command(action)
    .description(`${action} an evacuation schedule`)
    .argument('<id>')
    .option('--config <file>', 'ferry config')
    .action(async (id, opts) => setExit(await scheduleActionCommand(action, id, opts)));

program
  .command('logs')
  .description("print a workload's captured stdout/stderr on a host")
  .argument('<workload>', 'workload name')
  .requiredOption('--host <host>', 'host the workload is on')
  .option('--runtime <runtime>', 'runc | process (default: whichever has it)')
  .option('-f, --follow', 'keep printing new output')
  .option('--config <file>', 'ferry config')
  .action(async (workload, opts) => setExit(await logsCommand(workload, opts)));

program
  .command('demo')
  .description(
    'bring up the dev environment and live-migrate a stateful runc container from node-a to node-b',
  )
  .action(async () => setExit(await demoCommand()));

const dev = program
  .command('dev')
  .description('the embedded dev environment: Temporal dev server and simulated hosts');
const dirOption = () =>
  new Option('--dir <dir>', 'dev environment folder (default: $FERRY_DEV_DIR or .ferry/dev)');
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
  .addOption(new Option('--fault-injection', 'start workers with --fault-injection (fault tests)').hideHelp())
  .action(async (opts) => setExit(await devUpCommand(opts)));
dev
  .command('restart')
  .description('restart one component: the Temporal dev server (same database) or a host worker')
  .argument('<component>', 'temporal | worker')
  .option('--host <host>', 'with worker: which host')
  .addOption(dirOption())
  .action(async (component, opts) => setExit(await devRestartCommand(component, opts)));
dev
  .command('down')
  .description('stop everything dev up started (workloads included) and remove its folder')
  .addOption(dirOption())
  .action(async (opts) => setExit(await devDownCommand(opts)));
dev
  .command('status')
  .description('show what runs in the dev environment')
  .addOption(dirOption())
  .option('--json', 'as JSON')
  .action(async (opts) => setExit(await devStatusCommand(opts)));
dev
  .command('spawn')
  .description('start a workload on a simulated host')
  .requiredOption('--host <host>', 'simulated host')
  .requiredOption('--runtime <runtime>', 'runc | process')
  .requiredOption('--name <name>', 'workload name')
  .option('--label <key=value>', 'a label for evacuation filters (repeatable)', collect, [])
  .addOption(dirOption())
  .argument('<command...>', 'the command, after --')
  .addHelpText(
    'after',
    '\nExample:\n  ferry dev spawn --host node-a --runtime runc --name web -- ferry-stateful 64 10',
  )
  .action(async (argv, opts) => setExit(await devSpawnCommand(argv, opts)));

try {
  await program.parseAsync(process.argv);
  process.exit(exitCode);
} catch (err) {
  if (err instanceof CliError) {
    process.stderr.write(`ferry: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`ferry: ${err.message}\n`);
    process.exit(EXIT.badInput);
  }
  process.stderr.write(`ferry: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(EXIT.failed);
}
