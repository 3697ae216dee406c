import { E2E, runFerry } from './run-ferry.mjs';
import { leftovers } from './leftovers.mjs';

/** dev down must leave nothing behind: no processes, mounts, cgroups or iptables rules. */
export default async function globalTeardown() {
  const down = await runFerry(['dev', 'down', '--dir', E2E.dir]);
  if (down.exitCode !== 0) throw new Error(`ferry dev down failed:\n${down.stderr}`);
  const left = await leftovers(E2E.dir, E2E.hosts);
  if (left.length) throw new Error(`ferry dev down left things behind:\n${left.join('\n')}`);
}
