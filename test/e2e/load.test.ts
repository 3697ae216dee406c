// The load benchmark's core (src/bench/load-run.ts) in small: 12 migrations at concurrency 4 over
// the e2e environment's hosts, then an evacuation of 4, all through the typed client. Every
// workload must run exactly once afterwards and nothing of a migration may be left.
import { afterAll, describe, expect, it } from '@jest/globals';
import { closingLine, type LoadReport } from '../../src/bench/load-report.js';
import { removeWorkloads, runLoad, type LoadOptions } from '../../src/bench/load-run.js';
import { readDevState } from '../../src/dev/dev-env.js';
import { CONFIG_FILE, E2E } from './env.js';

const MIGRATIONS = 12;
const base = { configFile: CONFIG_FILE as string, hosts: E2E.hosts, prefix: 'lt' };

afterAll(async () => {
  await removeWorkloads(base);
});

describe('load (small)', () => {
  it('12 migrations at concurrency 4 and an evacuation of 4: none lost, duplicated or left behind', async () => {
    const state = await readDevState(E2E.dir);
    if (!state) throw new Error(`no e2e dev environment in ${E2E.dir}`);
    const opts: LoadOptions = {
      ...base,
      envDir: state.dir,
      pids: Object.fromEntries(state.hosts.map((h) => [`worker ${h.name}`, h.workerPid])),
      migrations: MIGRATIONS,
      concurrency: 4,
      evacuate: 4,
      log: (line) => process.stderr.write(`[load] ${line}\n`),
    };
    const report: LoadReport = await runLoad(opts);

    expect(report.errors).toEqual([]);
    expect(report.results.map((r) => r.outcome)).toEqual(Array(MIGRATIONS).fill('migrated'));
    expect(report.evacuation).toMatchObject({ workloads: 4, moved: 4 });
    expect(report.lost).toEqual([]);
    expect(report.duplicated).toEqual([]);
    expect(report.leftBehind).toEqual({ processes: [], images: [], mounts: [] });
    expect(closingLine(report)).toBe(`${MIGRATIONS} migrations: lost 0, duplicated 0, left behind 0`);
    // The figures the bench reports are there.
    expect(report.historyEvents).toHaveLength(MIGRATIONS);
    expect(Math.min(...report.historyEvents)).toBeGreaterThan(10);
    expect(report.results.every((r) => typeof r.downtimeMs === 'number')).toBe(true);
    expect(report.memory.every((m) => m.startKiB > 0 && m.endKiB > 0)).toBe(true);
  }, 400_000);
});
