import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { explainCriuFailure } from '../../src/criu/criu.js';
import { criuLogPathsIn } from '../../src/criu/log.js';
import { CommandError } from '../../src/exec/run.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'criu-messages');

describe('CRIU log paths in runtime messages', () => {
  it('finds the path containerd passes on from runc (docker start --checkpoint)', async () => {
    const message = await readFile(path.join(fixtures, 'docker-restore.txt'), 'utf8');
    expect(criuLogPathsIn(message)).toEqual([
      '/run/ferry/d-166c3b5c4af6/containerd/daemon/io.containerd.runtime.v2.task/moby/4173c638e8a03474f99eafb91ceaa2ecad936f16d180dd6dea095cc4bb0a650c/work/restore.log',
    ]);
  });

  it("finds podman's and runc's wordings, escaped newlines included", () => {
    expect(
      criuLogPathsIn(
        'Error: OCI runtime error: runc: criu failed: type NOTIFY errno 0\\nlog file: /var/lib/containers/storage/overlay-containers/abc/userdata/dump.log',
      ),
    ).toEqual(['/var/lib/containers/storage/overlay-containers/abc/userdata/dump.log']);
    expect(criuLogPathsIn('CRIU log file: "/x/userdata/restore.log"')).toEqual(['/x/userdata/restore.log']);
    expect(criuLogPathsIn('restore failed (see /tmp/w/restore-2024.log)')).toEqual([
      '/tmp/w/restore-2024.log',
    ]);
    expect(criuLogPathsIn('exited with 1: no such container')).toEqual([]);
  });
});

describe('explainCriuFailure', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-criu-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('quotes the real error from the log the runtime named, not only its path', async () => {
    const log = path.join(dir, 'restore.log');
    await copyFile(path.join(fixtures, 'restore-head-magic.log'), log);
    const err = new CommandError(
      'podman exited with 125',
      'podman container restore',
      125,
      `Error: OCI runtime error: runc: criu failed: type RESTORE errno 0\nlog file: ${log}`,
    );
    expect(await explainCriuFailure(err)).toBe(
      `Error (criu/image.c:554): Head magic doesn't match for pstree.img (CRIU log: ${log})`,
    );
  });

  it("quotes the log kept by dockerd's runc wrapper, named in the daemon's message", async () => {
    const kept = path.join(
      dir,
      'docker-criu',
      '508215ec184c2b2e0d83c42b03823eee47d9dd44c752a2c365eade7a5516a41c',
    );
    await mkdir(kept, { recursive: true });
    await copyFile(path.join(fixtures, 'restore-head-magic.log'), path.join(kept, 'restore.log'));
    // Captured from docker start --checkpoint with bin/ferry-docker-runc; its folder moved here.
    const message = (await readFile(path.join(fixtures, 'docker-restore-wrapper.txt'), 'utf8')).replace(
      /\/\S+\/docker-criu\//,
      `${path.join(dir, 'docker-criu')}/`,
    );
    const err = new CommandError(`/usr/bin/docker exited with 1: ${message}`, 'docker start', 1, message);
    expect(await explainCriuFailure(err)).toBe(
      `Error (criu/image.c:554): Head magic doesn't match for pstree.img (CRIU log: ${kept}/restore.log)`,
    );
  });

  it("keeps the runtime's own words when the named log is gone (containerd removes it)", async () => {
    const message = await readFile(path.join(fixtures, 'docker-restore.txt'), 'utf8');
    const err = new CommandError(`/usr/bin/docker exited with 1: ${message}`, 'docker start', 1, message);
    expect(await explainCriuFailure(err)).toContain('criu failed: type RESTORE errno 0');
  });
});
