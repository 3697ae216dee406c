import { outcomeHead, renderDetails, runningHead } from '../../src/workflows/migrate/details.js';
import type { MigrationProgress, MigrationResult } from '../../src/domain/types.js';

const progress = (over: Partial<MigrationProgress> = {}): MigrationProgress => ({
  phase: 'transfer',
  workload: 'web',
  runtime: 'runc',
  source: 'node-a',
  destination: 'node-b',
  phases: [
    { phase: 'preflight', startedAtMs: 0, durationMs: 412 },
    { phase: 'checkpoint', startedAtMs: 500, durationMs: 1250 },
    { phase: 'transfer', startedAtMs: 1800, durationMs: 0 },
  ],
  bytesTransferred: 5 * 2 ** 20,
  ...over,
});

describe('the migration details in the Temporal UI', () => {
  it('shows the phase, MiB sent, and a table with the running phase marked', () => {
    const md = renderDetails({
      progress: progress(),
      figures: { checkpoint: '64 MiB of images, CRIU froze it 210 ms' },
      rollbackNotes: [],
    });
    expect(md.split('\n')).toEqual([
      'Phase **transfer** · 5.0 MiB sent',
      '',
      '| phase | took | figures |',
      '|---|---|---|',
      '| preflight | 0.4 s |  |',
      '| checkpoint | 1.3 s | 64 MiB of images, CRIU froze it 210 ms |',
      '| transfer | running |  |',
    ]);
  });

  it('numbers the rollback steps and adds the pre-copy rounds when there are any', () => {
    const md = renderDetails(
      {
        progress: progress({ phase: 'rollback' }),
        figures: {},
        rollbackNotes: ['removing any copy of runc/web on node-b', 'runc/web runs again on node-a'],
        precopy: {
          rounds: [
            {
              round: 1,
              pagesWritten: 8210,
              pagesSkipped: 0,
              pagesScanned: 8210,
              imageBytes: 33_628_475,
              bytesSent: 33_637_049,
              dumpMs: 2123,
              shipMs: 2645,
            },
          ],
        },
      },
      'head',
    );
    expect(md).toContain(
      'head\n\n**Rollback**\n\n1. removing any copy of runc/web on node-b\n2. runc/web runs again on node-a\n\n| phase',
    );
    // The last phase is not the current one any more: it shows its time, not "running".
    expect(md).toContain('| transfer | 0.0 s |  |');
    expect(md).toContain('**Pre-copy rounds**');
    expect(md).toContain('8210');
  });

  it('heads a finished migration with its outcome, downtime, total and cause', () => {
    const r = {
      outcome: 'rolled-back',
      downtimeMs: 812,
      totalMs: 12_345,
      bytesTransferred: 64 * 2 ** 20,
      cause: { type: 'RestoreFailed', message: 'CRIU said no' },
    } as MigrationResult;
    expect(outcomeHead(r)).toBe(
      '**Outcome: rolled-back** · downtime 812 ms · total 12.3 s · 64 MiB sent\n\nCause: RestoreFailed: CRIU said no',
    );
    expect(outcomeHead({ ...r, downtimeMs: undefined, cause: undefined })).toBe(
      '**Outcome: rolled-back** · total 12.3 s · 64 MiB sent',
    );
    expect(runningHead(progress({ bytesTransferred: 300 * 2 ** 20 }))).toBe(
      'Phase **transfer** · 300 MiB sent',
    );
  });
});
