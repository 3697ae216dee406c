// Plain JavaScript: Jest loads global setup/teardown outside its TypeScript module mapping.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const raw = JSON.parse(readFileSync(path.join(ROOT, 'test', 'e2e', 'e2e-env.json'), 'utf8'));
/** The end-to-end tests' own dev environment, on ports and addresses the demo does not use. */
export const E2E = { ...raw, dir: path.join(ROOT, raw.dir) };
export const CONFIG_FILE = path.join(E2E.dir, 'ferry.yaml');

/** Runs the real CLI (bin/ferry) against the e2e environment. */
export async function runFerry(args, timeoutMs = 170_000) {
  const r = await execa(path.join(ROOT, 'bin', 'ferry'), args, {
    reject: false,
    timeout: timeoutMs,
    env: { FERRY_DEV_DIR: E2E.dir, FERRY_CONFIG: CONFIG_FILE },
    stdin: 'ignore',
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
