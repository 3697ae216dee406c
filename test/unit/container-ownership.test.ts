import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { PODMAN_CAPABILITIES } from '../../src/runtimes/podman-capabilities.js';
import { CommandError, type RunResult } from '../../src/exec/run.js';
import { HostPaths } from '../../src/host/host-paths.js';
import {
  ContainerEngineRuntime,
  shellLine,
  type EngineInspect,
} from '../../src/runtimes/container-engine.js';
import type { NameHolder } from '../../src/runtimes/runtime.js';

interface Fake extends EngineInspect {
  Name: string;
}

/** An engine whose containers live in a map: what ferry removes is what leaves the map. */
class FakeEngine extends ContainerEngineRuntime<Fake> {
  readonly name = 'podman' as const;
  readonly capabilities = PODMAN_CAPABILITIES;
  protected readonly noSuchContainer = /no such container/;
  protected readonly inspectFormat = [];
  protected readonly imageCheck = { args: () => ['true'], recreatedBy: '' };
  protected readonly removeAtOnce = [];
  readonly containers = new Map<string, Fake>();

  add(id: string, name: string, running: boolean): void {
    this.containers.set(id, {
      Id: id,
      Name: name,
      Image: 'sha256:0000',
      State: { Running: running, Pid: running ? 1 : 0, Status: running ? 'running' : 'exited' },
      Config: {},
    });
  }
  protected engine(args: string[]): Promise<RunResult> {
    const byName = (n: string) => [...this.containers.values()].find((c) => c.Name === n || c.Id === n);
    if (args[0] === 'container' && args[1] === 'inspect') {
      const c = byName(args[2]!);
      if (!c) return Promise.reject(new CommandError('x', 'inspect', 1, 'no such container'));
      return Promise.resolve({ stdout: JSON.stringify([c]), stderr: '' });
    }
    if (args[0] === 'rm') this.containers.delete(byName(args.at(-1)!)!.Id);
    return Promise.resolve({ stdout: '', stderr: '' });
  }
  commandLine(args: string[]): string {
    return shellLine(['fake', ...args]);
  }
  protected imageOf(): string {
    return 'img';
  }
  unavailableReason() {
    return Promise.resolve(undefined);
  }
  notMovable() {
    return Promise.resolve([]);
  }
  checkpoint(): never {
    throw new Error('not here');
  }
  restore(): never {
    throw new Error('not here');
  }
  // What the adapters do around their own checkpoint and restore, reachable for the test.
  makeRoomFor(name: string, migrationId: string) {
    return this.makeRoom(name, migrationId);
  }
  failRestore(name: string, migrationId: string) {
    return this.restoreFailed(name, migrationId, 'criu said no');
  }
  get ledger() {
    return this.owned;
  }
}

let dir: string;
let engine: FakeEngine;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-own-'));
  engine = new FakeEngine({ host: 'node-b', paths: new HostPaths(dir) });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const typeOf = (err: unknown) => (err as ApplicationFailure).type;

describe('container engines remove only what a migration here checkpointed or created', () => {
  it('stop leaves a container nobody migrated alone, unless asked (dev teardown)', async () => {
    engine.add('aaa111', 'dup', false);
    await engine.stop('dup');
    expect(engine.containers.has('aaa111')).toBe(true);
    await engine.stop('dup', { anyOwner: true });
    expect(engine.containers.has('aaa111')).toBe(false);
  });

  it('stop removes the container a migration checkpointed here (the moved source)', async () => {
    engine.add('src1', 'web', false);
    await engine.ledger.checkpointed('m1', 'web', 'src1');
    await engine.stop('web');
    expect(engine.containers.size).toBe(0);
  });

  it('a restore refuses to make room by removing a container it did not create, running or not', async () => {
    engine.add('usr1', 'dup', false);
    const err = await engine.makeRoomFor('dup', 'm1').catch((e: unknown) => e);
    expect(typeOf(err)).toBe('NameTakenOnDestination');
    expect((err as Error).message).toContain('fake rm usr1');
    engine.containers.clear();
    engine.add('usr2', 'dup', true);
    expect(typeOf(await engine.makeRoomFor('dup', 'm1').catch((e: unknown) => e))).toBe(
      'WorkloadAlreadyOnDestination',
    );
    expect(engine.containers.size).toBe(1);
  });

  it('replaceStopped: the stopped container the preflight saw goes, and only while it is stopped', async () => {
    engine.add('usr1', 'dup', false);
    const holder = (await engine.nameHolder('dup')) as NameHolder;
    expect(holder).toMatchObject({
      id: 'usr1',
      state: 'exited',
      running: false,
      removeCommand: 'fake rm usr1',
    });
    await engine.allowReplacing('dup', 'm1', holder);
    // Started again meanwhile: no longer replaceable.
    engine.containers.get('usr1')!.State.Running = true;
    await expect(engine.makeRoomFor('dup', 'm1')).rejects.toThrow(/ferry did not create/);
    engine.containers.get('usr1')!.State.Running = false;
    // Another migration's permission does not count.
    await expect(engine.makeRoomFor('dup', 'm2')).rejects.toThrow(/ferry did not create/);
    await engine.makeRoomFor('dup', 'm1');
    expect(engine.containers.size).toBe(0);
  });

  it('a failed restore removes what it created, never the source container it restores in place', async () => {
    engine.add('src1', 'web', false);
    await engine.ledger.checkpointed('m1', 'web', 'src1');
    await engine.failRestore('web', 'm1');
    expect(engine.containers.has('src1')).toBe(true);
    // podman's import: the source container made room, the import's copy (same id) failed.
    await engine.makeRoomFor('web', 'm1');
    engine.add('src1', 'web', false);
    await engine.ledger.created('m1', 'web', 'src1');
    const err = await engine.failRestore('web', 'm1');
    expect(typeOf(err)).toBe('RestoreFailed');
    expect(engine.containers.size).toBe(0);
  });

  it('startFresh starts only a container a migration here knows', async () => {
    engine.add('usr1', 'dup', false);
    await expect(engine.startFresh('dup')).rejects.toThrow(
      /not one a migration here checkpointed or created/,
    );
  });
});

describe('shellLine', () => {
  it('quotes only what a shell would split or expand', () => {
    expect(shellLine(['CONTAINERS_CONF=/a/b.conf', 'podman', '--root', '/x y', "it's", '$HOME'])).toBe(
      "CONTAINERS_CONF=/a/b.conf podman --root '/x y' 'it'\\''s' '$HOME'",
    );
  });
});
