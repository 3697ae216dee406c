import {
  globToRegExp,
  matchesLabels,
  parseLabels,
  planPlacement,
  versionAtLeast,
  type PlacementCandidate,
} from '../../src/domain/placement.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const host = (name: string, mem: number, over: Partial<PlacementCandidate> = {}): PlacementCandidate => ({
  host: name,
  freeMemoryBytes: mem,
  freeDiskBytes: 100 * GiB,
  runtimes: ['runc', 'process'],
  criuVersion: '4.2.1',
  ...over,
});

describe('placement', () => {
  it('spreads workloads over the candidates with the most room', () => {
    const w = [1, 2, 3, 4].map((i) => ({ name: `w${i}`, runtime: 'runc' as const, rssBytes: 100 * MiB }));
    const p = planPlacement(w, [host('b', 8 * GiB), host('c', 8 * GiB)], '4.2.1');
    const per = (h: string) => p.assignments.filter((a) => a.destination === h).length;
    expect([per('b'), per('c')]).toEqual([2, 2]);
    expect(p.unplaced).toEqual([]);
  });

  it('places the largest first where they fit', () => {
    const p = planPlacement(
      [
        { name: 'small', runtime: 'process', rssBytes: 10 * MiB },
        { name: 'big', runtime: 'process', rssBytes: 3 * GiB },
      ],
      [host('b', 2 * GiB), host('c', 4 * GiB)],
      '4.2',
    );
    expect(p.assignments.map((a) => [a.workload.name, a.destination])).toEqual([
      ['big', 'c'],
      ['small', 'b'],
    ]);
  });

  it('says why nothing fits when no destination has room', () => {
    const p = planPlacement(
      [{ name: 'huge', runtime: 'runc', rssBytes: 10 * GiB }],
      [host('b', 1 * GiB, { freeDiskBytes: GiB })],
      '4.2',
    );
    expect(p.assignments).toEqual([]);
    expect(p.unplaced[0]!.reason).toBe('no destination fits: b: not enough disk');
  });

  it('needs the runtime and a CRIU at least as new as the source', () => {
    const p = planPlacement(
      [{ name: 'w', runtime: 'runc', rssBytes: MiB }],
      [host('b', GiB, { runtimes: ['process'] }), host('c', GiB, { criuVersion: '4.1.1' })],
      '4.2.1',
    );
    expect(p.unplaced[0]!.reason).toBe(
      "no destination fits: b: no runc; c: CRIU 4.1.1 older than the source's 4.2.1",
    );
  });

  it('reports an empty candidate list', () => {
    expect(
      planPlacement([{ name: 'w', runtime: 'runc', rssBytes: 1 }], [], '4.2').unplaced[0]!.reason,
    ).toContain('all cordoned');
  });

  it('compares versions numerically', () => {
    expect(versionAtLeast('4.10', '4.2')).toBe(true);
    expect(versionAtLeast('4.2', '4.2.1')).toBe(false);
    expect(versionAtLeast('4.2.1', '4.2.1')).toBe(true);
  });

  it('matches names with shell-style patterns', () => {
    expect(globToRegExp('web-*').test('web-1')).toBe(true);
    expect(globToRegExp('web-*').test('xweb-1')).toBe(false);
    expect(globToRegExp('db.?').test('db.1')).toBe(true);
    expect(globToRegExp('db.?').test('dbx1')).toBe(false);
  });

  it('selects by labels', () => {
    expect(matchesLabels({ tier: 'cache', team: 'a' }, { tier: 'cache' })).toBe(true);
    expect(matchesLabels({ tier: 'web' }, { tier: 'cache' })).toBe(false);
    expect(matchesLabels(undefined, { tier: 'cache' })).toBe(false);
    expect(matchesLabels(undefined, undefined)).toBe(true);
    expect(parseLabels(['tier=cache', 'zone=eu-1'])).toEqual({ tier: 'cache', zone: 'eu-1' });
    expect(() => parseLabels(['tier'])).toThrow(/key=value/);
    expect(() => parseLabels(['a=b;rm'])).toThrow(/key=value/);
  });
});
