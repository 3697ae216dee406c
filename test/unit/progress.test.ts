import { PassThrough } from 'node:stream';
import {
  finalProgress,
  plainProgressLine,
  progressDisplay,
  progressFigures,
} from '../../src/cli/progress.js';
import type { MigrationProgress, MigrationResult, Phase } from '../../src/domain/types.js';

const MiB = 1024 * 1024;

function progress(phase: Phase, over: Partial<MigrationProgress> = {}): MigrationProgress {
  const order: Phase[] = ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'verify', 'cleanup'];
  const upTo = order.indexOf(phase);
  return {
    phase,
    workload: 'web',
    runtime: 'runc',
    source: 'node-a',
    destination: 'node-b',
    phases: order.slice(0, upTo + 1).map((p, i) => ({
      phase: p,
      startedAtMs: 1_000 * i,
      durationMs: i < upTo ? 1_000 : 0,
    })),
    bytesTransferred: 0,
    ...over,
  };
}

/** A stream that records what is written; isTTY decides which display is used. */
function stream(isTTY: boolean) {
  const s = new PassThrough() as PassThrough & { isTTY: boolean; columns: number };
  s.isTTY = isTTY;
  s.columns = 160;
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString()));
  return { s: s as unknown as NodeJS.WriteStream, text: () => text };
}

describe('progress figures', () => {
  it('counts finished copies plus the running one, its rate from its own start', () => {
    const p = progress('transfer', {
      bytesTransferred: 2 * MiB,
      live: { phase: 'transfer', bytes: 100 * MiB, percent: 50 },
    });
    // transfer started at 3 000 ms; now is 5 000 ms: 100 MiB in 2 s.
    const f = progressFigures(p, 5_000, 5_000);
    expect(f.bytes).toBe(102 * MiB);
    expect(f.rateMiBs).toBeCloseTo(50);
    expect(f.percent).toBeCloseTo(((3 + 0.5) / 7) * 100);
    expect(plainProgressLine(f)).toBe(
      '[runc/web node-a → node-b] transfer: 102.0 MiB moved, 50.0 MiB/s, 5.0 s elapsed',
    );
  });

  it('ignores a heartbeat of another step and reaches 100 % when done', () => {
    const p = progress('restore', { live: { phase: 'transfer', bytes: 5 * MiB } });
    expect(progressFigures(p, 1_000, 1_000).percent).toBeCloseTo((4 / 7) * 100);
    expect(progressFigures({ ...p, phase: 'done' }, 1_000, 1_000).percent).toBe(100);
  });
});

describe('progress display', () => {
  it('writes plain lines off a terminal: each phase once, throttled while bytes move, missed phases too', () => {
    let now = 0;
    const out = stream(false);
    const d = progressDisplay(out.s, () => now);
    d.update(progress('preflight'));
    d.update(progress('preflight')); // nothing new: no line
    now = 500;
    d.update(progress('transfer', { live: { phase: 'transfer', bytes: 1 * MiB } }));
    now = 700;
    d.update(progress('transfer', { live: { phase: 'transfer', bytes: 2 * MiB } })); // < 1 s later
    now = 1_800;
    d.update(progress('transfer', { live: { phase: 'transfer', bytes: 3 * MiB } }));
    const result = {
      ...progress('cleanup'),
      outcome: 'migrated',
      bytesTransferred: 3 * MiB,
    } as unknown as MigrationResult;
    result.phases.at(-1)!.durationMs = 300;
    now = 4_000;
    d.update(finalProgress(result));
    d.stop();
    const lines = out.text().trim().split('\n');
    expect(lines).toEqual([
      '[runc/web node-a → node-b] preflight: 0.0 MiB moved, 0.0 MiB/s, 0.0 s elapsed',
      '[runc/web node-a → node-b] presync: done in 1.0 s',
      '[runc/web node-a → node-b] checkpoint: done in 1.0 s',
      expect.stringMatching(
        /^\[runc\/web node-a → node-b\] transfer: 1\.0 MiB moved, [\d.]+ MiB\/s, 0\.5 s elapsed$/,
      ),
      expect.stringMatching(
        /^\[runc\/web node-a → node-b\] transfer: 3\.0 MiB moved, [\d.]+ MiB\/s, 1\.8 s elapsed$/,
      ),
      '[runc/web node-a → node-b] restore: done in 1.0 s',
      '[runc/web node-a → node-b] verify: done in 1.0 s',
      '[runc/web node-a → node-b] cleanup: done in 0.3 s',
      '[runc/web node-a → node-b] done: 3.0 MiB moved, 0.8 MiB/s, 4.0 s elapsed',
    ]);
    expect(out.text()).not.toContain('\u001b[');
  });

  it('draws one bar redrawn in place on a terminal, with phase, bytes, rate and elapsed', () => {
    let now = 0;
    const out = stream(true);
    const d = progressDisplay(out.s, () => now);
    now = 5_000;
    d.update(
      progress('transfer', { bytesTransferred: 2 * MiB, live: { phase: 'transfer', bytes: 100 * MiB } }),
    );
    d.stop();
    const text = out.text();
    expect(text).toContain('\u001b['); // cursor control: the line is redrawn, not appended
    expect(text).toMatch(/runc\/web node-a → node-b \|[█░]+\| transfer · 102\.0 MiB · 50\.0 MiB\/s · 5\.0 s/);
  });
});
