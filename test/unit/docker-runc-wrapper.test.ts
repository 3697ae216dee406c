import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

// bin/ferry-docker-runc with a stand-in runc that records its arguments (the real one runs in
// test/e2e/containers.test.ts, where dockerd uses the wrapper for every container).
const WRAPPER = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'bin',
  'ferry-docker-runc',
);
const ID = '4173c638e8a03474f99eafb91ceaa2ecad936f16d180dd6dea095cc4bb0a650c';
const BUNDLE = `/run/containerd/io.containerd.runtime.v2.task/moby/${ID}`;

describe('ferry-docker-runc', () => {
  let dir: string;
  let fakeRunc: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-runc-wrapper-'));
    fakeRunc = path.join(dir, 'runc');
    // Records argv, leaves a log in the work path, exits with $FAKE_STATUS.
    await writeFile(
      fakeRunc,
      '#!/bin/sh\nprintf "%s\\n" "$@" > "$FAKE_ARGS"\nwhile [ $# -gt 0 ]; do [ "$1" = --work-path ] && echo "Error (criu/x.c:1): boom" > "$2/restore.log"; shift; done\nexit "$FAKE_STATUS"\n',
      { mode: 0o755 },
    );
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const runWrapper = (status: number, args: string[]) =>
    execa(WRAPPER, ['--criu-work-root', path.join(dir, 'kept'), ...args], {
      reject: false,
      env: { FERRY_RUNC: fakeRunc, FAKE_ARGS: path.join(dir, 'args'), FAKE_STATUS: String(status) },
    });
  const restoreArgs = ['--root', '/run/x', 'restore', '--work-path', `${BUNDLE}/work`, '--detach', ID];

  it('moves the CRIU work path under its root and keeps it when runc fails', async () => {
    const r = await runWrapper(1, restoreArgs);
    expect(r.exitCode).toBe(1);
    const args = (await execa('cat', [path.join(dir, 'args')])).stdout.split('\n');
    expect(args).toEqual([
      '--root',
      '/run/x',
      'restore',
      '--work-path',
      path.join(dir, 'kept', ID),
      '--detach',
      ID,
    ]);
    expect(await readdir(path.join(dir, 'kept', ID))).toEqual(['restore.log']);
    expect((await stat(path.join(dir, 'kept', ID))).mode & 0o777).toBe(0o700);
  });

  it('removes the folder when runc succeeds, and passes other commands through untouched', async () => {
    expect((await runWrapper(0, restoreArgs)).exitCode).toBe(0);
    expect(await readdir(path.join(dir, 'kept'))).toEqual([]);
    expect((await runWrapper(0, ['--root', '/run/x', 'state', ID])).exitCode).toBe(0);
    expect((await execa('cat', [path.join(dir, 'args')])).stdout.split('\n')).toEqual([
      '--root',
      '/run/x',
      'state',
      ID,
    ]);
  });

  it('refuses to run without its work root', async () => {
    const r = await execa(WRAPPER, ['restore'], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('usage: ferry-docker-runc --criu-work-root DIR');
  });
});
