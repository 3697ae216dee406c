import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  checkSnapshotId,
  chooseSnapshotParent,
  compareCatalog,
  dependentsOf,
  parseDuration,
  retentionVictims,
  snapshotId,
  withCopy,
  type SnapshotRecord,
} from '../../src/domain/snapshots.js';
import { folderManifest, manifestDifferences, sha256 } from '../../src/host/manifest.js';

const rec = (id: string, createdAtMs: number, more: Partial<SnapshotRecord> = {}): SnapshotRecord => ({
  id,
  workload: 'web',
  runtime: 'runc',
  host: 'node-a',
  createdAtMs,
  sizeBytes: 1,
  checksum: `c-${id}`,
  copies: ['node-a'],
  leftRunning: true,
  ...more,
});

describe('snapshot ids', () => {
  it('are the workload, the UTC time and four hex digits, and pass their own check', () => {
    const id = snapshotId('web-1', Date.UTC(2026, 11, 1, 2, 3, 4, 567), 'AB12-ffff');
    expect(id).toBe('web-1-20261201t020304z-ab12');
    expect(checkSnapshotId(id)).toBeUndefined();
  });
  it.each([
    ['', /missing/],
    ['../etc-20261201t020304z-ab12', /"\/" or "\.\."/],
    ['web', /not a snapshot id/],
    ['Web-20261201t020304z-ab12', /not a snapshot id/],
    ['web-20261201t020304z-zz12', /not a snapshot id/],
  ])('refuse %p', (value, why) => {
    expect(checkSnapshotId(value)).toMatch(why);
  });
});

describe('retention of a series', () => {
  const s = (id: string, t: number, more: Partial<SnapshotRecord> = {}) =>
    rec(id, t, { series: 'S', ...more });
  it('keeps the newest N of its own series only', () => {
    const records = [s('a', 1), s('b', 2), s('c', 3), rec('other', 0, { series: 'T' }), rec('manual', 0)];
    expect(retentionVictims(records, { series: 'S', keep: 2, nowMs: 10 })).toEqual({
      remove: ['a'],
      keptForDependents: [],
    });
  });
  it('removes those older than max age even within keep', () => {
    const records = [s('a', 1), s('b', 50), s('c', 99)];
    expect(retentionVictims(records, { series: 'S', keep: 5, maxAgeMs: 60, nowMs: 100 }).remove).toEqual([
      'a',
    ]);
  });
  it('never removes a snapshot a kept one depends on, however far down the chain', () => {
    const records = [s('a', 1), s('b', 2, { parent: 'a' }), s('c', 3, { parent: 'b' })];
    expect(retentionVictims(records, { series: 'S', keep: 1, nowMs: 10 })).toEqual({
      remove: [],
      keptForDependents: ['a', 'b'],
    });
    expect(dependentsOf(records, 'a')).toEqual(['b']);
  });
});

describe('catalog changes and the check against the disks', () => {
  it('a copy added and removed; the entry goes with its last copy', () => {
    let r = [rec('x', 1)];
    r = withCopy(r, { id: 'x', host: 'node-b', present: true });
    expect(r[0]!.copies).toEqual(['node-a', 'node-b']);
    r = withCopy(r, { id: 'x', host: 'node-a', present: false });
    expect(r[0]!.copies).toEqual(['node-b']);
    expect(withCopy(r, { id: 'x', host: 'node-b', present: false })).toEqual([]);
  });
  it('names orphans on disk, copies missing on disk, changed records and unreachable hosts', () => {
    const records = [rec('x', 1, { copies: ['node-a', 'node-b'] }), rec('y', 2)];
    const check = compareCatalog(records, {
      'node-a': [
        { id: 'x', checksum: 'c-x', sizeBytes: 1 },
        { id: 'y', checksum: 'changed', sizeBytes: 1 },
        { id: 'z', sizeBytes: 5 },
      ],
      'node-b': [],
      'node-c': undefined,
    });
    expect(check).toEqual({
      orphansOnDisk: [{ host: 'node-a', id: 'z', sizeBytes: 5 }],
      missingOnDisk: [{ host: 'node-b', id: 'x' }],
      mismatched: [{ host: 'node-a', id: 'y' }],
      unreachable: ['node-c'],
      consistent: false,
    });
    expect(
      compareCatalog([rec('y', 2)], { 'node-a': [{ id: 'y', checksum: 'c-y', sizeBytes: 1 }] }).consistent,
    ).toBe(true);
  });
});

