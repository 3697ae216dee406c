import type { Command } from 'commander';
import { configOption, examples, jsonOption, type CommonOptions, type SetExit } from '../command-helpers.js';
import { EXIT, printResult, withClient } from '../context.js';

/** cancel and resolve: steer a running migration. */
export function register(program: Command, exit: SetExit): void {
  examples(
    program
      .command('cancel')
      .description(
        'cancel a migration: before the freeze it stops cleanly, after it the workload is rolled back',
      )
      .argument('<workflow-id>', 'e.g. migrate-runc-node-a-web (see ferry ls --running)')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (id, opts) => exit(await cancelCommand(id, opts))),
    'ferry cancel migrate-runc-node-a-web && ferry show migrate-runc-node-a-web',
  );
  examples(
    program
      .command('resolve')
      .description('tell a migration that waits for an unreachable destination that it is down for good')
      .argument('<workflow-id>', 'e.g. migrate-runc-node-a-web')
      .requiredOption(
        '--destination-is-down',
        'the destination runs no copy: roll back without its confirmation',
      )
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (id, opts) => exit(await resolveCommand(id, opts))),
    'ferry resolve migrate-runc-node-a-web --destination-is-down',
  );
}

export async function cancelCommand(workflowId: string, opts: CommonOptions): Promise<number> {
  await withClient(opts.config, (c) => c.cancel(workflowId));
  printResult(
    opts.json,
    { workflowId, cancelRequested: true },
    `cancel requested for ${workflowId}: before the freeze it stops, after it the workload is rolled back.\n` +
      `Follow it with: ferry show ${workflowId}`,
  );
  return EXIT.ok;
}

export async function resolveCommand(
  workflowId: string,
  opts: CommonOptions & { destinationIsDown?: boolean },
): Promise<number> {
  await withClient(opts.config, (c) =>
    c.resolve(workflowId, { destinationIsDown: !!opts.destinationIsDown }),
  );
  printResult(
    opts.json,
    { workflowId, destinationIsDown: !!opts.destinationIsDown },
    `told ${workflowId} that its destination is down for good; it restores the source now.\n` +
      `Follow it with: ferry show ${workflowId}`,
  );
  return EXIT.ok;
}
