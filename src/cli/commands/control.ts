import { EXIT, withClient } from '../context.js';

export async function cancelCommand(workflowId: string, opts: { config?: string }): Promise<number> {
  await withClient(opts.config, (c) => c.cancel(workflowId));
  process.stdout.write(
    `cancel requested for ${workflowId}: before the freeze it stops, after it the workload is rolled back\n`,
  );
  return EXIT.ok;
}

export async function resolveCommand(
  workflowId: string,
  opts: { config?: string; destinationIsDown?: boolean },
): Promise<number> {
  await withClient(opts.config, (c) =>
    c.resolve(workflowId, { destinationIsDown: !!opts.destinationIsDown }),
  );
  process.stdout.write(
    `told ${workflowId} that its destination is down for good; it restores the source now\n`,
  );
  return EXIT.ok;
}
