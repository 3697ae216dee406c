import type { Command } from 'commander';
import type { HostStatus } from '../../client/hosts.js';
import { configOption, examples, jsonOption, type CommonOptions, type SetExit } from '../command-helpers.js';
import { EXIT, printResult, withClient } from '../context.js';

/** ferry hosts: which hosts' workers are up now, and what each says about itself. */
export function register(program: Command, exit: SetExit): void {
  examples(
    program
      .command('hosts')
      .description(
        'each configured host: is its worker up now, ferry and CRIU versions, runtimes, free space, cordon',
      )
      .addOption(jsonOption())
      .addOption(configOption())
      .addHelpText(
        'after',
        `
A worker is up when it polled its task queue (ferry-host-NAME) in the last 70 s and answered a
probe just now (a step it must pick up within 4 s): Temporal lists a stopped worker's poller
for minutes, the probe does not wait for that (docs/hosts.md). Exit code 0 (a report).`,
      )
      .action(async (opts) => exit(await hostsCommand(opts))),
    'ferry hosts',
    "ferry hosts --json | jq -r '.[] | select(.up | not) | .startWith'",
  );
}

const gib = (b?: number) => (b === undefined ? '?' : `${(b / 2 ** 30).toFixed(1)} GiB`);

/** The table ferry hosts prints: one line per host, and how to start each worker that is down. */
export function hostsTable(hosts: HostStatus[]): string {
  const rows = hosts.map((h) => [
    h.name,
    h.up ? 'up' : 'DOWN',
    h.lastPollAgoS === undefined ? 'never' : `${h.lastPollAgoS} s ago`,
    h.ferryVersion ?? '?',
    h.criuVersion ?? (h.up ? 'none' : '?'),
    h.runtimes.join(','),
    gib(h.freeBytes),
    h.cordoned === null ? '?' : h.cordoned ? `cordoned${h.cordonReason ? ` (${h.cordonReason})` : ''}` : '-',
    h.runcRoot,
  ]);
  const head = ['host', 'worker', 'last poll', 'ferry', 'criu', 'runtimes', 'free', 'cordon', 'runc root'];
  const widths = head.map((t, i) => Math.max(t.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const down = hosts
    .filter((h) => !h.up)
    .map((h) => `${h.name}: ${h.downBecause}; start it there with: ${h.startWith}`);
  const criu = hosts.filter((h) => h.criuProblem).map((h) => `${h.name}: ${h.criuProblem}`);
  return [line(head), ...rows.map(line), ...(down.length || criu.length ? ['', ...down, ...criu] : [])].join(
    '\n',
  );
}

export async function hostsCommand(opts: CommonOptions): Promise<number> {
  const hosts = await withClient(opts.config, (c) => c.describeHosts());
  printResult(opts.json, hosts, hostsTable(hosts));
  return EXIT.ok;
}
