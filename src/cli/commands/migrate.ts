import { WorkflowFailedError } from '@temporalio/client';
import { MigrationRequestError } from '../../client/ferry-client.js';
import { isRuntimeName, migrationWorkflowId, RUNTIMES } from '../../domain/names.js';
import type { MigrateRequest, MigrationResult } from '../../domain/types.js';
import { CliError, connectClient, EXIT, loadCliConfig, printResult } from '../context.js';
import { formatResult } from '../format.js';
import { finalProgress, progressDisplay } from '../progress.js';

export interface MigrateCliOptions {
  runtime: string;
  from: string;
  to: string;
  json?: boolean;
  config?: string;
  verifyWindowMs?: string;
  keepImages?: boolean;
  allowStartFresh?: boolean;
  mode?: string;
  acceptPostcopyRisk?: boolean;
  tcpEstablished?: boolean;
  fileLocks?: boolean;
}

export function exitCodeFor(result: MigrationResult): number {
  if (result.outcome === 'migrated') return EXIT.ok;
  // Both leave no running copy: an operator must act (post-copy lost: restart it fresh).
  if (result.outcome === 'failed-needs-operator' || result.outcome === 'failed-postcopy-lost')
    return EXIT.needsOperator;
  return EXIT.failed;
}

export async function migrateCommand(workload: string, opts: MigrateCliOptions): Promise<number> {
  if (!isRuntimeName(opts.runtime))
    throw new CliError(`unknown runtime "${opts.runtime}": use one of ${RUNTIMES.join(', ')}`, EXIT.badInput);
  const config = await loadCliConfig(opts.config);
  const req: MigrateRequest = {
    workload,
    runtime: opts.runtime,
    source: opts.from,
    destination: opts.to,
    verifyWindowMs: opts.verifyWindowMs === undefined ? undefined : Number(opts.verifyWindowMs),
    keepImages: opts.keepImages,
    allowStartFresh: opts.allowStartFresh,
    // Checked (with a clear message) by the request validation before anything starts.
    mode: opts.mode as MigrateRequest['mode'],
    acceptPostcopyRisk: opts.acceptPostcopyRisk,
    tcpEstablished: opts.tcpEstablished,
    fileLocks: opts.fileLocks,
  };
  const client = await connectClient(config);
  const workflowId = migrationWorkflowId(req.runtime, req.source, req.workload);
  let started = false;
  try {
    const handle = await client.startMigration(req);
    started = true;
    const display = progressDisplay(process.stderr);
    let result: MigrationResult;
    try {
      result = await client.waitForMigration(handle, (p) => display.update(p));
      display.update(finalProgress(result));
    } finally {
      display.stop();
    }
    const ui = client.uiUrl(config.temporal.uiUrl, workflowId);
    printResult(opts.json, { ...result, workflowId, uiUrl: ui }, formatResult(result, ui));
    return exitCodeFor(result);
  } catch (err) {
    if (err instanceof MigrationRequestError) throw new CliError(err.message, EXIT.badInput);
    if (err instanceof WorkflowFailedError)
      throw new CliError(
        `the migration workflow ${workflowId} ended without a result (${(err.cause ?? err).message}); see: ferry show ${workflowId}`,
        EXIT.failed,
      );
    if (started)
      throw new CliError(
        `lost track of migration ${workflowId} (${(err as Error).message}); it may still be running: ferry show ${workflowId}`,
        EXIT.unknown,
      );
    throw err;
  } finally {
    await client.close();
  }
}
