import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/workflows/search-attributes.js';

// No container engine here can pull images, and systemd does not run the tests: the
// deployment files are checked with the real validators instead (compose-go, the loader of
// Docker Compose v2, built by scripts/setup.sh; systemd-analyze verify).

const ROOT = path.resolve('.');
const TOOLS = path.join(ROOT, '.tools', 'bin');

interface Service {
  image?: string;
  privileged?: boolean;
  pid?: string;
  network_mode?: string;
  cgroup?: string;
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  volumes?: { source: string; target: string; read_only?: boolean }[];
  entrypoint?: string[];
  ports?: { host_ip?: string; published?: string; target: number }[];
}

async function loadCompose(env: Record<string, string>, profiles: string[] = []) {
  return execa(path.join(TOOLS, 'compose-validate'), [path.join(ROOT, 'docker-compose.yml'), ...profiles], {
    env,
    extendEnv: false,
    reject: false,
  });
}

describe('docker-compose.yml', () => {
  const env = { POSTGRES_PASSWORD: 'test-password', FERRY_HOST: 'node-a' };
  let services: Record<string, Service>;

  beforeAll(async () => {
    const r = await loadCompose(env, ['worker']);
    if (r.exitCode !== 0) throw new Error(`compose-validate refused docker-compose.yml:\n${r.stderr}`);
    services = (JSON.parse(r.stdout) as { services: Record<string, Service> }).services;
  });

  it('is a valid Compose file, and refuses to start without a database password', async () => {
    const r = await loadCompose({ FERRY_HOST: 'node-a' });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/POSTGRES_PASSWORD/);
    // The Temporal machine needs no FERRY_HOST: the worker is behind its profile.
    const temporalOnly = await loadCompose({ POSTGRES_PASSWORD: 'test-password' });
    expect(temporalOnly.exitCode).toBe(0);
    expect(Object.keys((JSON.parse(temporalOnly.stdout) as { services: object }).services)).not.toContain(
      'ferry-worker',
    );
  });

  it('runs Temporal on PostgreSQL after its schema job, with a UI and the search attributes job', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['ferry-worker', 'postgresql', 'temporal', 'temporal-schema', 'temporal-setup', 'temporal-ui'].sort(),
    );
    expect(services['temporal-schema']!.depends_on!.postgresql!.condition).toBe('service_healthy');
    expect(services.temporal!.depends_on!['temporal-schema']!.condition).toBe(
      'service_completed_successfully',
    );
    expect(services.temporal!.image).toMatch(/^temporalio\/server:/);
    expect(services['temporal-ui']!.image).toMatch(/^temporalio\/ui:/);
    // The frontend is published on loopback only: other hosts come through TLS (docs/deploy.md).
    expect(services.temporal!.ports).toEqual([
      expect.objectContaining({ host_ip: '127.0.0.1', target: 7233 }),
    ]);
  });

  it("the setup job registers every one of ferry's search attributes", async () => {
    const mounted = services['temporal-setup']!.volumes!.find((v) => v.target === '/setup-temporal.sh')!;
    const script = await readFile(mounted.source, 'utf8');
    for (const name of SEARCH_ATTRIBUTE_NAMES) expect(script).toMatch(new RegExp(`\\b${name}\\b`));
    expect(services['temporal-setup']!.entrypoint).toEqual(['/bin/sh', '/setup-temporal.sh']);
    const schema = services['temporal-schema']!.volumes!.find((v) => v.target === '/setup-schema.sh')!;
    expect(existsSync(schema.source)).toBe(true);
  });

  it('gives the ferry worker what CRIU needs', () => {
    const w = services['ferry-worker']!;
    expect(w.privileged).toBe(true);
    expect(w.pid).toBe('host');
    expect(w.network_mode).toBe('host');
    expect(w.cgroup).toBe('host');
    expect(w.command).toEqual(['worker', '--host', 'node-a', '--config', '/etc/ferry/ferry.yaml']);
    const mounts = Object.fromEntries(w.volumes!.map((v) => [v.target, v]));
    // Same paths inside as on the host: images and bundles are addressed by stateDir on every host.
    expect(mounts['/var/lib/ferry']).toMatchObject({ source: '/var/lib/ferry' });
    expect(mounts['/var/lib/ferry']!.read_only).toBeFalsy();
    expect(mounts['/etc/ferry']).toMatchObject({ source: '/etc/ferry', read_only: true });
    expect(mounts['/sys/fs/cgroup']!.read_only).toBeFalsy();
  });
});

describe('systemd units', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-units-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([
    ['ferry-worker@.service', 'ferry-worker@node-a.service'],
    ['ferry-serve.service', 'ferry-serve.service'],
    ['ferry-hibernate@.service', 'ferry-hibernate@node-a.service'],
  ])('%s passes systemd-analyze verify', async (unit, instance) => {
    // The units name /opt/ferry; verify checks that ExecStart/ExecStop exist, so point it at this checkout.
    const text = await readFile(path.join(ROOT, 'deploy', 'systemd', unit), 'utf8');
    expect(text).toMatch(/^Exec(Start|Stop)=\/opt\/ferry\/bin\/ferry /m);
    await writeFile(
      path.join(dir, instance),
      text.replaceAll('/opt/ferry/bin/ferry', path.join(ROOT, 'bin', 'ferry')),
    );
    const r = await execa('systemd-analyze', ['verify', path.join(dir, instance)], { reject: false });
    // verify exits 0 on unknown keys and bad values but says so on stderr: any word is a failure.
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' });
  });

  it('the hibernate unit hibernates on the way down, before the worker stops, and only then', async () => {
    const text = await readFile(path.join(ROOT, 'deploy', 'systemd', 'ferry-hibernate@.service'), 'utf8');
    expect(text).toMatch(/^ExecStop=.* hibernate %i --on-shutdown --config \/etc\/ferry\/ferry\.yaml$/m);
    expect(text).toMatch(/^After=ferry-worker@%i\.service /m);
    expect(text).toMatch(/^RemainAfterExit=yes$/m);
  });

  it('the worker unit keeps workloads alive when the worker stops', async () => {
    const text = await readFile(path.join(ROOT, 'deploy', 'systemd', 'ferry-worker@.service'), 'utf8');
    expect(text).toMatch(/^KillMode=process$/m);
    expect(text).toMatch(/^ExecStart=.* worker --host %i --config \/etc\/ferry\/ferry\.yaml$/m);
  });
});
