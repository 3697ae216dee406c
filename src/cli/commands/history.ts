import type { Command } from 'commander';
import { checkName } from '../../domain/names.js';
import type { MigrationProgress, MigrationResult } from '../../domain/types.js';
import { configOption, examples, jsonOption, type CommonOptions, type SetExit } from '../command-helpers.js';
import { CliError, EXIT, loadCliConfig, printResult, requireHost, withClient } from '../context.js';
import { exitCodeFor } from './migrate.js';

/** ls, show and setup: what Temporal knows about ferry's migrations. */
export function register(program: Command, exit: SetExit): void {
  examples(
    program
      .command('ls')
      .description('recent and ongoing migrations (from Temporal visibility)')
      .option('--running', 'only those still running')
      .option('--host <host>', 'only those from or to this host')
      .option('--limit <n>', 'at most this many, newest first (default 50)')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (opts) => exit(await lsCommand(opts))),
    'ferry ls',
    'ferry ls --running --host node-a',
    'ferry ls --limit 5 --json',
  );
  examples(
    program
      .command('show')
      .description('one migration: phases, timings, outcome, cause, UI link')
      .argument('<workflow-id>', 'e.g. migrate-runc-node-a-web (see ferry ls)')
      .addOption(jsonOption())
      .addOption(configOption())
      .addHelpText(
        'after',
        '\nExit code: 0 migrated or still running, 1 failed (or ended without a result), 3 needs an operator.',
      )
      .action(async (id, opts) => exit(await showCommand(id, opts))),
    'ferry show migrate-runc-node-a-web',
    'ferry show migrate-runc-node-a-web --json | jq .outcome',
  );
  examples(
    program
      .command('setup')
      .description("register ferry's search attributes on the configured Temporal cluster (idempotent)")
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (opts) => exit(await setupCommand(opts))),
    'ferry setup --config /etc/ferry/ferry.yaml',
  );
}

interface ListedMigration {
  workflowId: string;
  status: string;
  startTime: string;
  workload?: string;
  runtime?: string;
  source?: string;
  destination?: string;
  phase?: string;
  outcome?: string;
}

const sa = (attrs: Record<string, unknown> | undefined, name: string) => {
  const v = attrs?.[name];
  return Array.isArray(v) ? String(v[0]) : v === undefined ? undefined : String(v);
};

/** Recent and ongoing migrations, from Temporal visibility (search attributes). */
export async function lsCommand(
  opts: CommonOptions & { running?: boolean; host?: string; limit?: string },
): Promise<number> {
  if (opts.host !== undefined) {
    const problem = checkName('host', opts.host);
    if (problem) throw new CliError(problem, EXIT.badInput);
    requireHost(await loadCliConfig(opts.config), opts.host);
  }
  // Host names are validated above ([a-z0-9_.-] only), so they are safe inside the query.
  const clauses = ["WorkflowType = 'migrate'"];
  if (opts.running) clauses.push("ExecutionStatus = 'Running'");
  if (opts.host) clauses.push(`(FerrySource = '${opts.host}' OR FerryDestination = '${opts.host}')`);
  const limit = Number(opts.limit ?? 50);
  if (!Number.isInteger(limit) || limit < 1)
    throw new CliError(`--limit must be a positive integer (got ${opts.limit})`, EXIT.badInput);
  const rows = await withClient(opts.config, async (client) => {
    const out: ListedMigration[] = [];
    for await (const w of client.temporal.workflow.list({ query: clauses.join(' AND ') })) {
      const attrs = w.searchAttributes as Record<string, unknown> | undefined;
      out.push({
        workflowId: w.workflowId,
        status: w.status.name,
        startTime: w.startTime.toISOString(),
        workload: sa(attrs, 'FerryWorkload'),
        runtime: sa(attrs, 'FerryRuntime'),
        source: sa(attrs, 'FerrySource'),
        destination: sa(attrs, 'FerryDestination'),
        phase: sa(attrs, 'FerryPhase'),
        outcome: sa(attrs, 'FerryOutcome'),
      });
      if (out.length >= limit) break;
    }
    return out;
  });
  const table = rows.map(
    (r) =>
      `${r.startTime}  ${r.status.padEnd(10)} ${`${r.runtime}/${r.workload}`.padEnd(24)} ${`${r.source} → ${r.destination}`.padEnd(18)} ${(r.outcome ?? r.phase ?? '').padEnd(22)} ${r.workflowId}`,
  );
  printResult(
    opts.json,
    rows,
    rows.length
      ? [
          `${'started'.padEnd(24)}  ${'status'.padEnd(10)} ${'workload'.padEnd(24)} ${'hosts'.padEnd(18)} ${'outcome or phase'.padEnd(22)} workflow id`,
          ...table,
        ].join('\n')
      : `no ${opts.running ? 'running ' : ''}migrations${opts.host ? ` from or to ${opts.host}` : ''}`,
  );
  return EXIT.ok;
}

