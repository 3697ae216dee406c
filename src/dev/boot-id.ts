// A simulated host's boot id: its own file instead of the kernel's, so that ferry dev reboot can
// give one host a new boot without rebooting the machine.
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import type { DevLayout } from './dev-layout.js';

/** The file a simulated host's worker reads its boot id from (hosts[].bootIdFile). */
export const devBootIdFile = (layout: DevLayout, host: string) => `${layout.hostDir(host)}/boot_id`;

/** Gives a simulated host a boot id (a new one: it "rebooted"); returns it. */
export async function newBootId(layout: DevLayout, host: string): Promise<string> {
  const id = randomUUID();
  await mkdir(layout.hostDir(host), { recursive: true, mode: 0o700 });
  await writeFile(devBootIdFile(layout, host), `${id}\n`, { mode: 0o644 });
  return id;
}
