import { parseBytesSent, parseProgressLine, rsyncArgs, sshCommand } from '../../src/transfer/rsync.js';

const ssh = { identityFile: '/k/id', knownHostsFile: '/k/known_hosts' };
const to = { address: '127.0.1.2', port: 2222, user: 'root' };

describe('rsync over ssh', () => {
  it('sends several folders in one rsync, below the same roots, with strict host keys', () => {
    const args = rsyncArgs(
      {
        fromRoot: '/a/state',
        paths: ['migrations/m1/images', 'workloads/runc/web'],
        to,
        toRoot: '/b/state',
        excludes: ['*.pid'],
      },
      ssh,
    );
    expect(args).toContain('--relative');
    expect(args).toContain('--exclude=*.pid');
    expect(args.slice(-3)).toEqual([
      '/a/state/./migrations/m1/images',
      '/a/state/./workloads/runc/web',
      'root@127.0.1.2:/b/state/',
    ]);
    const e = args[args.indexOf('-e') + 1]!;
    expect(e).toContain('StrictHostKeyChecking=yes');
    expect(e).toContain('-p 2222');
  });

  it('refuses paths that leave the root', () => {
    expect(() => rsyncArgs({ fromRoot: '/a', paths: ['../etc'], to, toRoot: '/b' }, ssh)).toThrow(
      /must be relative/,
    );
    expect(() => rsyncArgs({ fromRoot: '/a', paths: ['/etc'], to, toRoot: '/b' }, ssh)).toThrow(
      /must be relative/,
    );
  });

  it('shares one SSH connection between steps when given a control folder', () => {
    expect(sshCommand(to, { ...ssh, controlDir: '/run/ferry/ssh-1' })).toContain(
      'ControlPath=/run/ferry/ssh-1/%h-%p',
    );
  });

  it('binds to the sending host address when asked', () => {
    expect(sshCommand(to, { ...ssh, bindAddress: '127.0.1.1' })).toContain('BindAddress=127.0.1.1');
  });

  it('refuses options rsync would split or a shell would interpret', () => {
    expect(() => sshCommand(to, { ...ssh, identityFile: '/k/my key' })).toThrow(/unsafe ssh option/);
  });

  it('parses progress2 lines and the bytes sent', () => {
    expect(parseProgressLine('     67,108,864  45%  101.23MB/s    0:00:00 (xfr#1, to-chk=0/3)')).toEqual({
      bytes: 67108864,
      percent: 45,
      rate: '101.23MB/s',
    });
    expect(parseProgressLine('sending incremental file list')).toBeUndefined();
    expect(parseBytesSent('Total bytes sent: 67,125,001\nTotal bytes received: 35')).toBe(67125001);
  });
});
