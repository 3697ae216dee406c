import { EXIT, printResult, withClient } from '../context.js';

export async function cancelCommand(
  workflowId: string,
  opts: { config?: string; json?: boolean },
): Promise<number> {
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
  opts: { config?: string; destinationIsDown?: boolean; json?: boolean },
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
