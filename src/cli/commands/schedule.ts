import { EXIT, printResult, withClient } from '../context.js';

export async function scheduleEvacuateCommand(
  host: string,
  opts: {
    at?: string;
    cron?: string;
    note?: string;
    to?: string;
    concurrency?: string;
    config?: string;
    json?: boolean;
  },
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

export async function scheduleListCommand(opts: { json?: boolean; config?: string }): Promise<number> {
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
  opts: { config?: string; json?: boolean },
): Promise<number> {
  await withClient(opts.config, (c) =>
    action === 'delete' ? c.deleteSchedule(id) : c.setSchedulePaused(id, action === 'pause'),
  );
  printResult(opts.json, { scheduleId: id, action }, `${id}: ${action}d`);
  return EXIT.ok;
}
