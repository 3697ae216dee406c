import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/schema.js';

const valid = {
  temporal: { address: '127.0.0.1:7233' },
  transfer: { identityFile: '/etc/ferry/id_ed25519', knownHostsFile: '/etc/ferry/known_hosts' },
  hosts: [
    { name: 'node-a', ssh: { address: '10.0.0.1' }, stateDir: '/var/lib/ferry' },
    {
      name: 'node-b',
      ssh: { address: 'node-b.example', port: 2222 },
      stateDir: '/var/lib/ferry',
      runtimes: ['runc'],
    },
  ],
};

function problemOf(raw: unknown): string {
  try {
    parseConfig(raw, 'test config');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}

describe('config', () => {
  it('fills defaults', () => {
    const cfg = parseConfig(valid);
    expect(cfg.hosts[0]!.ssh).toEqual({ address: '10.0.0.1', port: 22, user: 'root' });
    expect(cfg.hosts[0]!.runtimes).toEqual(['runc', 'process', 'podman', 'docker']);
    expect(cfg.hosts[0]!.docker).toEqual({ socket: '/var/run/docker.sock', client: '/usr/bin/docker' });
    expect(cfg.hosts[0]!.podman).toEqual({});
    expect(cfg.temporal.namespace).toBe('default');
  });

  it('names a missing field', () => {
    const raw = structuredClone(valid) as Record<string, unknown>;
    delete (raw.hosts as Record<string, unknown>[])[1]!.stateDir;
    expect(problemOf(raw)).toContain('hosts[1].stateDir');
  });

  it('names a field of the wrong type', () => {
    const raw = structuredClone(valid);
    (raw.hosts[1]!.ssh as Record<string, unknown>).port = 'twenty-two';
    expect(problemOf(raw)).toContain('hosts[1].ssh.port');
  });

  it('refuses unknown fields (typos)', () => {
    expect(problemOf({ ...valid, hostz: [] })).toMatch(/hostz/);
  });

  it('refuses relative and traversing state directories', () => {
    const raw = structuredClone(valid);
    raw.hosts[0]!.stateDir = 'var/lib/ferry';
    expect(problemOf(raw)).toContain('hosts[0].stateDir: must be an absolute path');
    raw.hosts[0]!.stateDir = '/var/../etc';
    expect(problemOf(raw)).toContain('must not contain ".."');
  });

  it('refuses duplicate and unsafe host names', () => {
    const raw = structuredClone(valid);
    raw.hosts[1]!.name = 'node-a';
    expect(problemOf(raw)).toContain('hosts[1].name: duplicate host "node-a"');
    raw.hosts[1]!.name = 'node b';
    expect(problemOf(raw)).toContain('hosts[1].name');
  });

  it('refuses an unknown runtime', () => {
    const raw = structuredClone(valid);
    raw.hosts[1]!.runtimes = ['lxc'];
    expect(problemOf(raw)).toContain('hosts[1].runtimes[0]');
  });

  it('reports unreadable and non-YAML files with their path', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-config-'));
    try {
      await expect(loadConfig(path.join(dir, 'nope.yaml'))).rejects.toThrow(
        /cannot read config file .*nope.yaml/,
      );
      await writeFile(path.join(dir, 'bad.yaml'), 'hosts: [unclosed');
      await expect(loadConfig(path.join(dir, 'bad.yaml'))).rejects.toThrow(/not valid YAML/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
