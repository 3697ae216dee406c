import { MigrationRequestError } from '../../client/ferry-client.js';
import { isRuntimeName, RUNTIMES, type RuntimeName } from '../../domain/names.js';
import { parseLabels } from '../../domain/placement.js';
import type { EvacuationResult } from '../../workflows/evacuate-host.js';
import { CliError, connectClient, EXIT, loadCliConfig, printResult } from '../context.js';

export interface EvacuateCliOptions {
  to?: string;
  concurrency?: string;
  deadline?: string;
  runtime?: string;
  name?: string;
  label?: string[];
  json?: boolean;
  allowStartFresh?: boolean;
  config?: string;
}

const list = (v?: string) =>
  v
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export async function evacuateCommand(host: string, opts: EvacuateCliOptions): Promise<number> {
  const runtimes = list(opts.runtime);
  for (const r of runtimes ?? [])
    if (!isRuntimeName(r))
      throw new CliError(`unknown runtime "${r}": use one of ${RUNTIMES.join(', ')}`, EXIT.badInput);
  if (opts.deadline !== undefined && Number.isNaN(Date.parse(opts.deadline)))
    throw new CliError(
      `--deadline ${opts.deadline} is not an ISO date, e.g. 2026-12-01T02:00:00Z`,
      EXIT.badInput,
    );
  const concurrency = opts.concurrency === undefined ? undefined : Number(opts.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32))
    throw new CliError('--concurrency must be an integer from 1 to 32', EXIT.badInput);
  let labels: Record<string, string> | undefined;
  try {
    labels = opts.label?.length ? parseLabels(opts.label) : undefined;
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.badInput);
  }
  const client = await connectClient(await loadCliConfig(opts.config));
  try {
    let last = '';
    const result = await client.evacuate(
      {
        host,
        candidates: list(opts.to),
        concurrency,
        deadline: opts.deadline,
        runtimes: runtimes as RuntimeName[] | undefined,
        namePattern: opts.name,
        labels,
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
    if (err instanceof MigrationRequestError) throw new CliError(err.message, EXIT.badInput);
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
  opts: { reason?: string; config?: string; json?: boolean },
): Promise<number> {
  const config = await loadCliConfig(opts.config);
  if (!config.hosts.some((h) => h.name === host))
    throw new CliError(
      `unknown host "${host}": the configuration has ${config.hosts.map((h) => h.name).join(', ')}`,
      EXIT.badInput,
    );
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
