import {
  DEFAULT_PRECOPY_POLICY,
  precopyDecision,
  precopyParentLink,
  precopyTable,
  predictFinalMs,
  predictNextPages,
  type PrecopyRound,
} from '../../src/domain/precopy.js';
import { runPrecopyRounds } from '../../src/workflows/precopy-rounds.js';
import { validateMigrateRequest } from '../../src/domain/validation.js';
import { capabilitiesOf } from '../../src/runtimes/capabilities.js';

const validate = (r: Parameters<typeof validateMigrateRequest>[0]) =>
  validateMigrateRequest(r, capabilitiesOf);

const r = (round: number, pagesWritten: number, over: Partial<PrecopyRound> = {}): PrecopyRound => ({
  round,
  pagesWritten,
  pagesSkipped: 0,
  pagesScanned: 8436,
  imageBytes: pagesWritten * 4096,
  bytesSent: pagesWritten * 4096,
  dumpMs: 100,
  shipMs: 100,
  ...over,
});

// Recorded in the proof guest (Debian 6.1.0-56-amd64, CRIU 4.2.1, ferry-stateful 32 MiB, 0 % dirty):
// round 1 wrote all memory, round 2 what the counter and stack touched in between.
const GUEST_ROUNDS: PrecopyRound[] = [
  {
    round: 1,
    pagesWritten: 8209,
    pagesSkipped: 0,
    pagesScanned: 8436,
    imageBytes: 33624378,
    bytesSent: 33632955,
    dumpMs: 2553,
    shipMs: 9251,
  },
  {
    round: 2,
    pagesWritten: 6,
    pagesSkipped: 8203,
    pagesScanned: 8436,
    imageBytes: 24820,
    bytesSent: 25328,
    dumpMs: 5955,
    shipMs: 2696,
  },
];

describe('precopy stop rule', () => {
  it('runs another round after a big first round', () => {
    expect(precopyDecision(GUEST_ROUNDS.slice(0, 1)).stop).toBe(false);
  });

  it('stops on few pages (the guest run)', () => {
    expect(precopyDecision(GUEST_ROUNDS)).toMatchObject({ stop: true, reason: 'few-pages' });
  });

  it('stops when rounds stop shrinking (a workload dirtying as fast as we copy)', () => {
    const rounds = [r(1, 16384), r(2, 9000), r(3, 8500)];
    expect(precopyDecision(rounds.slice(0, 2)).stop).toBe(false);
    expect(precopyDecision(rounds)).toMatchObject({ stop: true, reason: 'not-shrinking' });
  });

  it('stops at the round limit while rounds still shrink', () => {
    const rounds = [r(1, 100000), r(2, 50000), r(3, 25000), r(4, 12000), r(5, 6000)];
    expect(precopyDecision(rounds.slice(0, 4)).stop).toBe(false);
    expect(precopyDecision(rounds)).toMatchObject({ stop: true, reason: 'round-limit' });
    expect(precopyDecision(rounds.slice(0, 2), { ...DEFAULT_PRECOPY_POLICY, maxRounds: 2 })).toMatchObject({
      reason: 'round-limit',
    });
  });

  it('stops when the predicted final dump fits the downtime budget', () => {
    // 10000 pages in 1000 ms: 0.1 ms a page; next predicted 10000 * (10000/40000) = 2500 pages = 250 ms.
    const rounds = [r(1, 40000, { dumpMs: 3000, shipMs: 1000 }), r(2, 10000, { dumpMs: 600, shipMs: 400 })];
    expect(predictNextPages(rounds)).toBe(2500);
    expect(predictFinalMs(rounds)).toBe(250);
    const policy = { ...DEFAULT_PRECOPY_POLICY, downtimeBudgetMs: 300 };
    expect(precopyDecision(rounds, policy)).toMatchObject({ stop: true, reason: 'fits-downtime-budget' });
    expect(precopyDecision(rounds, { ...policy, downtimeBudgetMs: 200 }).stop).toBe(false);
  });

  it('checks few pages before the budget, the budget before not-shrinking', () => {
    const policy = { ...DEFAULT_PRECOPY_POLICY, downtimeBudgetMs: 1_000_000 };
    expect(precopyDecision(GUEST_ROUNDS, policy)).toMatchObject({ reason: 'few-pages' });
    expect(precopyDecision([r(1, 1000), r(2, 990)], policy)).toMatchObject({
      reason: 'fits-downtime-budget',
    });
  });

  it('never predicts more pages than the last round wrote', () => {
    expect(predictNextPages([r(1, 100), r(2, 400)])).toBe(400);
    expect(predictNextPages([r(1, 400)])).toBe(400);
    expect(predictNextPages([])).toBe(0);
  });

  it('links parents relative to the images folder, so they survive rsync', () => {
    expect(precopyParentLink(1, 'round')).toBe('../round-1');
    expect(precopyParentLink(3, 'final')).toBe('../rounds/round-3');
  });

  it('tabulates the rounds and the reason', () => {
    const t = precopyTable({ rounds: GUEST_ROUNDS, stopReason: 'few-pages', stopDetail: 'x' });
    expect(t).toContain('| 2 | 6 | 8203 |');
    expect(t).toContain('stopped: few-pages');
  });
});

describe('precopy loop', () => {
  const steps = (pages: number[], failAt?: number) => ({
    preDump: async (n: number) => {
      if (n === failAt) throw new Error('boom');
      return r(n, pages[n - 1]!);
    },
    ship: async () => ({ bytesSent: 10, durationMs: 5 }),
    isFatal: () => false,
    describe: (e: unknown) => String(e),
  });

  it('runs rounds until the rule stops, the last round is the parent', async () => {
    const s = await runPrecopyRounds(DEFAULT_PRECOPY_POLICY, steps([16384, 4000, 100]));
    expect(s.rounds.map((x) => x.round)).toEqual([1, 2, 3]);
    expect(s.rounds[0]).toMatchObject({ bytesSent: 10, shipMs: 5 });
    expect(s).toMatchObject({ stopReason: 'few-pages', finalParentRound: 3 });
  });

  it('a failed round ends pre-copy with a full final dump (no parent)', async () => {
    const s = await runPrecopyRounds(DEFAULT_PRECOPY_POLICY, steps([16384, 4000, 100], 2));
    expect(s.rounds).toHaveLength(1);
    expect(s.finalParentRound).toBeUndefined();
    expect(s.failed).toMatch(/round 2: Error: boom/);
  });

  it('fatal errors (cancel, workload gone) end the migration', async () => {
    await expect(
      runPrecopyRounds(DEFAULT_PRECOPY_POLICY, { ...steps([1], 1), isFatal: () => true }),
    ).rejects.toThrow('boom');
  });
});

describe('precopy request', () => {
  const base = { workload: 'web', runtime: 'runc' as const, source: 'a', destination: 'b' };
  it('accepts sensible options and names every problem', () => {
    expect(validate({ ...base, precopy: { maxRounds: 3, downtimeBudgetMs: 500 } })).toEqual([]);
    const problems = validate({
      ...base,
      precopy: { fewPages: -1, maxRounds: 0, shrinkRatio: 2 } as never,
    });
    expect(problems.join('; ')).toMatch(/precopy.maxRounds.*precopy.fewPages.*precopy.shrinkRatio/);
  });
});
