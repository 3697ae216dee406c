// Plain JavaScript: Jest loads global setup/teardown outside its TypeScript module mapping.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// FERRY_E2E_ENV names another JSON file of the same shape, so that two checkouts on one machine
// can run their end-to-end tests side by side (own folder, ports and loopback addresses).
const envFile = process.env.FERRY_E2E_ENV ?? path.join(ROOT, 'test', 'e2e', 'e2e-env.json');
const raw = JSON.parse(readFileSync(envFile, 'utf8'));
/** The end-to-end tests' own dev environment, on ports and addresses the demo does not use. */
export const E2E = { ...raw, dir: path.resolve(ROOT, raw.dir) };
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
