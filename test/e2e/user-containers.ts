// Containers and processes started the way users start them, with the runtimes' own tools and
// no ferry command: shared by user-runc.test.ts and own-hosts.test.ts.
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { findOnPath } from '../../src/exec/which.js';

/**
 * A bundle made by `runc spec`, edited as docs/own-hosts.md says (no terminal, a writable
 * rootfs, the program), with busybox and ferry-stateful in its rootfs. The program writes its
 * lines into /data/out.log inside the container: its stdio stays on /dev/null.
 */
export async function makeUserBundle(dir: string, mib = 16): Promise<void> {
  await mkdir(path.join(dir, 'rootfs', 'bin'), { recursive: true });
  await mkdir(path.join(dir, 'rootfs', 'data'), { recursive: true });
  for (const d of ['proc', 'sys', 'dev', 'tmp'])
    await mkdir(path.join(dir, 'rootfs', d), { recursive: true });
  for (const program of ['busybox', 'ferry-stateful']) {
    const from = await findOnPath(program);
    if (!from) throw new Error(`${program} is not on PATH`);
    await copyFile(from, path.join(dir, 'rootfs', 'bin', program));
    await chmod(path.join(dir, 'rootfs', 'bin', program), 0o755);
  }
  await execa('runc', ['spec', '--bundle', dir]);
  const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.process.args = ['/bin/busybox', 'sh', '-c', `exec /bin/ferry-stateful ${mib} 10 >>/data/out.log`];
  config.root.readonly = false;
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
}

/** `runc --root ROOT run -d --bundle DIR NAME`, stdio on /dev/null. */
export async function runcRun(root: string, dir: string, name: string): Promise<void> {
  await execa('runc', ['--root', root, 'run', '-d', '--bundle', dir, name], {
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'ignore',
  });
}

export async function runcState(
  root: string,
  name: string,
): Promise<{ status: string; pid: number; bundle: string } | undefined> {
  const r = await execa('runc', ['--root', root, 'state', name], { reject: false });
  return r.exitCode === 0 ? JSON.parse(String(r.stdout)) : undefined;
}

export async function runcDelete(root: string, name: string): Promise<void> {
  await execa('runc', ['--root', root, 'delete', '-f', name], { reject: false });
}
