import { readFile, statfs } from 'node:fs/promises';
import path from 'node:path';

/** The kernel's id of the current boot; a simulated host names its own file (bootIdFile). */
export const KERNEL_BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

export async function readBootId(file: string = KERNEL_BOOT_ID_FILE): Promise<string> {
  return (await readFile(file, 'utf8')).trim();
}

/** statfs f_type of a path, or of its nearest existing parent (the store may not exist yet). */
export async function fileSystemType(p: string): Promise<number | undefined> {
  for (let dir = path.resolve(p); ; dir = path.dirname(dir)) {
    const s = await statfs(dir).catch(() => undefined);
    if (s) return s.type;
    if (dir === path.dirname(dir)) return undefined;
  }
}
