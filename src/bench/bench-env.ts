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
