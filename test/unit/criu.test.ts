import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { criuErrorLines, criuRootCause, isPidBusy, parseCriuVersion } from '../../src/criu/log.js';
import { parseDumpStats, parseRestoreStats } from '../../src/criu/stats.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

describe('CRIU stats images', () => {
  it('reads the dump figures CRIU 4.2 wrote', async () => {
    const stats = parseDumpStats(await readFile(path.join(fixtures, 'stats-dump.img')));
    expect(stats).toEqual({
      freezingTimeUs: 2735,
      frozenTimeUs: 92821,
      memdumpTimeUs: 8727,
      memwriteTimeUs: 6394,
      pagesScanned: 4120,
      pagesSkippedParent: 0,
      pagesWritten: 4113,
      pagesLazy: 0,
    });
  });

  it('reads the restore figures', async () => {
    const stats = parseRestoreStats(await readFile(path.join(fixtures, 'stats-restore.img')));
    expect(stats.pagesRestored).toBe(4113);
    expect(stats.restoreTimeUs).toBe(127391);
  });

  it('returns nothing for a missing or truncated image', () => {
    expect(parseDumpStats(new Uint8Array())).toEqual({});
    expect(parseRestoreStats(new Uint8Array(10))).toEqual({});
  });
});

describe('CRIU logs', () => {
  const log = [
    '(00.000010) Version: 4.2.1',
    "(00.000300) Error (criu/util.c:1234): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted",
    "(00.101010) Error (criu/cr-restore.c:1237): Can't fork for 4242: File exists",
    '(00.101020) Error (criu/cr-restore.c:2600): Restoring FAILED.',
  ].join('\n');

  it('skips the harmless rlimit error and quotes the root cause', () => {
    expect(criuErrorLines(log)).toHaveLength(2);
    expect(criuRootCause(log)).toBe("Error (criu/cr-restore.c:1237): Can't fork for 4242: File exists");
  });

  it('recognises a restore blocked by a busy PID', () => {
    expect(isPidBusy(log)).toBe(true);
    expect(isPidBusy('Error (criu/files-reg.c:1): File /x has bad size')).toBe(false);
  });

  it('reads the version', () => {
    expect(parseCriuVersion('Version: 4.2.1\nGitID: v4.2.1\n')).toBe('4.2.1');
    expect(parseCriuVersion('nonsense')).toBeUndefined();
  });
});
