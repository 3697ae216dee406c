import { MigrationRequestError } from '../../client/ferry-client.js';
import { isRuntimeName, migrationWorkflowId, RUNTIMES } from '../../domain/names.js';
import type { MigrateRequest, MigrationResult } from '../../domain/types.js';
import { CliError, connectClient, EXIT, loadCliConfig } from '../context.js';
import { formatProgress, formatResult } from '../format.js';

export interface MigrateCliOptions {
  runtime: string;
  from: string;
  to: string;
  json?: boolean;
  config?: string;
  verifyWindowMs?: string;
  keepImages?: boolean;
  allowStartFresh?: boolean;
  tcpEstablished?: boolean;
  fileLocks?: boolean;
}

export function exitCodeFor(result: MigrationResult): number {
  if (result.outcome === 'migrated') return EXIT.ok;
  if (result.outcome === 'failed-needs-operator') return EXIT.needsOperator;
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
    tcpEstablished: opts.tcpEstablished,
    fileLocks: opts.fileLocks,
  };
  const client = await connectClient(config);
  try {
    let lastLine = '';
    const result = await client.migrate(req, (p) => {
      const line = formatProgress(p);
      if (line !== lastLine) process.stderr.write(`${line}\n`);
      lastLine = line;
    });
    const workflowId = migrationWorkflowId(req.runtime, req.source, req.workload);
    const ui = client.uiUrl(config.temporal.uiUrl, workflowId);
    if (opts.json) process.stdout.write(`${JSON.stringify({ ...result, workflowId, uiUrl: ui }, null, 2)}\n`);
    else process.stdout.write(`${formatResult(result, ui)}\n`);
    return exitCodeFor(result);
  } catch (err) {
    if (err instanceof MigrationRequestError) throw new CliError(err.message, EXIT.badInput);
    throw err;
  } finally {
    await client.close();
  }
}
