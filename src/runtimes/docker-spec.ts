// How a docker container is recreated on another daemon: from its own inspect record, through
// the engine API (POST /containers/create takes the same Config and HostConfig that inspect
// prints), field by field from an allow-list. What the list does not carry and the container has
// set is refused before any freeze (notCarried), so nothing a user set is dropped silently.
// The lists are documented in docs/runtimes.md (docker: what moves, what is refused).

/** The label ferry puts on every container it creates: the migration that created it. */
export const MIGRATION_LABEL = 'ferry.migration';

/** Config fields copied as they are (image defaults included: inspect prints the merged config). */
export const CARRIED_CONFIG = [
  'Hostname',
  'Domainname',
  'User',
  'AttachStdin',
  'AttachStdout',
  'AttachStderr',
  'ExposedPorts',
  'Tty',
  'OpenStdin',
  'StdinOnce',
  'Env',
  'Cmd',
  'Healthcheck',
  'ArgsEscaped',
  'Image',
  'Volumes',
  'WorkingDir',
  'Entrypoint',
  'NetworkDisabled',
  'MacAddress',
  'OnBuild',
  'Labels',
  'StopSignal',
  'StopTimeout',
  'Shell',
] as const;

/** HostConfig fields copied as they are (limits, ports, security, mounts, logging, …). */
export const CARRIED_HOST_CONFIG = [
  // mounts and files
  'Binds',
  'Mounts',
  'Tmpfs',
  'ReadonlyRootfs',
  'StorageOpt',
  // network (NetworkMode only default/bridge/none/host, see notCarried)
  'NetworkMode',
  'PortBindings',
  'PublishAllPorts',
  'Dns',
  'DnsOptions',
  'DnsSearch',
  'ExtraHosts',
  // lifecycle and logging
  'RestartPolicy',
  'LogConfig',
  'Init',
  // security and namespaces
  'Privileged',
  'CapAdd',
  'CapDrop',
  'SecurityOpt',
  'GroupAdd',
  'UsernsMode',
  'IpcMode',
  'PidMode',
  'UTSMode',
  'CgroupnsMode',
  'Cgroup',
  'MaskedPaths',
  'ReadonlyPaths',
  'Sysctls',
  'OomScoreAdj',
  'ShmSize',
  // resources
  'Memory',
  'MemoryReservation',
  'MemorySwap',
  'MemorySwappiness',
  'KernelMemory',
  'KernelMemoryTCP',
  'OomKillDisable',
  'NanoCpus',
  'CpuShares',
  'CpuPeriod',
  'CpuQuota',
  'CpuRealtimePeriod',
  'CpuRealtimeRuntime',
  'CpusetCpus',
  'CpusetMems',
  'PidsLimit',
  'Ulimits',
  'BlkioWeight',
  'BlkioWeightDevice',
  'BlkioDeviceReadBps',
  'BlkioDeviceWriteBps',
  'BlkioDeviceReadIOps',
  'BlkioDeviceWriteIOps',
  'CgroupParent',
  'Devices',
  'DeviceCgroupRules',
] as const;

/**
 * HostConfig fields deliberately not copied, and why (documented). Anything neither carried nor
 * here that the container has set is refused.
 */
export const IGNORED_HOST_CONFIG: Record<string, string> = {
  ContainerIDFile: "a file the source's docker client wrote (--cidfile); the new container has a new id",
  Runtime: "the destination daemon's default OCI runtime runs the restored container",
  ConsoleSize: 'a client terminal size',
  Isolation: 'Windows only',
  CpuCount: 'Windows only',
  CpuPercent: 'Windows only',
  IOMaximumIOps: 'Windows only',
  IOMaximumBandwidth: 'Windows only',
};

/** HostConfig fields that, when set, mean the container depends on things that do not move. */
const REFUSED_HOST_CONFIG: Record<string, string> = {
  AutoRemove:
    'it was started with --rm: docker deletes it, files included, as soon as the checkpoint stops it; start it without --rm',
  VolumesFrom: 'it mounts the volumes of other containers (--volumes-from), which do not move with it',
  VolumeDriver: 'it uses a volume driver (--volume-driver), whose volumes live with the source daemon',
  Links: 'it is linked to other containers (--link), which do not move with it',
  DeviceRequests: 'it requests devices such as GPUs (--gpus), which ferry does not check on the destination',
};

