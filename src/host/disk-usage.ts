import { chmod, lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/** Apparent size of the regular files under dir, in bytes. */
export async function directorySize(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await directorySize(p);
    else if (e.isFile()) total += (await lstat(p)).size;
  }
  return total;
}

/** Checkpoint images hold process memory: owner-only files (CRIU writes them 0644). */
export async function makePrivate(dir: string): Promise<void> {
  await chmod(dir, 0o700);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await makePrivate(p);
    else if (e.isFile()) await chmod(p, 0o600);
  }
}
