import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * A folder's content as text: one line per entry, sorted by path, fields split by tabs:
 * "f sha256 size path", "l target path" for a symlink, "d path" for a folder. Its sha256 is the folder's checksum:
 * any changed, added, removed or renamed file changes it.
 */
export async function folderManifest(root: string): Promise<string> {
  const lines: string[] = [];
  async function walk(rel: string): Promise<void> {
    const names = (await readdir(path.join(root, rel))).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const full = path.join(root, r);
      const st = await lstat(full);
      if (st.isSymbolicLink()) lines.push(`l\t${await readlink(full)}\t${r}`);
      else if (st.isDirectory()) {
        lines.push(`d\t${r}`);
        await walk(r);
      } else if (st.isFile()) lines.push(`f\t${await fileSha256(full)}\t${st.size}\t${r}`);
      else lines.push(`o\t${st.mode.toString(8)}\t${r}`); // fifos, sockets, devices: by kind only
    }
  }
  await walk('');
  return lines.join('\n') + '\n';
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The first lines where two manifests differ (what a refused restore names). */
export function manifestDifferences(expected: string, actual: string, max = 5): string[] {
  const a = new Set(expected.split('\n').filter(Boolean));
  const b = new Set(actual.split('\n').filter(Boolean));
  const pathOf = (l: string) => l.slice(l.lastIndexOf('\t') + 1);
  const out: string[] = [];
  for (const l of a) if (!b.has(l)) out.push(`changed or missing: ${pathOf(l)}`);
  for (const l of b)
    if (!a.has(l) && ![...a].some((x) => pathOf(x) === pathOf(l))) out.push(`added: ${pathOf(l)}`);
  return out.slice(0, max);
}
