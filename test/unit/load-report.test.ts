import { describe, expect, it } from '@jest/globals';
import {
  closingLine,
  loadRunClean,
  outcomeCounts,
  percentile,
  phaseMeans,
  type LeftBehind,
} from '../../src/bench/load-report.js';
import type { MigrationResult } from '../../src/domain/types.js';

const none: LeftBehind = { processes: [], images: [], mounts: [] };

describe('load report', () => {
  it('percentiles by nearest rank', () => {
    const v = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
    expect([percentile(v, 50), percentile(v, 95), percentile(v, 100), percentile([7], 50)]).toEqual([
      5, 10, 10, 7,
    ]);
    expect(percentile([], 50)).toBeNaN();
  });

  it('ends with the contract line and is clean only when all three counts are 0', () => {
    const clean = { migrations: 200, lost: [], duplicated: [], leftBehind: none };
    expect(closingLine(clean)).toBe('200 migrations: lost 0, duplicated 0, left behind 0');
    expect(loadRunClean(clean)).toBe(true);
    const dirty = {
      migrations: 12,
      lost: ['runc/a'],
      duplicated: ['process/b on node-a and node-b', 'runc/c on node-a and node-c'],
      leftBehind: { processes: ['criu 12'], images: ['node-a: migrations/x'], mounts: ['/m'] },
    };
    expect(closingLine(dirty)).toBe('12 migrations: lost 1, duplicated 2, left behind 3');
    expect(loadRunClean(dirty)).toBe(false);
    expect(loadRunClean({ ...clean, leftBehind: { ...none, mounts: ['/m'] } })).toBe(false);
  });

  it('counts outcomes and averages phases', () => {
    expect(outcomeCounts(['migrated', 'migrated', 'rolled-back'])).toEqual({ migrated: 2, 'rolled-back': 1 });
    const r = (ms: number[]) =>
      ({
        phases: [
          { phase: 'preflight', startedAtMs: 0, durationMs: ms[0] },
          { phase: 'checkpoint', startedAtMs: 0, durationMs: ms[1] },
        ],
      }) as unknown as MigrationResult;
    expect(phaseMeans([r([100, 10]), r([300, 30])])).toEqual([
      { phase: 'preflight', meanMs: 200 },
      { phase: 'checkpoint', meanMs: 20 },
    ]);
  });
});

describe('load audit', () => {
  it('finds what a migration left under STATE/migrations, and nothing where there is nothing', async () => {
    const { mkdtemp, mkdir, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { migrationLeftovers } = await import('../../src/bench/load-audit.js');
    const root = await mkdtemp(path.join(tmpdir(), 'ferry-audit-'));
    try {
      await mkdir(path.join(root, 'a', 'migrations', 'migrate-runc-a-x-1', 'images'), { recursive: true });
      await mkdir(path.join(root, 'b'), { recursive: true });
      expect(
        await migrationLeftovers({ 'node-a': path.join(root, 'a'), 'node-b': path.join(root, 'b') }),
      ).toEqual(['node-a: migrations/migrate-runc-a-x-1']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('load page', () => {
  it('keeps the hand-written analysis from the marker on', async () => {
    const { ANALYSIS_MARKER, keptAnalysis } = await import('../../src/bench/load-page.js');
    const page = `# old figures\n\n${ANALYSIS_MARKER}\n\n## What limits throughput\n\nCPU.\n`;
    expect(keptAnalysis(page)).toBe(`${ANALYSIS_MARKER}\n\n## What limits throughput\n\nCPU.\n`);
    expect(keptAnalysis(undefined)).toContain(ANALYSIS_MARKER);
  });
});
