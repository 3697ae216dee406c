import { CGROUP_LAYOUTS, cgroupLayoutRefusal, classifyCgroupLayout } from '../../src/domain/cgroup-layout.js';

// Lines of /proc/self/mountinfo as each layout has them (this machine's v1 one, Debian 12's v2,
// Ubuntu 20.04's hybrid).
const V1 = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
].join('\n');
const V2 =
  '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';
const HYBRID = [
  '25 22 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
  '26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate',
  '27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd',
  '30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory',
].join('\n');
const OTHER = '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n23 22 0:21 / /proc rw - proc proc rw';

describe('cgroup layout from /proc/self/mountinfo', () => {
  it('tells v1, hybrid, v2 and none apart', () => {
    expect(classifyCgroupLayout(`${OTHER}\n${V1}`)).toBe('v1');
    expect(classifyCgroupLayout(`${OTHER}\n${V2}`)).toBe('v2');
    expect(classifyCgroupLayout(`${OTHER}\n${HYBRID}`)).toBe('hybrid');
    expect(classifyCgroupLayout(OTHER)).toBe('none');
    expect(classifyCgroupLayout('')).toBe('none');
  });

  it('looks only at /sys/fs/cgroup: a cgroup2 mounted elsewhere (a container, CRIU) does not count', () => {
    const elsewhere = '90 22 0:40 / /tmp/criu-yard rw - cgroup2 cgroup2 rw';
    expect(classifyCgroupLayout(`${V1}\n${elsewhere}`)).toBe('v1');
    expect(classifyCgroupLayout(`${OTHER}\n${elsewhere}`)).toBe('none');
    expect(classifyCgroupLayout('91 22 0:41 / /sys/fs/cgroupx rw - cgroup2 cgroup2 rw')).toBe('none');
  });
});

describe('which layouts a checkpoint moves between', () => {
  const at = (host: string, layout: (typeof CGROUP_LAYOUTS)[number]) => ({ host, layout });

  it('allows every runtime between hosts of one layout', () => {
    for (const layout of CGROUP_LAYOUTS)
      for (const rt of ['process', 'runc', 'podman', 'docker'] as const)
        expect(cgroupLayoutRefusal(rt, at('a', layout), at('b', layout))).toBeUndefined();
  });

  it('refuses containers between layouts, naming both and how to fix it', () => {
    const why = cgroupLayoutRefusal('runc', at('node-a', 'v1'), at('node-b', 'v2'));
    expect(why).toContain('node-a has cgroup v1 and node-b has cgroup v2');
    expect(why).toContain('Pick a destination with cgroup v1');
    expect(why).toContain('systemd.unified_cgroup_hierarchy=0');
    expect(cgroupLayoutRefusal('podman', at('a', 'v2'), at('b', 'hybrid'))).toContain(
      'systemd.unified_cgroup_hierarchy=1',
    );
    expect(cgroupLayoutRefusal('docker', at('a', 'hybrid'), at('b', 'v1'))).toMatch(/cgroup hybrid/);
  });

  it('lets process workloads move between layouts (restored without their cgroups)', () => {
    expect(cgroupLayoutRefusal('process', at('a', 'v1'), at('b', 'v2'))).toBeUndefined();
  });

  it('compares nothing when a host (an older worker) did not say', () => {
    expect(cgroupLayoutRefusal('runc', { host: 'a' }, at('b', 'v2'))).toBeUndefined();
  });
});
