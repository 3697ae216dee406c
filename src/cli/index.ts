import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../config/schema.js';
import { toolsPath } from '../dev/dev-layout.js';
import { runHostWorker } from '../workers/host-worker.js';
import { CliError, EXIT, resolveConfigPath } from './context.js';
import { demoCommand } from './commands/demo.js';
import {
  devDownCommand,
  devRestartCommand,
  devSpawnCommand,
  devLoadImageCommand,
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

/** Appends an "Examples:" block to a command's --help. */
const examples = (cmd: Command, ...lines: string[]) =>
  cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`);
const jsonOption = () => new Option('--json', 'print the result as JSON on stdout');

const program = new Command('ferry')
  .description('Live-migrate running Linux workloads between hosts with CRIU, as durable Temporal workflows.')
  .showHelpAfterError('(add --help for usage and examples)')
  // Usage errors exit 2 like any other bad input (commander's own default is 1).
  .exitOverride()
  .addHelpText(
    'after',
    `
Exit codes (docs/cli.md):
  0  done (migrated, or the command did what it says)
  1  the migration failed: the workload was left or put back on the source
  2  bad input or refused request: nothing was started or changed
  3  failed and needs an operator: the result says what to run
  4  Temporal unreachable or lost while waiting, or an internal error: outcome unknown here
Examples:
  ferry dev up
  ferry dev spawn --host node-a --runtime runc --name web -- ferry-stateful 64 10
  ferry migrate web --runtime runc --from node-a --to node-b
  ferry ls --running --host node-a
  ferry show migrate-runc-node-a-web
  ferry logs web --host node-b`,
  );

program
  .command('migrate')
  .description('move a running workload to another host and wait for the outcome')
  .argument('<workload>', 'workload name')
  .requiredOption('--runtime <runtime>', 'runc | process | podman | docker')
  .requiredOption('--from <host>', 'source host')
  .requiredOption('--to <host>', 'destination host')
  .option('--json', 'print the result object as JSON on stdout (progress stays on stderr)')
  .option('--verify-window-ms <ms>', 'how long the restored workload must keep running (default 2000)')
  .option('--keep-images', 'keep checkpoint images on both hosts after success')
  .option('--tcp-established', 'checkpoint and restore established TCP connections (not docker)')
  .option('--file-locks', 'checkpoint and restore file locks the workload holds (not docker)')
  .option(
    '--allow-start-fresh',
    'if the source cannot be restored after a failure, start it fresh there (state lost)',
  )
  .option(
    '--mode <mode>',
    'auto | stop-and-copy | streamed | precopy | postcopy (default auto; docs/migration-modes.md)',
  )
  .option(
    '--accept-postcopy-risk',
    'required with --mode postcopy: a failure after the destination started loses the workload',
  )
  .option('--config <file>', 'ferry config (default: $FERRY_CONFIG or the dev environment)')
  .addHelpText(
    'after',
    `
Progress goes to stderr: a live bar on a terminal (phase, bytes moved, rate, elapsed), plain
lines otherwise. The result goes to stdout. Exit code 0 migrated, 1 failed (the workload runs
on the source again, or was started fresh), 3 needs an operator, 2 refused, 4 outcome unknown.`,
  )
  .action(async (workload, opts) => setExit(await migrateCommand(workload, opts)));
examples(
  program.commands.at(-1)!,
  'ferry migrate web --runtime runc --from node-a --to node-b',
  'ferry migrate web --runtime runc --from node-a --to node-b --json | jq .downtimeMs',
  'ferry migrate calc --runtime process --from node-b --to node-a --verify-window-ms 5000',
);

program
  .command('worker')
  .description('run the host worker of one host (polls ferry-host-<host> and the workflow queue)')
  .requiredOption('--host <host>', 'this host, as named in the config')
  .requiredOption('--config <file>', 'ferry config file (YAML, docs/configuration.md)')
  .addOption(new Option('--fault-injection', 'obey STATE/fault-injection.json (fault tests only)').hideHelp())
  .addHelpText('after', '\nExample:\n  ferry worker --host node-a --config /etc/ferry/ferry.yaml')
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
  .option('--limit <n>', 'at most this many, newest first (default 50)')
  .addOption(jsonOption())
  .option('--config <file>', 'ferry config')
  .action(async (opts) => setExit(await lsCommand(opts)));
examples(
  program.commands.at(-1)!,
  'ferry ls',
  'ferry ls --running --host node-a',
  'ferry ls --limit 5 --json',
);

program
  .command('show')
  .description('one migration: phases, timings, outcome, cause, UI link')
  .argument('<workflow-id>', 'e.g. migrate-runc-node-a-web (see ferry ls)')
  .addOption(jsonOption())
  .option('--config <file>', 'ferry config')
  .addHelpText(
    'after',
    '\nExit code: 0 migrated or still running, 1 failed (or ended without a result), 3 needs an operator.',
  )
  .action(async (id, opts) => setExit(await showCommand(id, opts)));
examples(
  program.commands.at(-1)!,
  'ferry show migrate-runc-node-a-web',
  'ferry show migrate-runc-node-a-web --json | jq .outcome',
);

program
  .command('setup')
  .description("register ferry's search attributes on the configured Temporal cluster (idempotent)")
  .addOption(jsonOption())
  .option('--config <file>', 'ferry config')
  .action(async (opts) => setExit(await setupCommand(opts)));
examples(program.commands.at(-1)!, 'ferry setup --config /etc/ferry/ferry.yaml');

program
  .command('cancel')
  .description('cancel a migration: before the freeze it stops cleanly, after it the workload is rolled back')
  .argument('<workflow-id>', 'e.g. migrate-runc-node-a-web (see ferry ls --running)')
  .addOption(jsonOption())
  .option('--config <file>', 'ferry config')
  .action(async (id, opts) => setExit(await cancelCommand(id, opts)));
examples(
  program.commands.at(-1)!,
  'ferry cancel migrate-runc-node-a-web && ferry show migrate-runc-node-a-web',
);

program
  .command('resolve')
  .description('tell a migration that waits for an unreachable destination that it is down for good')
  .argument('<workflow-id>', 'e.g. migrate-runc-node-a-web')
  .requiredOption('--destination-is-down', 'the destination runs no copy: roll back without its confirmation')
  .addOption(jsonOption())
  .option('--config <file>', 'ferry config')
  .action(async (id, opts) => setExit(await resolveCommand(id, opts)));
examples(program.commands.at(-1)!, 'ferry resolve migrate-runc-node-a-web --destination-is-down');

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
  .addHelpText('after', '\nExit code: 0 every workload moved, 1 some did not, 2 refused.')
  .action(async (host, opts) => setExit(await evacuateCommand(host, opts)));
examples(
  program.commands.at(-1)!,
  'ferry evacuate node-a',
  'ferry evacuate node-a --to node-b,node-c --concurrency 2 --deadline 2026-12-01T02:00:00Z',
  "ferry evacuate node-a --runtime runc --name 'web-*' --label tier=frontend --json",
);

program
  .command('cordon')
  .description('mark a host so that no evacuation places workloads on it')
  .argument('<host>')
  .option('--reason <text>', 'shown in evacuation results')
  .addOption(jsonOption())
  .option('--config <file>', 'ferry config')
  .action(async (host, opts) => setExit(await cordonCommand(host, true, opts)));
examples(program.commands.at(-1)!, 'ferry cordon node-c --reason "disk replacement"');
program
  .command('uncordon')
  .description('let evacuations place workloads on a host again')
  .argument('<host>')
  .addOption(jsonOption())
  .option('--config <file>', 'ferry config')
  .action(async (host, opts) => setExit(await cordonCommand(host, false, opts)));
examples(program.commands.at(-1)!, 'ferry uncordon node-c');

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
  .addOption(jsonOption())
  .option('--config <file>', 'ferry config')
  .action(async (host, opts) => setExit(await scheduleEvacuateCommand(host, opts)));
examples(
  schedule.commands.at(-1)!,
  'ferry schedule evacuate node-a --at 2026-12-01T02:00:00Z --note "kernel update"',
  'ferry schedule evacuate node-b --cron "0 2 * * SUN" --to node-c',
);
schedule
  .command('list')
  .description('evacuation schedules')
  .addOption(jsonOption())
  .option('--config <file>', 'ferry config')
  .action(async (opts) => setExit(await scheduleListCommand(opts)));
examples(schedule.commands.at(-1)!, 'ferry schedule list --json');
for (const action of ['pause', 'unpause', 'delete'] as const)
  examples(
    schedule
      .command(action)
      .description(`${action} an evacuation schedule`)
      .argument('<id>', 'as printed by ferry schedule list')
      .addOption(jsonOption())
      .option('--config <file>', 'ferry config')
      .action(async (id, opts) => setExit(await scheduleActionCommand(action, id, opts))),
    `ferry schedule ${action} evacuate-node-a-cron`,
  );

program
  .command('logs')
  .description("print a workload's captured stdout/stderr on a host")
  .argument('<workload>', 'workload name')
  .requiredOption('--host <host>', 'host the workload is on')
  .option('--runtime <runtime>', 'runc | process | podman | docker (default: whichever has it)')
  .option('-f, --follow', 'keep printing new output')
  .option('--config <file>', 'ferry config')
  .action(async (workload, opts) => setExit(await logsCommand(workload, opts)));
examples(program.commands.at(-1)!, 'ferry logs web --host node-b', 'ferry logs web --host node-b --follow');

program
  .command('demo')
  .description(
    'bring up the dev environment and live-migrate a stateful runc container from node-a to node-b',
  )
  .addHelpText('after', '\nExample:\n  ferry demo    # then: ferry dev down')
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
  .option(
    '--without-image <hosts>',
    'do not load the podman/docker dev image on these hosts (comma-separated)',
  )
  .addOption(new Option('--fault-injection', 'start workers with --fault-injection (fault tests)').hideHelp())
  .addOption(jsonOption())
  .action(async (opts) => setExit(await devUpCommand(opts)));
examples(
  dev.commands.at(-1)!,
  'ferry dev up',
  'ferry dev up --hosts node-a,node-b,node-c --dir /tmp/ferry-dev --temporal-port 7300 --ui-port 8300',
);
dev
  .command('restart')
  .description('restart one component: the Temporal dev server (same database) or a host worker')
  .argument('<component>', 'temporal | worker')
  .option('--host <host>', 'with worker: which host')
  .addOption(dirOption())
  .addOption(jsonOption())
  .action(async (component, opts) => setExit(await devRestartCommand(component, opts)));
examples(dev.commands.at(-1)!, 'ferry dev restart temporal', 'ferry dev restart worker --host node-b');
dev
  .command('down')
  .description('stop everything dev up started (workloads included) and remove its folder')
  .addOption(dirOption())
  .addOption(jsonOption())
  .action(async (opts) => setExit(await devDownCommand(opts)));
examples(dev.commands.at(-1)!, 'ferry dev down', 'ferry dev down --dir /tmp/ferry-dev');
dev
  .command('status')
  .description('show what runs in the dev environment')
  .addOption(dirOption())
  .addOption(jsonOption())
  .addHelpText('after', '\nExit code: 0 everything runs, 1 something is down or nothing is up.')
  .action(async (opts) => setExit(await devStatusCommand(opts)));
examples(dev.commands.at(-1)!, 'ferry dev status', 'ferry dev status --json');
dev
  .command('load-image')
  .description("load the dev workload image (ferry-stateful) into a simulated host's podman and docker")
  .requiredOption('--host <host>', 'simulated host')
  .addOption(dirOption())
  .action(async (opts) => setExit(await devLoadImageCommand(opts)));
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
  .action(async (argv, opts) => setExit(await devSpawnCommand(argv, opts)));
examples(
  dev.commands.at(-1)!,
  'ferry dev spawn --host node-a --runtime runc --name web -- /bin/ferry-stateful 64 10',
  'ferry dev spawn --host node-a --runtime process --name calc --label tier=batch -- ferry-stateful 16 100',
);

/** One clear line on stderr; with --json also {"error": …} on stdout for scripts. */
function fail(message: string, code: number): never {
  process.stderr.write(`ferry: ${message}\n`);
  if (process.argv.includes('--json'))
    process.stdout.write(`${JSON.stringify({ error: { message, exitCode: code } }, null, 2)}\n`);
  process.exit(code);
}

try {
  await program.parseAsync(process.argv);
  process.exit(exitCode);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and --version are not errors; commander already printed the usage problem.
    if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.help')
      process.exit(EXIT.ok);
    process.exit(EXIT.badInput);
  }
  if (err instanceof CliError) fail(err.message, err.exitCode);
  if (err instanceof ConfigError) fail(err.message, EXIT.badInput);
  fail(
    `internal error (a bug in ferry: please report it with the command you ran): ${(err as Error).stack ?? String(err)}\nA migration this command started may still run: check with ferry ls --running`,
    EXIT.unknown,
  );
}
