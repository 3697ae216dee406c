import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CARRIED_CONFIG,
  CARRIED_HOST_CONFIG,
  createBody,
  IGNORED_HOST_CONFIG,
  MIGRATION_LABEL,
  notCarried,
  restartFlag,
  type DockerSpec,
} from '../../src/runtimes/docker-spec.js';

// `docker inspect` (dockerd 20.10.24) of a container started the way users do: docker run -d
// -p 16379:8080 --memory 256m --memory-swap 512m --cpus 0.5 --cpu-shares 512 --cpuset-cpus 0
// --pids-limit 100 --restart unless-stopped --cap-drop NET_RAW --cap-add SYS_PTRACE
// --security-opt no-new-privileges --ulimit nofile=1024:2048 --tmpfs /scratch:size=16m -e K=V
// -l k=v --user 0:0 -w /tmp --hostname webhost --stop-signal SIGINT --stop-timeout 7 --init
// --read-only --add-host foo:10.1.2.3 --dns 10.0.0.53 --dns-search example.test
// --log-opt max-size=1m (paths shortened).
const fixture = () =>
  JSON.parse(
    readFileSync(path.join(process.cwd(), 'test', 'fixtures', 'docker-inspect-web.json'), 'utf8'),
  ) as DockerSpec;

describe('docker: recreating a container from its inspect record', () => {
  it('carries everything the user set (ports, limits, security, mounts, logging, process)', () => {
    const spec = fixture();
    const body = createBody(spec, 'migrate-docker-node-a-web-1234');
    const hc = body.HostConfig as Record<string, unknown>;
    expect(hc).toMatchObject({
      PortBindings: { '8080/tcp': [{ HostIp: '', HostPort: '16379' }] },
      Memory: 268435456,
      MemorySwap: 536870912,
      NanoCpus: 500000000,
      CpuShares: 512,
      CpusetCpus: '0',
      PidsLimit: 100,
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
      CapAdd: ['SYS_PTRACE'],
      CapDrop: ['NET_RAW'],
      SecurityOpt: ['no-new-privileges'],
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
      Tmpfs: { '/scratch': 'size=16m' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } },
      ExtraHosts: ['foo:10.1.2.3'],
      Dns: ['10.0.0.53'],
      DnsSearch: ['example.test'],
      ReadonlyRootfs: true,
      Init: true,
      NetworkMode: 'default',
    });
    expect(body).toMatchObject({
      Image: 'ferry-stateful:latest',
      Env: ['K=V'],
      User: '0:0',
      WorkingDir: '/tmp',
      Hostname: 'webhost',
      StopSignal: 'SIGINT',
      StopTimeout: 7,
      ExposedPorts: { '8080/tcp': {} },
      Labels: { k: 'v', [MIGRATION_LABEL]: 'migrate-docker-node-a-web-1234' },
    });
    // Every allow-listed field the record has goes through unchanged.
    for (const k of CARRIED_HOST_CONFIG) if (k in spec.HostConfig) expect(hc[k]).toEqual(spec.HostConfig[k]);
    for (const k of CARRIED_CONFIG)
      if (k in spec.Config && k !== 'Labels') expect(body[k]).toEqual(spec.Config[k]);
    // Nothing else: no daemon-local runtime, no client-side cidfile.
    for (const k of Object.keys(IGNORED_HOST_CONFIG)) expect(hc).not.toHaveProperty(k);
  });

  it('finds nothing to refuse in a container on the default bridge with binds and tmpfs', () => {
    expect(notCarried(fixture())).toEqual([]);
  });

  it('refuses, naming them, the settings that depend on the source daemon', () => {
    const spec = fixture();
    spec.Mounts = [
      {
        Type: 'volume',
        Name: 'pgdata',
        Source: '/var/lib/docker/volumes/pgdata/_data',
        Destination: '/data',
      },
    ];
    spec.HostConfig.NetworkMode = 'backend';
    spec.NetworkSettings = { Networks: { backend: {}, frontend: {} } };
    spec.HostConfig.AutoRemove = true;
    spec.HostConfig.Links = ['/db:/web/db'];
    spec.HostConfig.PidMode = 'container:0123';
    spec.HostConfig.SomethingNew = { Enabled: true };
    const problems = notCarried(spec).join('\n');
    expect(problems).toContain('docker volume pgdata (mounted at /data)');
    expect(problems).toContain('user-defined network backend');
    expect(problems).toContain('HostConfig.AutoRemove');
    expect(problems).toContain('HostConfig.Links');
    expect(problems).toContain('PidMode container:0123');
    expect(problems).toContain('HostConfig.SomethingNew is set');
  });

  it('refuses a second network and a shared network namespace', () => {
    const spec = fixture();
    spec.NetworkSettings = { Networks: { bridge: {}, extra: {} } };
    expect(notCarried(spec).join()).toContain('also connected to extra');
    const joined = fixture();
    joined.HostConfig.NetworkMode = 'container:abc';
    expect(notCarried(joined).join()).toContain('network mode container:abc joins another container');
  });

  it('turns a restart policy into docker update --restart', () => {
    expect(restartFlag({ Name: 'unless-stopped', MaximumRetryCount: 0 })).toBe('unless-stopped');
    expect(restartFlag({ Name: 'on-failure', MaximumRetryCount: 3 })).toBe('on-failure:3');
    expect(restartFlag({ Name: '', MaximumRetryCount: 0 })).toBe('no');
    expect(restartFlag(undefined)).toBe('no');
  });
});