/** The parts of `docker inspect` ferry reads; the record is kept whole (docker-container.json). */
export interface DockerSpec {
  Id: string;
  Name: string;
  Config: Record<string, unknown> & {
    Image: string;
    Labels?: Record<string, string> | null;
  };
  HostConfig: Record<string, unknown> & {
    NetworkMode?: string;
    RestartPolicy?: { Name: string; MaximumRetryCount: number };
    Mounts?: { Type: string; Source?: string; Target?: string }[] | null;
  };
  NetworkSettings?: { Networks?: Record<string, unknown> | null };
  Mounts?: { Type: string; Source: string; Destination: string; Name?: string }[];
}

/** The body of POST /containers/create that recreates spec's container, labelled as this migration's. */
export function createBody(spec: DockerSpec, migrationId: string): Record<string, unknown> {
  const body: Record<string, unknown> = pick(spec.Config, CARRIED_CONFIG);
  body.Labels = { ...(spec.Config.Labels ?? {}), [MIGRATION_LABEL]: migrationId };
  body.HostConfig = pick(spec.HostConfig, CARRIED_HOST_CONFIG);
  return body;
}

/** `docker update --restart` value of a restart policy (the create body carries the policy itself). */
export function restartFlag(p: { Name: string; MaximumRetryCount: number } | undefined): string {
  if (!p?.Name) return 'no';
  return p.Name === 'on-failure' && p.MaximumRetryCount ? `on-failure:${p.MaximumRetryCount}` : p.Name;
}

const DEFAULT_NETWORKS = new Set(['default', 'bridge', 'none', 'host']);

/**
 * What the container has set that recreating it on another daemon cannot carry, each naming
 * the setting and what to do. Empty when everything moves.
 */
export function notCarried(spec: DockerSpec): string[] {
  const problems: string[] = [];
  const hc = spec.HostConfig;
  for (const m of spec.Mounts ?? [])
    if (m.Type === 'volume')
      problems.push(
        `docker volume ${m.Name ?? m.Source} (mounted at ${m.Destination}) lives in the source daemon and ferry cannot carry volume contents; use a bind mount of a path that exists on both hosts, or move the data first`,
      );
    else if (m.Type !== 'bind' && m.Type !== 'tmpfs')
      problems.push(`mount of type ${m.Type} at ${m.Destination} cannot be recreated on another daemon`);
  const mode = hc.NetworkMode ?? 'default';
  if (mode.startsWith('container:'))
    problems.push(`network mode ${mode} joins another container, which does not move with it`);
  else if (!DEFAULT_NETWORKS.has(mode))
    problems.push(
      `user-defined network ${mode}: ferry does not recreate docker networks (addresses, aliases, other members); use the default bridge, host or none`,
    );
  const networks = Object.keys(spec.NetworkSettings?.Networks ?? {});
  const own = mode === 'default' ? 'bridge' : mode;
  const extra = networks.filter((n) => n !== own);
  if (extra.length && !mode.startsWith('container:') && DEFAULT_NETWORKS.has(mode))
    problems.push(
      `it is also connected to ${extra.join(', ')} (docker network connect): ferry does not recreate docker networks`,
    );
  for (const field of ['IpcMode', 'PidMode', 'UTSMode', 'Cgroup'] as const) {
    const v = hc[field];
    if (typeof v === 'string' && v.startsWith('container:'))
      problems.push(`${field} ${v} shares a namespace of another container, which does not move with it`);
  }
  for (const [field, why] of Object.entries(REFUSED_HOST_CONFIG))
    if (isSet(hc[field])) problems.push(`HostConfig.${field}: ${why}`);
  const known = new Set<string>([
    ...CARRIED_HOST_CONFIG,
    ...Object.keys(IGNORED_HOST_CONFIG),
    ...Object.keys(REFUSED_HOST_CONFIG),
  ]);
  for (const [field, value] of Object.entries(hc))
    if (!known.has(field) && isSet(value))
      problems.push(
        `HostConfig.${field} is set (${JSON.stringify(value)}) and ferry does not know how to recreate it on another daemon`,
      );
  return problems;
}

/** A value the user set: not absent, empty, zero or false (docker's "unset" in inspect). */
function isSet(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function pick(from: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}
