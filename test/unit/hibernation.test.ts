import {
  fallbackAssignments,
  hibernationDetails,
  hibernationOutcome,
  rebootedSince,
  retryCommand,
  volatileStoreReason,
  type HibernationResult,
  type HibernationRow,
} from '../../src/domain/hibernation.js';

const A = '4c396569-a5aa-4f50-b260-7424599552e4';
const B = '17de4aca-b570-43f5-adf4-91113636c512';

describe('rebootedSince', () => {
  it('is true only for a valid boot id other than the one before', () => {
    expect(rebootedSince(A, B)).toBe(true);
    expect(rebootedSince(A, A)).toBe(false); // a worker restart keeps the boot id
    expect(rebootedSince(A, undefined)).toBe(false);
    expect(rebootedSince(undefined, B)).toBe(false);
    expect(rebootedSince(A, 'not-a-uuid')).toBe(false);
  });
});

describe('volatileStoreReason', () => {
  const TMPFS = 0x01021994;
  const EXT4 = 0xef53;
  it('refuses a store under /run or on tmpfs, naming the path, the reason and the fix', () => {
    expect(volatileStoreReason('/run/ferry/state/snapshots', EXT4)).toBe(
      "the snapshot store /run/ferry/state/snapshots is under /run, which a reboot empties: hibernation would lose every workload. Put the host's stateDir on a disk that survives a reboot (its snapshots/ folder is the store)",
    );
    expect(volatileStoreReason('/var/lib/ferry/snapshots', TMPFS)).toMatch(
      /is on tmpfs, which a reboot empties/,
    );
    expect(volatileStoreReason('/tmp/x/snapshots', EXT4)).toMatch(/is under \/tmp/);
    // A simulated host (ferry dev, e.g. a checkout under /tmp) never really reboots.
    expect(volatileStoreReason('/tmp/x/snapshots', EXT4, { simulated: true })).toBeUndefined();
    expect(volatileStoreReason('/run/x/snapshots', EXT4, { simulated: true })).toMatch(/under \/run/);
    expect(volatileStoreReason('/tmp/x/snapshots', TMPFS, { simulated: true })).toMatch(/on tmpfs/);
  });
  it('accepts a store on a disk, also one whose name merely starts like /run', () => {
    expect(volatileStoreReason('/var/lib/ferry/snapshots', EXT4)).toBeUndefined();
    expect(volatileStoreReason('/runner/ferry/snapshots', EXT4)).toBeUndefined();
    expect(volatileStoreReason('/srv/ferry/snapshots', undefined)).toBeUndefined();
  });
});

describe('fallbackAssignments', () => {
  it('spreads workloads over the fallback hosts in turn', () => {
    expect([...fallbackAssignments(['a', 'b', 'c'], ['h1', 'h2'])]).toEqual([
      ['a', 'h1'],
      ['b', 'h2'],
      ['c', 'h1'],
    ]);
    expect(fallbackAssignments(['a'], []).size).toBe(0);
  });
});

describe('hibernationOutcome', () => {
  const row = (state: HibernationRow['state'], snapshotId?: string): HibernationRow => ({
    workload: 'w',
    runtime: 'runc',
    state,
    snapshotId,
  });
  it('resumed when every hibernated workload is back; a failed checkpoint does not count against it', () => {
    expect(hibernationOutcome([row('restored', 's1'), row('checkpoint-failed')], false)).toBe('resumed');
    expect(hibernationOutcome([row('restored', 's1'), row('restore-failed', 's2')], false)).toBe(
      'partly-resumed',
    );
    expect(hibernationOutcome([row('restored-elsewhere', 's1'), row('restore-failed', 's2')], true)).toBe(
      'restored-elsewhere',
    );
  });
});

describe('what an operator reads', () => {
  it('gives the retry command and a UI table with it', () => {
    expect(retryCommand('db-20261202t025721z-112c', 'node-a')).toBe(
      'ferry restore db-20261202t025721z-112c --host node-a --replace',
    );
    const r: HibernationResult = {
      host: 'node-a',
      phase: 'ready-to-reboot',
      rows: [
        { workload: 'db', runtime: 'runc', state: 'hibernated', snapshotId: 'db-20261202t025721z-112c' },
      ],
      startedAtMs: 0,
      notes: ['a note'],
    };
    expect(hibernationDetails(r)).toBe(
      [
        '**node-a is ready to reboot.** Waiting for its worker to come back with a new boot id',
        '',
        '| workload | state | snapshot | host | cause |',
        '|---|---|---|---|---|',
        '| runc/db | hibernated | db-20261202t025721z-112c | - |  |',
        '',
        '- a note',
      ].join('\n'),
    );
  });
});
