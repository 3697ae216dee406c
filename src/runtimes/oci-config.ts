// OCI runtime config for workloads ferry creates itself (dev environment, tests, demo).
// Pure: unit-tested, no I/O.

export interface OciConfigInput {
  argv: string[];
  hostname: string;
  cgroupsPath: string;
  env?: string[];
  labels?: Record<string, string>;
}

const LABEL_PREFIX = 'ferry.label.';

export function labelsFromAnnotations(
  annotations: Record<string, string> | undefined,
): Record<string, string> | undefined {
  const entries = Object.entries(annotations ?? {}).filter(([k]) => k.startsWith(LABEL_PREFIX));
  return entries.length
    ? Object.fromEntries(entries.map(([k, v]) => [k.slice(LABEL_PREFIX.length), v]))
    : undefined;
}

const DEFAULT_ENV = ['PATH=/bin:/usr/bin:/sbin:/usr/sbin', 'HOME=/'];

export function ociConfig(input: OciConfigInput): Record<string, unknown> {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false, // runc cannot checkpoint a container with a terminal
      user: { uid: 0, gid: 0 },
      args: input.argv,
      env: input.env ?? DEFAULT_ENV,
      cwd: '/',
      capabilities: {
        bounding: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        ambient: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: input.hostname,
    annotations: Object.fromEntries(
      Object.entries(input.labels ?? {}).map(([k, v]) => [`${LABEL_PREFIX}${k}`, v]),
    ),
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      {
        destination: '/dev/mqueue',
        type: 'mqueue',
        source: 'mqueue',
        options: ['nosuid', 'noexec', 'nodev'],
      },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      cgroupsPath: input.cgroupsPath,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: [
        '/proc/asound',
        '/proc/bus',
        '/proc/fs',
        '/proc/irq',
        '/proc/sys',
        '/proc/sysrq-trigger',
      ],
    },
  };
}

/** Containers of one host live under their own cgroup parent, removed by `ferry dev down`. */
export function cgroupsPathFor(parent: string, name: string): string {
  return `${parent}/${name}`;
}

/** Points a bundle's config at this host's cgroup parent (the config came from another host). */
export function withCgroupsPath(
  config: Record<string, unknown>,
  cgroupsPath: string,
): Record<string, unknown> {
  const linux = (config.linux ?? {}) as Record<string, unknown>;
  return { ...config, linux: { ...linux, cgroupsPath } };
}
