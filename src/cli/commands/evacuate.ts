import type { Command } from 'commander';
import type { EvacuationResult } from '../../workflows/evacuate-host.js';
import { commaList, parseSelection, selectionOptions, type SelectionOptions } from '../selection.js';
import { configOption, examples, jsonOption, type CommonOptions, type SetExit } from '../command-helpers.js';
import { CliError, connectClient, EXIT, loadCliConfig, printResult, requireHost } from '../context.js';

/** evacuate, cordon and uncordon: empty a host, and keep evacuations off one. */
export function register(program: Command, exit: SetExit): void {
  examples(
    selectionOptions(
      program
        .command('evacuate')
        .description('move every running workload off a host (cordons it first), with bounded concurrency')
        .argument('<host>', 'the host to empty'),
    )
      .option('--to <hosts>', 'comma-separated destinations (default: every other configured host)')
      .option('--concurrency <n>', 'migrations at once (default 2)')
      .option('--deadline <iso>', 'start no migration that could not finish before this time')
      .option('--allow-start-fresh', 'last resort when a rollback cannot restore a workload')
      .option('--json', 'print the per-workload result as JSON')
      .addOption(configOption())
      .addHelpText('after', '\nExit code: 0 every workload moved, 1 some did not, 2 refused.')
      .action(async (host, opts) => exit(await evacuateCommand(host, opts))),
    'ferry evacuate node-a',
    'ferry evacuate node-a --to node-b,node-c --concurrency 2 --deadline 2026-12-01T02:00:00Z',
    "ferry evacuate node-a --runtime runc --name 'web-*' --label tier=frontend --json",
  );
  examples(
    program
      .command('cordon')
      .description('mark a host so that no evacuation places workloads on it')
      .argument('<host>')
      .option('--reason <text>', 'shown in evacuation results')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (host, opts) => exit(await cordonCommand(host, true, opts))),
    'ferry cordon node-c --reason "disk replacement"',
  );
  examples(
    program
      .command('uncordon')
      .description('let evacuations place workloads on a host again')
      .argument('<host>')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (host, opts) => exit(await cordonCommand(host, false, opts))),
    'ferry uncordon node-c',
  );
}

export interface EvacuateCliOptions extends CommonOptions, SelectionOptions {
  to?: string;
  concurrency?: string;
  deadline?: string;
  allowStartFresh?: boolean;
}

export async function evacuateCommand(host: string, opts: EvacuateCliOptions): Promise<number> {
  const selection = parseSelection(opts);
  if (opts.deadline !== undefined && Number.isNaN(Date.parse(opts.deadline)))
    throw new CliError(
      `--deadline ${opts.deadline} is not an ISO date, e.g. 2026-12-01T02:00:00Z`,
      EXIT.badInput,
    );
  const concurrency = opts.concurrency === undefined ? undefined : Number(opts.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32))
    throw new CliError('--concurrency must be an integer from 1 to 32', EXIT.badInput);
  const client = await connectClient(await loadCliConfig(opts.config));
  try {
    let last = '';
    const result = await client.evacuate(
      {
        host,
        candidates: commaList(opts.to),
        concurrency,
        deadline: opts.deadline,
        ...selection,
        allowStartFresh: opts.allowStartFresh,
      },
      (r) => {
        const line = r.rows.map((x) => `${x.workload}:${x.outcome}`).join(' ');
        if (line && line !== last) process.stderr.write(`[evacuate ${host}] ${line}\n`);
        last = line;
      },
    );
    process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatEvacuation(result));
    return result.rows.every((r) => r.outcome === 'migrated') ? EXIT.ok : EXIT.failed;
  } catch (err) {
    // By name: the client's modules load only once a command connects.
    if ((err as Error).name === 'MigrationRequestError')
      throw new CliError((err as Error).message, EXIT.badInput);
    throw err;
  } finally {
    await client.close();
  }
}

export function formatEvacuation(r: EvacuationResult): string {
  const lines = [
    `evacuation of ${r.host}: ${r.moved}/${r.rows.length} moved in ${(r.totalMs / 1000).toFixed(1)} s`,
  ];
  for (const e of r.excludedCandidates) lines.push(`  not used: ${e.host} (${e.reason})`);
  for (const x of r.rows)
    lines.push(
      `  ${`${x.runtime}/${x.workload}`.padEnd(28)} → ${(x.destination ?? '-').padEnd(10)} ${x.outcome.padEnd(22)} ${x.downtimeMs !== undefined ? `${x.downtimeMs} ms` : ''}${x.cause ? `  ${x.cause}` : ''}`,
    );
  return `${lines.join('\n')}\n`;
}

export async function cordonCommand(
  host: string,
  cordoned: boolean,
  opts: CommonOptions & { reason?: string },
): Promise<number> {
  const config = await loadCliConfig(opts.config);
  requireHost(config, host);
  const client = await connectClient(config);
  try {
    if (cordoned) await client.cordon(host, opts.reason);
    else await client.uncordon(host);
    printResult(
      opts.json,
      { host, cordoned, reason: cordoned ? (opts.reason ?? 'by an operator') : undefined },
      `${host} ${cordoned ? 'cordoned: no evacuation places workloads on it' : 'uncordoned'}`,
    );
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
