import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import {
  CRIU_ACTION_SCRIPT,
  restoreConfigPaths,
  restoreConfigText,
  restoreScriptUnavailable,
  writeRestoreConfig,
} from '../../src/criu/restore-config.js';

// The CRIU configuration of every container restore and ferry's action script (bin/ferry-criu-action)
// with a stand-in nsenter that records its arguments; the real thing runs in
// test/e2e/real-software.test.ts (redis on podman with a TCP client over the container's loopback).
describe('restore CRIU configuration', () => {
  it('names the action script, one absolute path without white space', () => {
    expect(restoreConfigText('/opt/ferry/bin/ferry-criu-action')).toBe(
      'action-script /opt/ferry/bin/ferry-criu-action\n',
    );
    for (const bad of [
      'bin/ferry-criu-action',
      '/opt/my ferry/x',
      '/opt/x\naction-script /tmp/y',
      '/opt/../x',
    ])
      expect(() => restoreConfigText(bad)).toThrow(/absolute, normalised and without white space/);
  });

  it('adds further lines (cgroup v2: manage-cgroups=ignore, docs/cgroups.md)', () => {
    expect(restoreConfigText('/opt/ferry/bin/a', ['manage-cgroups=ignore'])).toBe(
      'action-script /opt/ferry/bin/a\nmanage-cgroups=ignore\n',
    );
  });

  it('resolves the shipped script next to bin/ferry', () => {
    expect(path.basename(CRIU_ACTION_SCRIPT)).toBe('ferry-criu-action');
    expect(path.basename(path.dirname(CRIU_ACTION_SCRIPT))).toBe('bin');
  });

  it('writes the file for CRIU_CONFIG_FILE (runc) and HOME/.criu/default.conf (podman), private', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'ferry-criu-conf-'));
    try {
      const c = await writeRestoreConfig(work);
      const p = restoreConfigPaths(work);
      expect(c.configFileEnv).toEqual({ CRIU_CONFIG_FILE: p.file });
      expect(c.homeEnv).toEqual({ HOME: p.home });
      expect(p.homeFile).toBe(path.join(work, 'criu-home', '.criu', 'default.conf'));
      for (const f of [p.file, p.homeFile]) {
        expect(await readFile(f, 'utf8')).toBe(`action-script ${CRIU_ACTION_SCRIPT}\n`);
        expect((await stat(f)).mode & 0o777).toBe(0o600);
      }
      await expect(writeRestoreConfig(work, { script: path.join(work, 'missing') })).rejects.toThrow(
        /CRIU action script .*missing is missing or not executable/,
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

describe('what a restore needs on the host (runc and podman preflights)', () => {
  it('names a missing script, and is satisfied here (nsenter and ip installed)', async () => {
    expect(await restoreScriptUnavailable('/nonexistent/ferry-criu-action')).toMatch(
      /CRIU action script \/nonexistent\/ferry-criu-action is missing or not executable: reinstall ferry/,
    );
    expect(await restoreScriptUnavailable()).toBeUndefined();
  });
});

describe('bin/ferry-criu-action', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-criu-action-'));
    await writeFile(path.join(dir, 'nsenter'), '#!/bin/sh\nprintf "%s\\n" "$@" > "$FAKE_ARGS"\n', {
      mode: 0o755,
    });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const runScript = (env: Record<string, string>) =>
    execa(CRIU_ACTION_SCRIPT, [], {
      reject: false,
      extendEnv: false,
      env: { PATH: `${dir}:/usr/bin:/bin`, FAKE_ARGS: path.join(dir, 'args'), ...env },
    });
  const recorded = () => readFile(path.join(dir, 'args'), 'utf8').catch(() => undefined);

  it('on setup-namespaces brings lo up in the network namespace of the restored root task', async () => {
    const r = await runScript({ CRTOOLS_SCRIPT_ACTION: 'setup-namespaces', CRTOOLS_INIT_PID: '4242' });
    expect(r.exitCode).toBe(0);
    expect((await recorded())?.split('\n')).toEqual([
      '--target',
      '4242',
      '--net',
      '--',
      'ip',
      'link',
      'set',
      'lo',
      'up',
      '',
    ]);
  });

  it('does nothing for any other action', async () => {
    for (const action of ['pre-restore', 'post-setup-namespaces', 'network-unlock', 'post-resume', '']) {
      const r = await runScript({ CRTOOLS_SCRIPT_ACTION: action, CRTOOLS_INIT_PID: '4242' });
      expect(r.exitCode).toBe(0);
    }
    expect(await recorded()).toBeUndefined();
  });

  it('fails the restore when CRIU gives no pid', async () => {
    for (const pid of ['', '12 34', '$(id)']) {
      const r = await runScript({ CRTOOLS_SCRIPT_ACTION: 'setup-namespaces', CRTOOLS_INIT_PID: pid });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('CRTOOLS_INIT_PID is not a pid');
    }
    expect(await recorded()).toBeUndefined();
  });
});
