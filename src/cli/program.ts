// The ferry command's declaration: every command group registers itself here. Registration is
// cheap (commander and the command files only): each action imports what it needs when it runs,
// so that ferry --help and a mistyped option answer at once (docs/cli.md).
import { Command } from 'commander';
import type { SetExit } from './command-helpers.js';
import * as control from './commands/control.js';
import * as demo from './commands/demo.js';
import * as dev from './commands/dev.js';
import * as evacuate from './commands/evacuate.js';
import * as hibernate from './commands/hibernate.js';
import * as history from './commands/history.js';
import * as hosts from './commands/hosts.js';
import * as logs from './commands/logs.js';
import * as migrate from './commands/migrate.js';
import * as schedule from './commands/schedule.js';
import * as snapshot from './commands/snapshot.js';
import * as serve from './commands/serve.js';
import * as worker from './commands/worker.js';
import type { Register } from './command-helpers.js';

/** The program with every command registered; actions report their exit code through setExit. */
export function buildProgram(setExit: SetExit): Command {
  const program = new Command('ferry')
    .description(
      'Live-migrate running Linux workloads between hosts with CRIU, as durable Temporal workflows.',
    )
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
  ferry hosts
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
    hosts,
    evacuate,
    hibernate,
    snapshot,
    schedule,
    logs,
    demo,
    dev,
  ];
  for (const command of COMMANDS) command.register(program, setExit);
  return program;
}
