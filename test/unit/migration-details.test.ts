import { outcomeHead, renderDetails, runningHead } from '../../src/workflows/migrate/details.js';
import { freezeReport } from '../../src/domain/freeze-report.js';
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

describe('what the details say about freezes', () => {
  const base: Omit<MigrationResult, 'outcome' | 'freezes' | 'frozenMsTotal'> = {
    migrationId: 'migrate-process-node-a-web-1234abcd',
    workload: 'web',
    runtime: 'process',
    source: 'node-a',
    destination: 'node-b',
    totalMs: 2_100,
    bytesTransferred: 0,
    phases: [],
    criu: {},
    criuVersions: {},
  };

  it('a failure that froze and resumed the workload never says it was not frozen', () => {
    const r: MigrationResult = {
      ...base,
      outcome: 'failed-before-freeze',
      freezes: 1,
      frozenMsTotal: 6,
      cause: { type: 'NotCheckpointable', message: 'process/web cannot be checkpointed on node-a: …' },
      freezeAttempts: [
        {
          attempt: 'checkpoint-1',
          step: 'checkpoint',
          atMs: 1,
          froze: true,
          frozenMs: 6,
          measuredBy: 'criu-log',
          outcome: 'failed',
          log: '/state/logs/m/checkpoint-1.log',
        },
      ],
      criuLogs: [{ host: 'node-a', path: '/state/logs/m/checkpoint-1.log', excerpt: [] }],
    };
    const head = outcomeHead(r);
    expect(head).toContain('· frozen 1× (6 ms in all) ·');
    expect(head).toContain(
      'process/web was frozen 1× (6 ms in all) by dump attempts or pre-copy rounds and resumed each time: it runs on node-a.',
    );
    expect(head).not.toMatch(/never frozen|nothing was frozen/);
    const md = renderDetails({ progress: progress(), figures: {}, rollbackNotes: [], result: r }, head);
    expect(md).toContain(
      '| checkpoint-1 | yes | 6 ms | criu-log | failed | /state/logs/m/checkpoint-1.log |',
    );
    expect(md).toContain('**CRIU logs kept**\n\n- node-a: `/state/logs/m/checkpoint-1.log`');
  });

  it('a refusal before any freeze says so', () => {
    const head = outcomeHead({ ...base, outcome: 'failed-before-freeze', freezes: 0, frozenMsTotal: 0 });
    expect(head).toContain('· never frozen ·');
    expect(head).toContain('process/web was never frozen and runs on node-a as before.');
  });

  it('a source that did not answer gives a lower bound', () => {
    const head = outcomeHead({
      ...base,
      outcome: 'rolled-back',
      freezes: 1,
      frozenMsTotal: 0,
      freezesUnknown: 'node-a did not answer',
    });
    expect(head).toContain('frozen at least 1× (node-a did not answer)');
  });
});

describe('what ferry show prints about freezes (freezeReport)', () => {
  it('lists the attempts and the kept logs with their lines', () => {
    expect(
      freezeReport({
        freezes: 2,
        frozenMsTotal: 99,
        freezeAttempts: [
          {
            attempt: 'checkpoint-1',
            step: 'checkpoint',
            atMs: 1,
            froze: true,
            frozenMs: 6,
            measuredBy: 'criu-log',
            outcome: 'failed',
            log: '/s/logs/m/checkpoint-1.log',
          },
          {
            attempt: 'checkpoint-2',
            step: 'checkpoint',
            atMs: 2,
            froze: true,
            frozenMs: 93,
            measuredBy: 'criu-stats',
            outcome: 'dumped',
          },
          { attempt: 'checkpoint-3', step: 'checkpoint', atMs: 3, froze: false, outcome: 'failed' },
        ],
        criuLogs: [
          {
            host: 'node-a',
            path: '/s/logs/m/checkpoint-1.log',
            excerpt: ['(00.2) Error (criu/sk-inet.c:200): inet: Connected TCP socket'],
          },
        ],
      }),
    ).toEqual([
      'Freezes: frozen 2× (99 ms in all)',
      '  checkpoint-1: froze 6 ms (criu-log), failed; log /s/logs/m/checkpoint-1.log',
      '  checkpoint-2: froze 93 ms (criu-stats), dumped',
      '  checkpoint-3: did not freeze, failed',
      'CRIU log on node-a: /s/logs/m/checkpoint-1.log',
      '    (00.2) Error (criu/sk-inet.c:200): inet: Connected TCP socket',
    ]);
    expect(freezeReport({ freezes: 0, frozenMsTotal: 0 })).toEqual(['Freezes: never frozen']);
    expect(freezeReport({} as never)).toEqual([]);
  });
});