/** One migration: phases, timings, outcome, cause and the UI link. */
export async function showCommand(workflowId: string, opts: CommonOptions): Promise<number> {
  const config = await loadCliConfig(opts.config);
  const [{ formatResult }, { freezeReport }, { plainProgressLine, progressFigures }] = await Promise.all([
    import('../format.js'),
    import('../../domain/freeze-report.js'),
    import('../progress.js'),
  ]);
  return withClient(opts.config, async (client) => {
    const handle = client.temporal.workflow.getHandle(workflowId);
    const description = await handle.describe();
    const ui = client.uiUrl(config.temporal.uiUrl, workflowId, description.runId);
    if (description.status.name === 'RUNNING') {
      const progress: MigrationProgress = await client.getLiveProgress(workflowId);
      const now = Date.now();
      const elapsed = now - description.startTime.getTime();
      printResult(
        opts.json,
        { workflowId, status: 'RUNNING', progress, uiUrl: ui },
        [
          `running: ${plainProgressLine(progressFigures(progress, elapsed, now))}`,
          `  phases: ${progress.phases.map((p) => `${p.phase} ${p.durationMs} ms`).join(', ')}`,
          ...(progress.rollback ? [`  rollback: ${progress.rollback}`] : []),
          ...(ui ? [`  history: ${ui}`] : []),
        ].join('\n'),
      );
      return EXIT.ok;
    }
    if (description.status.name !== 'COMPLETED') {
      // Terminated, timed out or failed as a workflow (e.g. invalid input): no result to show.
      printResult(
        opts.json,
        { workflowId, status: description.status.name, uiUrl: ui },
        `${workflowId}: the workflow ended ${description.status.name} without a migration result${ui ? `; its history: ${ui}` : ''}`,
      );
      return EXIT.failed;
    }
    const result = (await handle.result()) as MigrationResult;
    printResult(
      opts.json,
      { workflowId, status: 'COMPLETED', ...result, uiUrl: ui },
      // How often the workload was frozen, and the CRIU logs of failed steps with their lines.
      [formatResult(result, ui), ...freezeReport(result)].join('\n'),
    );
    return exitCodeFor(result);
  });
}

/** Registers ferry's search attributes on any cluster (the dev server gets them at start). */
export async function setupCommand(opts: CommonOptions): Promise<number> {
  const config = await loadCliConfig(opts.config);
  const { SEARCH_ATTRIBUTE_NAMES } = await import('../../workflows/search-attributes.js');
  const added = await withClient(opts.config, async (client) => {
    const ops = client.temporal.connection.operatorService;
    const existing = await ops.listSearchAttributes({ namespace: config.temporal.namespace });
    const missing = SEARCH_ATTRIBUTE_NAMES.filter((n) => !(n in (existing.customAttributes ?? {})));
    if (missing.length)
      await ops.addSearchAttributes({
        namespace: config.temporal.namespace,
        searchAttributes: Object.fromEntries(missing.map((n) => [n, 2 /* KEYWORD */])),
      });
    return missing;
  });
  printResult(
    opts.json,
    { namespace: config.temporal.namespace, registered: added, present: SEARCH_ATTRIBUTE_NAMES },
    added.length
      ? `registered search attributes: ${added.join(', ')}`
      : `search attributes already registered: ${SEARCH_ATTRIBUTE_NAMES.join(', ')}`,
  );
  return EXIT.ok;
}
