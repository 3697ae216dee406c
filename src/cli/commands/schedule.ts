import type { Command } from 'commander';
import { configOption, examples, jsonOption, type CommonOptions, type SetExit } from '../command-helpers.js';
import { EXIT, printResult, withClient } from '../context.js';
import { hibernateRequest, selection, type HibernateCliOptions } from './hibernate.js';

/** schedule evacuate|hibernate|snapshot|list|pause|unpause|delete: Temporal Schedules. */
export function register(program: Command, exit: SetExit): void {
  const schedule = program
    .command('schedule')
    .description(
      'Temporal Schedules that evacuate or hibernate a host (e.g. for a reboot window) or take snapshots',
    );
  examples(
    schedule
      .command('evacuate')
      .description('evacuate HOST once (--at) or repeatedly (--cron); overlapping runs are skipped')
      .argument('<host>')
      .option('--at <iso>', 'once, at this time')
      .option('--cron <expr>', 'repeatedly, e.g. "0 2 * * SUN"')
      .option('--note <text>', 'shown in ferry schedule list and the Temporal UI')
      .option('--to <hosts>', 'comma-separated destinations')
      .option('--concurrency <n>', 'migrations at once')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (host, opts) => exit(await scheduleEvacuateCommand(host, opts))),
    'ferry schedule evacuate node-a --at 2026-12-01T02:00:00Z --note "kernel update"',
    'ferry schedule evacuate node-b --cron "0 2 * * SUN" --to node-c',
  );
  examples(
    schedule
      .command('snapshot')
      .description('snapshot NAME every interval, keeping the newest --keep (and none older than --max-age)')
      .argument('<name>', 'workload name')
      .requiredOption('--runtime <runtime>', 'runc | process | podman | docker')
      .requiredOption('--host <host>', 'where it runs')
      .requiredOption('--every <duration>', 'e.g. 15m, 1h, 1d (at least 10s)')
      .requiredOption('--keep <n>', 'how many snapshots of this series to keep')
      .option('--max-age <duration>', 'also remove those older than this, e.g. 7d')
      .option('--tcp-established', 'checkpoint established TCP connections')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (name, opts) => exit(await scheduleSnapshotCommand(name, opts))),
    'ferry schedule snapshot web --runtime runc --host node-a --every 15m --keep 8 --max-age 7d',
  );
  examples(
    selection(
      schedule
        .command('hibernate')
        .description('hibernate HOST once (--at) or repeatedly (--cron), e.g. for a kernel update window')
        .argument('<host>'),
    )
      .option('--at <iso>', 'once, at this time')
      .option('--cron <expr>', 'repeatedly, e.g. "0 3 * * SUN"')
      .option('--note <text>', 'shown in ferry schedule list and the Temporal UI')
      .option('--fallback <hosts>', 'opt-in: copy snapshots there before the reboot')
      .option('--concurrency <n>', 'checkpoints at once')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (host, opts) => exit(await scheduleHibernateCommand(host, opts))),
    'ferry schedule hibernate node-a --at 2026-12-06T03:00:00Z --note "kernel 6.12 update"',
    'ferry schedule hibernate node-b --cron "0 3 * * SUN" --runtime runc,podman',
  );
  examples(
    schedule
      .command('list')
      .description('evacuation and snapshot schedules')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (opts) => exit(await scheduleListCommand(opts))),
    'ferry schedule list --json',
  );
  for (const action of ['pause', 'unpause', 'delete'] as const)
    examples(
      schedule
        .command(action)
        .description(`${action} an evacuation or snapshot schedule`)
        .argument('<id>', 'as printed by ferry schedule list')
        .addOption(jsonOption())
        .addOption(configOption())
        .action(async (id, opts) => exit(await scheduleActionCommand(action, id, opts))),
      `ferry schedule ${action} evacuate-node-a-cron`,
    );
}

export async function scheduleEvacuateCommand(
  host: string,
  opts: CommonOptions & { at?: string; cron?: string; note?: string; to?: string; concurrency?: string },
): Promise<number> {
  const id = await withClient(opts.config, (c) =>
    c.scheduleEvacuation({
      host,
      at: opts.at ? new Date(opts.at) : undefined,
      cron: opts.cron,
      note: opts.note,
      candidates: opts.to?.split(',').filter(Boolean),
      concurrency: opts.concurrency ? Number(opts.concurrency) : undefined,
    }),
  );
  printResult(opts.json, { scheduleId: id }, id);
  return EXIT.ok;
}

export async function scheduleHibernateCommand(
  host: string,
  opts: HibernateCliOptions & { at?: string; cron?: string; note?: string },
): Promise<number> {
  // A deadline is relative to each run, so a schedule takes none (docs/hibernation.md).
  const req = hibernateRequest(host, { ...opts, deadline: undefined });
  const id = await withClient(opts.config, (c) =>
    c.scheduleHibernation({
      ...req,
      at: opts.at ? new Date(opts.at) : undefined,
      cron: opts.cron,
      note: opts.note,
    }),
  );
  printResult(opts.json, { scheduleId: id }, id);
  return EXIT.ok;
}

export async function scheduleSnapshotCommand(
  name: string,
  opts: CommonOptions & {
    runtime: string;
    host: string;
    every: string;
    keep: string;
    maxAge?: string;
    tcpEstablished?: boolean;
  },
): Promise<number> {
  const keep = Number(opts.keep);
  const id = await withClient(opts.config, (c) =>
    c.scheduleSnapshots({
      workload: name,
      runtime: opts.runtime,
      host: opts.host,
      every: opts.every,
      keep,
      maxAge: opts.maxAge,
      ...(opts.tcpEstablished ? { criu: { tcpEstablished: true } } : {}),
    }),
  );
  printResult(opts.json, { scheduleId: id }, id);
  return EXIT.ok;
}

export async function scheduleListCommand(opts: CommonOptions): Promise<number> {
  const schedules = await withClient(opts.config, (c) => c.listSchedules());
  if (opts.json) process.stdout.write(`${JSON.stringify(schedules, null, 2)}\n`);
  else
    for (const s of schedules)
      process.stdout.write(
        `${s.id.padEnd(48)} ${s.paused ? 'paused ' : 'active '} next ${s.nextRun?.toISOString() ?? '-'}  runs ${s.recentRuns}${s.note ? `  ${s.note}` : ''}\n`,
      );
  return EXIT.ok;
}

export async function scheduleActionCommand(
  action: 'pause' | 'unpause' | 'delete',
  id: string,
  opts: CommonOptions,
): Promise<number> {
  await withClient(opts.config, (c) =>
    action === 'delete' ? c.deleteSchedule(id) : c.setSchedulePaused(id, action === 'pause'),
  );
  printResult(opts.json, { scheduleId: id, action }, `${id}: ${action}d`);
  return EXIT.ok;
}
