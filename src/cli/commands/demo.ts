import type { Command } from 'commander';
import type { SetExit } from '../command-helpers.js';

export function register(program: Command, exit: SetExit): void {
  program
    .command('demo')
    .description(
      'bring up the dev environment and live-migrate a stateful runc container from node-a to node-b',
    )
    .addHelpText('after', '\nExample:\n  ferry demo    # then: ferry dev down')
    .action(async () => exit(await (await import('./demo-run.js')).demoCommand()));
}
