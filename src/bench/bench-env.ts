import path from 'node:path';
import { REPO_ROOT } from '../dev/dev-layout.js';

// The bench's own dev environment, shared by `npm run bench` and `npm run bench:containers`.
// FERRY_BENCH_PORT_BASE / FERRY_BENCH_PREFIX let a second checkout bench on the same machine.
const PORT_BASE = Number(process.env.FERRY_BENCH_PORT_BASE ?? 27233);
export const BENCH_ENV = {
  dir: path.join(REPO_ROOT, '.ferry', 'bench'),
  temporalPort: PORT_BASE,
  uiPort: PORT_BASE + 1000,
  sshPort: PORT_BASE - 5011,
  addressPrefix: process.env.FERRY_BENCH_PREFIX ?? '127.0.8',
  hosts: ['node-a', 'node-b'],
};

// npm run bench:load: its own environment, six hosts (process and runc only: no dockerd per host).
// FERRY_LOAD_PORT_BASE / FERRY_LOAD_PREFIX move it, as above.
const LOAD_PORT_BASE = Number(process.env.FERRY_LOAD_PORT_BASE ?? 37833);
export const LOAD_ENV = {
  dir: path.join(REPO_ROOT, '.ferry', 'bench-load'),
  temporalPort: LOAD_PORT_BASE,
  uiPort: LOAD_PORT_BASE + 1000,
  sshPort: LOAD_PORT_BASE - 5011,
  addressPrefix: process.env.FERRY_LOAD_PREFIX ?? '127.0.38',
  hosts: ['node-a', 'node-b', 'node-c', 'node-d', 'node-e', 'node-f'],
  engines: false,
};
