import { cgroupsPathFor, ociConfig, withCgroupsPath } from '../../src/runtimes/oci-config.js';
import { parseStartTime } from '../../src/host/procfs.js';
import { parseShimOutput } from '../../src/runtimes/shim.js';
import { analyseContinuity, parseStatefulOutput } from '../../src/domain/output-analysis.js';
import { HostPaths } from '../../src/host/host-paths.js';

describe('OCI config', () => {
  it('has no terminal (runc cannot checkpoint one) and its own namespaces', () => {
    const cfg = ociConfig({
      argv: ['/bin/ferry-stateful', '16'],
      hostname: 'web',
      cgroupsPath: cgroupsPathFor('/ferry/node-a', 'web'),
    });
    const proc = cfg.process as { terminal: boolean; args: string[] };
    expect(proc.terminal).toBe(false);
    expect(proc.args).toEqual(['/bin/ferry-stateful', '16']);
    const linux = cfg.linux as { cgroupsPath: string; namespaces: { type: string }[] };
    expect(linux.cgroupsPath).toBe('/ferry/node-a/web');
    expect(linux.namespaces.map((n) => n.type)).toEqual(['pid', 'network', 'ipc', 'uts', 'mount']);
  });

  it('moves a bundle to another host cgroup parent without touching the rest', () => {
    const cfg = ociConfig({ argv: ['x'], hostname: 'web', cgroupsPath: '/ferry/node-a/web' });
    const moved = withCgroupsPath(cfg, '/ferry/node-b/web');
    expect((moved.linux as { cgroupsPath: string }).cgroupsPath).toBe('/ferry/node-b/web');
    expect(moved.process).toBe(cfg.process);
  });
});

describe('procfs', () => {
  it('reads the start time even when the command name has spaces and parentheses', () => {
    const stat = '4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10';
    expect(parseStartTime(stat)).toBe(987654);
  });

  it('treats a zombie as not running', () => {
    expect(
      parseStartTime('4242 (x) Z 1 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 987654 0 0'),
    ).toBeUndefined();
  });
});

describe('ferry-shim output', () => {
  it('reads both pids', () => {
    expect(parseShimOutput('pump 10\nchild 11\n')).toEqual({ pumpPid: 10, childPid: 11 });
    expect(() => parseShimOutput('usage: ...')).toThrow(/unexpected ferry-shim output/);
  });
});

describe('host layout', () => {
  it('keeps every path under the state directory', () => {
    const p = new HostPaths('/var/lib/ferry');
    expect(p.imagesDir('m-1')).toBe('/var/lib/ferry/migrations/m-1/images');
    expect(p.outputLog('runc', 'web')).toBe('/var/lib/ferry/workloads/runc/web/output.log');
    expect(p.runcRoot()).toBe('/var/lib/ferry/runc');
  });
});

describe('workload output analysis', () => {
  const t0 = 1795855207000;
  const text = [
    `${t0} 1 00000000000000aa`,
    `${t0 + 10} 2 00000000000000aa`,
    'noise',
    `${t0 + 500} 3 00000000000000aa`,
    `${t0 + 510} 4 00000000000000aa`,
  ].join('\n');

  it('finds the largest gap and checks continuity', () => {
    const c = analyseContinuity(parseStatefulOutput(text));
    expect(c).toEqual({
      lines: 4,
      restarts: 0,
      counterBreaks: 0,
      distinctChecksums: 1,
      largestGapMs: 490,
      largestGapAt: 2,
    });
  });

  it('sees a restart', () => {
    const c = analyseContinuity(parseStatefulOutput(`${text}\n${t0 + 1000} 1 00000000000000bb`));
    expect(c.restarts).toBe(1);
    expect(c.distinctChecksums).toBe(2);
  });
});
