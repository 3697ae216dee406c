import { E2E, ferry } from './env.js';
import { installedEngines } from '../../src/dev/container-engines.js';
// @ts-expect-error plain JavaScript shared with the global teardown
import { leftovers } from './leftovers.mjs';

describe('the dev environment', () => {
  it('reports every component up', async () => {
    const r = await ferry(['dev', 'status', '--dir', E2E.dir, '--json']);
    expect(r.exitCode).toBe(0);
    const status = JSON.parse(r.stdout) as {
      up: boolean;
      components: { component: string; running: boolean }[];
    };
    expect(status.up).toBe(true);
    const names = status.components.filter((c) => !c.component.startsWith(' ')).map((c) => c.component);
    // Each host has its own dockerd when docker is installed (scripts/setup.sh installs it).
    const dockerd = (await installedEngines()).docker;
    expect(names).toEqual([
      'temporal',
      ...E2E.hosts.flatMap((h) => [`sshd ${h}`, `worker ${h}`, ...(dockerd ? [`dockerd ${h}`] : [])]),
    ]);
    expect(status.components.every((c) => c.running || c.component.startsWith(' '))).toBe(true);
  });

  it('the leftover check used by the teardown does see a running environment', async () => {
    // Guards the teardown's "nothing left behind" assertion against passing vacuously.
    const found = (await leftovers(E2E.dir, E2E.hosts)) as string[];
    expect(found.filter((f) => f.startsWith('process')).length).toBeGreaterThanOrEqual(5);
  });
});