describe('durations', () => {
  it.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['0m', undefined],
    ['15', undefined],
    ['1w', undefined],
  ])('%p', (text, ms) => expect(parseDuration(text)).toBe(ms));
});

describe('folder manifests', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-manifest-'));
    await mkdir(path.join(dir, 'sub'));
    await writeFile(path.join(dir, 'pages-1.img'), 'memory');
    await writeFile(path.join(dir, 'sub', 'a b.txt'), 'x');
    await symlink('../pages-1.img', path.join(dir, 'sub', 'parent'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('changes with any changed, added or removed file, and names what differs', async () => {
    const before = await folderManifest(dir);
    expect(await folderManifest(dir)).toBe(before);
    await writeFile(path.join(dir, 'pages-1.img'), 'memorY');
    const after = await folderManifest(dir);
    expect(sha256(after)).not.toBe(sha256(before));
    expect(manifestDifferences(before, after)).toEqual(['changed or missing: pages-1.img']);
    await writeFile(path.join(dir, 'new.img'), '');
    expect(manifestDifferences(after, await folderManifest(dir))).toEqual(['added: new.img']);
    expect(before).toContain('sub/a b.txt');
    expect(before).toContain('l\t../pages-1.img\tsub/parent');
  });
});

describe('incremental snapshots: which parent', () => {
  const base = {
    runtime: 'process' as const,
    dirtyTracking: true,
    incarnation: '42@1000',
    local: [{ id: 's1', incarnation: '42@1000', trackedMem: true }],
  };
  it('the previous snapshot of the same process instance, when its dump was the last to reset the bits', () => {
    expect(chooseSnapshotParent({ ...base, lastTracked: { by: 's1', incarnation: '42@1000' } })).toEqual({
      parent: 's1',
      track: true,
    });
  });
  it.each([
    [
      'a pre-copy round dumped it since',
      { lastTracked: { by: 'migrate-x/round-1', incarnation: undefined } },
      /dumped/,
    ],
    [
      'it was restarted (another instance)',
      { incarnation: '42@2000', lastTracked: { by: 's1', incarnation: '42@1000' } },
      /restarted/,
    ],
    ['there is no snapshot of this run yet', { lastTracked: undefined }, /first snapshot/],
  ])('full, tracked, when %s', (_why, change, reason) => {
    const c = chooseSnapshotParent({ ...base, ...change });
    expect(c.parent).toBeUndefined();
    expect(c.track).toBe(true);
    expect(c.fullBecause).toMatch(reason);
  });
  it.each([
    [
      {
        dirtyTracking: false,
        dirtyTrackingReason:
          'the kernel of this host does not track dirty pages (criu check --feature mem_dirty_track: Dirty tracking is OFF)',
      },
      /^the kernel of this host does not track dirty pages \(criu check --feature mem_dirty_track: Dirty tracking is OFF\)$/,
    ],
    [{ runtime: 'runc' as const }, /runc turns dirty-page tracking on only/],
    [{ runtime: 'podman' as const }, /archive takes no parent/],
  ])('full and untracked where it cannot chain: %p', (change, reason) => {
    const c = chooseSnapshotParent({ ...base, lastTracked: { by: 's1', incarnation: '42@1000' }, ...change });
    expect(c).toEqual({ track: false, fullBecause: expect.stringMatching(reason) });
  });
});
