// Files a process tree writes outside its workload folder (its log, typically). CRIU restores
// an open regular file only when it exists at the same path with the size it had at the dump,
// and a file that is being written reaches that size only at the freeze: so ferry copies them
// into the images after the dump (they travel with the images) and puts them back on the host
// that restores, unless that host already has the very same file (shared storage, a rollback
// on the source, simulated hosts on one machine).
import { chmod, chown, copyFile, mkdir, rename, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { readJson, writeJsonAtomic } from './workload-files.js';

export interface CarriedFile {
  /** Where the process has it open, on every host. */
  path: string;
  /** Its copy, relative to the images folder. */
  copy: string;
  size: number;
  /** Nanoseconds, as a string (exact, unlike a float). */
  mtimeNs: string;
  mode: number;
  uid: number;
  gid: number;
}

const MANIFEST = 'ferry-files.json';
const COPIES = 'ferry-files';

/** Source, after the dump (the tree no longer writes): copies them into the images folder. */
export async function carryFiles(paths: string[], imagesDir: string): Promise<CarriedFile[]> {
  if (!paths.length) return [];
  await mkdir(path.join(imagesDir, COPIES), { recursive: true, mode: 0o700 });
  const carried: CarriedFile[] = [];
  for (const [i, p] of paths.entries()) {
    const copy = path.join(COPIES, String(i));
    await copyFile(p, path.join(imagesDir, copy));
    const st = await stat(p, { bigint: true });
    carried.push({
      path: p,
      copy,
      size: Number(st.size),
      mtimeNs: String(st.mtimeNs),
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
    });
  }
  await writeJsonAtomic(path.join(imagesDir, MANIFEST), carried);
  return carried;
}

/** The same file as at the dump: same size and modification time to the nanosecond. */
async function isSameFile(f: CarriedFile): Promise<boolean> {
  const st = await stat(f.path, { bigint: true }).catch(() => undefined);
  return !!st && st.isFile() && Number(st.size) === f.size && String(st.mtimeNs) === f.mtimeNs;
}

/**
 * Host that restores, before CRIU runs: every carried file that is not already the same file
 * here is written (atomically) at its path with its owner, mode and modification time. Returns
 * the paths written. A checkpoint without copies (none needed) changes nothing.
 */
export async function putBackFiles(imagesDir: string): Promise<string[]> {
  const carried = (await readJson<CarriedFile[]>(path.join(imagesDir, MANIFEST))) ?? [];
  const written: string[] = [];
  for (const f of carried) {
    if (await isSameFile(f)) continue;
    await mkdir(path.dirname(f.path), { recursive: true });
    const tmp = `${f.path}.ferry-${process.pid}`;
    await copyFile(path.join(imagesDir, f.copy), tmp);
    await chown(tmp, f.uid, f.gid).catch(() => undefined); // not root: keep the worker's
    await chmod(tmp, f.mode);
    const mtime = Number(BigInt(f.mtimeNs) / 1000n) / 1e6; // seconds, microsecond precision
    await utimes(tmp, mtime, mtime);
    await rename(tmp, f.path);
    written.push(f.path);
  }
  return written;
}
