// The physical floor of a snapshot restore, by hand: `criu restore -d` of the snapshot's images
// (as ferry's process runtime runs it: under ferry-shim, the stdout pipe inherited), CRIU's own
// restore time, and the memory images read back with O_DIRECT.
import { readdir, readFile, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../exec/run.js';
import { readRestoreStats } from '../runtimes/criu-steps.js';
import { startUnderShim } from '../runtimes/shim.js';

export interface HandRestore {
  pid: number;
  /** `criu restore -d` from start to exit. */
  criuMs: number;
  /** CRIU's own restore time (stats-restore), when it wrote one. */
  criuOwnMs?: number;
  /** The restored workload's output (only what it printed after the restore). */
  outputLog: string;
}

/** What the process runtime recorded next to the images at the dump (process-runtime.ts). */
interface StdioRecord {
  stdoutPipe?: string;
  shellJob?: boolean;
}

/** Lays the images out (hard links, as ferry's stage step) and restores them; the clock starts at the restore. */
export async function criuRestoreByHand(snapshotImages: string, dir: string): Promise<HandRestore> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const images = path.join(dir, 'images');
  const work = path.join(dir, 'work');
  await run('cp', ['-al', snapshotImages, images]);
  await mkdir(work, { mode: 0o700 });
  const record = JSON.parse(
    await readFile(path.join(images, 'ferry-stdio.json'), 'utf8').catch(() => '{}'),
  ) as StdioRecord;
  const pidFile = path.join(work, 'restored.pid');
  const args = ['restore', '-D', images, '-W', work, '-o', 'restore.log', '-v4', '-d', '--pidfile', pidFile];
  if (record.shellJob) args.push('--shell-job');
  if (record.stdoutPipe?.startsWith('pipe:')) args.push('--inherit-fd', `fd[1]:${record.stdoutPipe}`);
  const outputLog = path.join(dir, 'output.log');
  const t0 = Date.now();
  try {
    await startUnderShim(outputLog, ['criu', ...args], { wait: true, timeoutMs: 5 * 60_000 });
  } catch (err) {
    const tail = (await readFile(path.join(work, 'restore.log'), 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => /Error|error/.test(l))
      .slice(-5)
      .join('\n');
    throw new Error(`criu restore by hand failed: ${String(err)}\n${tail}`);
  }
  const criuMs = Date.now() - t0;
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  const us = (await readRestoreStats(work)).restoreTimeUs;
  return { pid, criuMs, criuOwnMs: us === undefined ? undefined : us / 1000, outputLog };
}

/** The memory images (pages-*.img) read with O_DIRECT, bypassing the page cache. */
export async function readPagesDirect(imagesDir: string): Promise<{ bytes: number; ms: number }> {
  const pages = (await readdir(imagesDir)).filter((f) => /^pages-\d+\.img$/.test(f));
  let bytes = 0;
  let ms = 0;
  for (const f of pages) {
    const file = path.join(imagesDir, f);
    bytes += (await stat(file)).size;
    const t0 = Date.now();
    await run('dd', [`if=${file}`, 'of=/dev/null', 'bs=4M', 'iflag=direct'], { timeoutMs: 5 * 60_000 });
    ms += Date.now() - t0;
  }
  return { bytes, ms };
}
