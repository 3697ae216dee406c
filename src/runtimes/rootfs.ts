import { access, chmod, constants, copyFile, mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../exec/run.js';

async function which(program: string): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, program);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* keep looking */
    }
  }
  throw new Error(`${program} not found on PATH; run scripts/setup.sh`);
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
