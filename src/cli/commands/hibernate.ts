import type { Command } from 'commander';
import type { HibernationResult } from '../../domain/hibernation.js';
import { parseDuration } from '../../domain/snapshots.js';
import type { StartHibernationRequest } from '../../client/hibernations.js';
import { commaList, parseSelection, selectionOptions, type SelectionOptions } from '../selection.js';
import { configOption, examples, jsonOption, type CommonOptions, type SetExit } from '../command-helpers.js';
import { CliError, EXIT, printResult, withClient } from '../context.js';

/** hibernate and hibernation: take a host's workloads through its reboot (docs/hibernation.md). */
export function register(program: Command, exit: SetExit): void {
  examples(
    selection(
      program
        .command('hibernate')
        .description(
          'checkpoint a host’s workloads into its own store and stop them; returns once the host is ready to reboot, then the workflow restores them when its worker is back after the reboot',
        )
        .argument('<host>', 'the host that will reboot'),
    )
      .option('--deadline <when>', 'ISO time or duration (e.g. 30m) by which the host should be back')
      .option(
        '--fallback <hosts>',
        'opt-in: copy each snapshot to these hosts first, restore there if the host is not back by --deadline',
      )
      .option('--concurrency <n>', 'checkpoints (and restores) at once (default 2)')
      .option('--wait', 'wait for the whole hibernation (through the reboot) and print the final report')
      .option(
        '--on-shutdown',
        'for the systemd unit (deploy/systemd): only when the machine is shutting down, and a hibernation already under way is fine',
      )
      .addOption(jsonOption())
      .addOption(configOption())
      .addHelpText(
        'after',
        '\nExit code: 0 ready to reboot (with --wait: every workload back), 1 some did not come back, 2 refused.',
      )
      .action(async (host, opts) => exit(await hibernateCommand(host, opts))),
    'ferry hibernate node-a',
    "ferry hibernate node-a --runtime runc,podman --name 'db-*' --label tier=stateful --json",
    'ferry hibernate node-a --deadline 30m --fallback node-b,node-c',
  );
  examples(
    program
      .command('hibernation')
      .description('where the hibernation of a host stands (per workload), or its report once done')
      .argument('<host>')
      .option('--wait', 'wait until it is done (after the reboot and the restores)')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (host, opts) => exit(await hibernationCommand(host, opts))),
    'ferry hibernation node-a',
    'ferry hibernation node-a --wait --json',
  );
}

/** The workload selection shared by hibernate and schedule hibernate. */
export const selection = (cmd: Command) => selectionOptions(cmd, 'db-*');

export interface HibernateCliOptions extends CommonOptions, SelectionOptions {
  deadline?: string;
  fallback?: string;
  concurrency?: string;
  wait?: boolean;
  onShutdown?: boolean;
}

/** The request from the command line; bad values exit 2 before anything starts. */
export function hibernateRequest(host: string, opts: HibernateCliOptions): StartHibernationRequest {
  const concurrency = opts.concurrency === undefined ? undefined : Number(opts.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16))
    throw new CliError('--concurrency must be an integer from 1 to 16', EXIT.badInput);
  return {
    host,
    ...parseSelection(opts),
    deadline: opts.deadline === undefined ? undefined : deadlineOf(opts.deadline),
    fallbackHosts: commaList(opts.fallback),
    concurrency,
  };
}

function deadlineOf(text: string): string {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(Date.now() + ms).toISOString();
  if (Number.isNaN(Date.parse(text)))
    throw new CliError(
      `--deadline ${text} is neither an ISO time (2026-12-01T02:00:00Z) nor a duration (30m, 2h)`,
      EXIT.badInput,
    );
  return new Date(text).toISOString();
}

export async function hibernateCommand(host: string, opts: HibernateCliOptions): Promise<number> {
  const req = hibernateRequest(host, opts);
  if (opts.onShutdown) {
    const { shuttingDown, systemState } = await import('../../host/system-state.js');
    const state = await systemState();
    if (!shuttingDown(state)) {
      printResult(
        opts.json,
        { host, hibernated: false, systemState: state },
        `the machine is not shutting down (systemd: ${state ?? 'absent'}): nothing hibernated`,
      );
      return EXIT.ok;
    }
  }
  return withClient(opts.config, async (c) => {
    if (opts.onShutdown) {
      // Already hibernating (an operator asked before the reboot): the workflow has it in hand.
      const now = await c.getHibernation(host).catch(() => undefined);
      if (now?.status === 'RUNNING') {
        const ready = await c.hibernationReady(host);
        printResult(
          opts.json,
          { workflowId: ready.workflowId, ...ready.progress },
          formatHibernation(ready.progress, ready.workflowId),
        );
        return exitOf(ready.progress);
      }
    }
    let last = '';
    const ready = await c.hibernateUntilReady(req, (r) => {
      const line = `${r.phase} ${r.rows.map((x) => `${x.workload}:${x.state}`).join(' ')}`;
      if (!opts.json && line !== last) process.stderr.write(`[hibernate ${host}] ${line}\n`);
      last = line;
    });
    const report = opts.wait ? await c.waitForHibernation(host) : ready.progress;
    printResult(
      opts.json,
      { workflowId: ready.workflowId, runId: ready.runId, ...report },
      formatHibernation(report, ready.workflowId),
    );
    return exitOf(report);
  });
}

export async function hibernationCommand(
  host: string,
  opts: CommonOptions & { wait?: boolean },
): Promise<number> {
  return withClient(opts.config, async (c) => {
    const state = await c.getHibernation(host);
    const report = opts.wait ? await c.waitForHibernation(host) : (state.result ?? state.progress);
    if (!report)
      throw new CliError(
        `the hibernation of ${host} (${state.workflowId}) is ${state.status}; no report`,
        EXIT.unknown,
      );
    printResult(
      opts.json,
      { workflowId: state.workflowId, status: opts.wait ? 'COMPLETED' : state.status, ...report },
      formatHibernation(report, state.workflowId),
    );
    return exitOf(report);
  });
}

function exitOf(r: HibernationResult): number {
  if (r.outcome === 'refused') return EXIT.badInput;
  if (r.phase !== 'done') return EXIT.ok; // ready to reboot (or already on its way back)
  return r.outcome === 'resumed' || r.outcome === 'restored-elsewhere' ? EXIT.ok : EXIT.failed;
}

export function formatHibernation(r: HibernationResult, workflowId: string): string {
  const head =
    r.outcome === 'refused'
      ? `hibernation of ${r.host} refused, nothing was stopped: ${r.cause?.message ?? ''}`
      : r.phase === 'done'
        ? `hibernation of ${r.host}: ${r.outcome}${r.resumeMs !== undefined ? ` (all back ${(r.resumeMs / 1000).toFixed(1)} s after its worker returned)` : ''}`
        : r.phase === 'ready-to-reboot'
          ? `${r.host} is ready to reboot (${((r.readyMs ?? 0) / 1000).toFixed(1)} s); workflow ${workflowId} restores its workloads when its worker is back after the reboot`
          : `hibernation of ${r.host}: ${r.phase}`;
  const lines = [head];
  for (const x of r.rows)
    lines.push(
      `  ${`${x.runtime}/${x.workload}`.padEnd(28)} ${x.state.padEnd(18)} ${x.snapshotId ?? ''}${x.restoredOn && x.restoredOn !== r.host ? ` on ${x.restoredOn}` : ''}${x.cause ? `  ${x.cause}` : ''}${x.running ? ' (still running)' : ''}${x.retryCommand ? `\n      retry: ${x.retryCommand}` : ''}`,
    );
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return `${lines.join('\n')}\n`;
}
