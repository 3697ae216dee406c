import { chmod, copyFile, mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../exec/run.js';
import { findOnPath } from '../exec/which.js';

async function which(program: string): Promise<string> {
  const found = await findOnPath(program);
  if (!found) throw new Error(`${program} not found on PATH; run scripts/setup.sh`);
  return found;
}

/**
 * A minimal root filesystem built locally (no registry is reachable): busybox-static with its
 * applets, and ferry-stateful, the test/demo workload.
 */
export async function buildBusyboxRootfs(rootfs: string): Promise<void> {
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root', 'data'])
    await mkdir(path.join(rootfs, d), { recursive: true });
  const busybox = await which('busybox');
  await copyFile(busybox, path.join(rootfs, 'bin', 'busybox'));
  await chmod(path.join(rootfs, 'bin', 'busybox'), 0o755);
  await copyFile(await which('ferry-stateful'), path.join(rootfs, 'bin', 'ferry-stateful'));
  await chmod(path.join(rootfs, 'bin', 'ferry-stateful'), 0o755);
  const { stdout } = await run(busybox, ['--list']);
  for (const applet of stdout.split('\n').map((s) => s.trim())) {
    if (!applet || applet === 'busybox' || applet.includes('/')) continue;
    await symlink('busybox', path.join(rootfs, 'bin', applet)).catch(() => undefined);
  }
}
