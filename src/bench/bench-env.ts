import path from 'node:path';
import { REPO_ROOT } from '../dev/dev-layout.js';
import type { DevOptions } from '../dev/dev-layout.js';

/** A bench's own dev environment: ports from one base, its own loopback prefix and folder. */
function benchEnv(folder: string, portBase: number, addressPrefix: string, hosts: string[]): DevOptions {
  return {
    dir: path.join(REPO_ROOT, '.ferry', folder),
    temporalPort: portBase,
    uiPort: portBase + 1000,
    sshPort: portBase - 5011,
    addressPrefix,
    hosts,
  };
}

// The bench's own dev environment, shared by `npm run bench` and `npm run bench:containers`.
// FERRY_BENCH_PORT_BASE / FERRY_BENCH_PREFIX let a second checkout bench on the same machine.
export const BENCH_ENV = benchEnv(
  'bench',
  Number(process.env.FERRY_BENCH_PORT_BASE ?? 27233),
  process.env.FERRY_BENCH_PREFIX ?? '127.0.8',
  ['node-a', 'node-b'],
);

// npm run bench:load: its own environment, six hosts (process and runc only: no dockerd per host).
// FERRY_LOAD_PORT_BASE / FERRY_LOAD_PREFIX move it, as above.
export const LOAD_ENV: DevOptions = {
  ...benchEnv(
    'bench-load',
    Number(process.env.FERRY_LOAD_PORT_BASE ?? 37833),
    process.env.FERRY_LOAD_PREFIX ?? '127.0.38',
    ['node-a', 'node-b', 'node-c', 'node-d', 'node-e', 'node-f'],
  ),
  engines: false,
};
