import { readdir, lstat } from 'node:fs/promises';
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
