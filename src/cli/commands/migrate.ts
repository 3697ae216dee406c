import type { Command } from 'commander';
import { isRuntimeName, migrationWorkflowId, RUNTIMES } from '../../domain/names.js';
import type { MigrateRequest, MigrationResult } from '../../domain/types.js';
import { examples, type SetExit } from '../command-helpers.js';
import { CliError, connectClient, EXIT, loadCliConfig, printResult } from '../context.js';

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
  pid?: string;
  pidfile?: string;
  unit?: string;
  /** false with --no-ship-image. */
  shipImage?: boolean;
  replaceStopped?: boolean;
}

export function register(program: Command, exit: SetExit): void {
  examples(
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
        '--no-ship-image',
        "podman/docker: refuse when the destination lacks the container's image instead of shipping it there",
      )
      .option(
        '--replace-stopped',
        'podman/docker: remove a STOPPED container of the same name on the destination instead of refusing (a running one is always refused)',
      )
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
      .option(
        '--pid <pid>',
        'process runtime: adopt this running process tree (ferry did not start it) as <workload>',
      )
      .option(
        '--pidfile <file>',
        'process runtime: adopt the process whose pid this file on the source holds',
      )
      .option(
        '--unit <name>',
        'process runtime: adopt the main process of this systemd service on the source',
      )
      .option('--config <file>', 'ferry config (default: $FERRY_CONFIG or the dev environment)')
      .addHelpText(
        'after',
        `
Progress goes to stderr: a live bar on a terminal (phase, bytes moved, rate, elapsed), plain
lines otherwise. The result goes to stdout. Exit code 0 migrated, 1 failed (the workload runs
on the source again, or was started fresh), 3 needs an operator, 2 refused, 4 outcome unknown.

--pid/--pidfile/--unit: a process tree that ferry did not start (the process and all its
descendants) becomes workload <workload> on the source if CRIU can move it; the preflight refuses
otherwise, before anything is frozen, and says what to change (docs/runtimes.md). Once moved it
is migrated by its name alone, like any other workload.`,
      )
      .action(async (workload, opts) => exit(await migrateCommand(workload, opts))),
    'ferry migrate web --runtime runc --from node-a --to node-b',
    'ferry migrate web --runtime runc --from node-a --to node-b --json | jq .downtimeMs',
    'ferry migrate calc --runtime process --from node-b --to node-a --verify-window-ms 5000',
    'ferry migrate app --runtime process --pid 4242 --from node-a --to node-b',
    'ferry migrate app --runtime process --pidfile /run/app.pid --from node-a --to node-b',
    'ferry migrate api --runtime podman --from node-a --to node-b --no-ship-image',
  );
}

export function exitCodeFor(result: MigrationResult): number {
  if (result.outcome === 'migrated') return EXIT.ok;
  // A preflight said no: nothing was started on the workload, as with any other bad input.
  if (result.outcome === 'refused') return EXIT.badInput;
  // Both leave no running copy: an operator must act (post-copy lost: restart it fresh).
  if (result.outcome === 'failed-needs-operator' || result.outcome === 'failed-postcopy-lost')
    return EXIT.needsOperator;
  return EXIT.failed;
}

/** --pid, --pidfile, --unit: checked (exactly one, well formed) by the request validation. */
export function adoptTarget(
  opts: Pick<MigrateCliOptions, 'pid' | 'pidfile' | 'unit'>,
): MigrateRequest['adopt'] {
  if (opts.pid === undefined && opts.pidfile === undefined && opts.unit === undefined) return undefined;
  return {
    ...(opts.pid !== undefined ? { pid: /^\d+$/.test(opts.pid) ? Number(opts.pid) : Number.NaN } : {}),
    // The file is read on the source host: a relative path would mean the worker's folder.
    ...(opts.pidfile !== undefined ? { pidFile: opts.pidfile } : {}),
    ...(opts.unit !== undefined
      ? { unit: opts.unit.includes('.') ? opts.unit : `${opts.unit}.service` }
      : {}),
  };
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
    adopt: adoptTarget(opts),
    // Shipping is the default: the request carries only the opt-out.
    shipImage: opts.shipImage === false ? false : undefined,
    replaceStopped: opts.replaceStopped || undefined,
  };
  // Loaded here, not at start-up: the Temporal client and the progress bar (docs/cli.md).
  const [
    { WorkflowFailedError },
    { MigrationRequestError },
    { formatResult },
    { finalProgress, progressDisplay },
  ] = await Promise.all([
    import('@temporalio/client'),
    import('../../client/errors.js'),
    import('../format.js'),
    import('../progress.js'),
  ]);
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
