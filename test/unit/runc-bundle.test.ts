import { bindSources, bundleProblems, rootfsOf, stdioProblems } from '../../src/runtimes/runc-bundle.js';
import { handRestoreLine } from '../../src/runtimes/hand-restore.js';

describe('a user bundle', () => {
  it('finds its rootfs and the host paths it bind-mounts', () => {
    expect(rootfsOf('/srv/web', {})).toBe('/srv/web/rootfs');
    expect(rootfsOf('/srv/web', { root: { path: '/images/web' } })).toBe('/images/web');
    expect(
      bindSources({
        mounts: [
          { destination: '/proc', type: 'proc', source: 'proc' },
          { destination: '/etc/app', type: 'bind', source: '/etc/app', options: ['rbind', 'ro'] },
          { destination: '/data', type: 'none', source: '/srv/data', options: ['bind'] },
        ],
      }),
    ).toEqual(['/etc/app', '/srv/data']);
  });

  it('refuses a terminal and a rootfs outside the bundle', () => {
    expect(bundleProblems('/srv/web', { root: { path: 'rootfs' } })).toEqual([]);
    const p = bundleProblems('/srv/web', { process: { terminal: true }, root: { path: '/images/web' } });
    expect(p).toHaveLength(2);
    expect(p[0]).toContain('"process.terminal": true');
    expect(p[1]).toContain('/images/web is outside its bundle /srv/web');
  });

  it('refuses stdio on a host file or a terminal, not on /dev/null or a file it sees itself', () => {
    expect(
      stdioProblems([
        { fd: 0, target: '/dev/null', outside: false },
        { fd: 1, target: '/data/out.log', outside: false },
        { fd: 2, target: 'pipe:[123]', outside: false },
      ]),
    ).toEqual([]);
    const p = stdioProblems([
      { fd: 1, target: '/var/log/web.log', outside: true },
      { fd: 2, target: '/dev/pts/3', outside: false },
    ]);
    expect(p[0]).toContain('fd 1 is the file /var/log/web.log of this host');
    expect(p[1]).toContain('fd 2 is the terminal /dev/pts/3');
  });
});

describe('the hand-restore line', () => {
  it('puts CRIU on PATH, runs under ferry-shim and sends its own words to a log', () => {
    expect(
      handRestoreLine(
        {
          argv: ['runc', '--root', '/run/runc', 'restore', '-d', '-b', '/srv/web', 'web'],
          outputLog: '/var/lib/ferry/workloads/runc/web/output.log',
          commandLog: '/var/lib/ferry/migrations/m1/work/restore-by-hand.log',
          env: { CRIU_CONFIG_FILE: '/var/lib/ferry/migrations/m1/work/criu-restore.conf' },
        },
        '/opt/criu/bin/criu',
        '/opt/ferry/.tools/bin/ferry-shim',
      ),
    ).toBe(
      'PATH=/opt/criu/bin:"$PATH" CRIU_CONFIG_FILE=/var/lib/ferry/migrations/m1/work/criu-restore.conf ' +
        '/opt/ferry/.tools/bin/ferry-shim --wait /var/lib/ferry/workloads/runc/web/output.log -- ' +
        'runc --root /run/runc restore -d -b /srv/web web >>/var/lib/ferry/migrations/m1/work/restore-by-hand.log 2>&1',
    );
  });
});
