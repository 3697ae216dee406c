import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/schema.js';
import { toolsPath } from '../dev/dev-layout.js';
import { CliError, EXIT } from './context.js';
import * as control from './commands/control.js';
import * as demo from './commands/demo.js';
import * as dev from './commands/dev.js';
import * as evacuate from './commands/evacuate.js';
import * as hibernate from './commands/hibernate.js';
import * as history from './commands/history.js';
import * as logs from './commands/logs.js';
import * as migrate from './commands/migrate.js';
import * as schedule from './commands/schedule.js';
import * as snapshot from './commands/snapshot.js';
import * as serve from './commands/serve.js';
import * as worker from './commands/worker.js';
import type { Register } from './command-helpers.js';

// ferry's private tools (criu wrapper, ferry-shim, temporal) come first for every child.
process.env.PATH = toolsPath();

let exitCode: number = EXIT.ok;
const setExit = (code: number) => {
  exitCode = code;
};

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

// Each file in commands/ declares its own commands; this order is the order of ferry --help.
const COMMANDS: { register: Register }[] = [
  migrate,
  worker,
  serve,
  history,
  control,
  evacuate,
  hibernate,
  snapshot,
  schedule,
  logs,
  demo,
  dev,
];
for (const command of COMMANDS) command.register(program, setExit);

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
