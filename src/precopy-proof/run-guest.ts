// Boots the pre-copy proof guest (docs/precopy.md): Debian's stock kernel, which tracks dirty
// pages, under qemu software emulation, with this machine's file system shared read-only over
// virtio-9p so that the guest runs this very checkout's node and dist/ (guest-main.ts).
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../exec/run.js';
import type { PrecopySummary } from '../domain/precopy.js';
import type { CheckpointResult, RestoreResult } from '../domain/types.js';
import type { Continuity } from '../domain/output-analysis.js';
import { REPORT_MARK } from './report-mark.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GUEST = path.join(ROOT, '.tools/guest');
const GUEST_STATE = '/tmp/ferry-precopy-guest'; // a tmpfs inside the guest

export interface GuestReport {
  kernel: string;
  criuVersion: string;
  dirtyTracking: { supported: boolean; reason?: string };
  precopy?: PrecopySummary;
  finalDump?: CheckpointResult;
  finalParentLink?: string | null;
  parentLinkAfterRsync?: string | null;
  finalShip?: { bytesSent: number; durationMs: number };
  restore?: RestoreResult;
  continuity?: Continuity;
  /** Incremental snapshots: three taken, the last restored (guest-main.ts snapshotSeries). */
  snapshots?: GuestSnapshotSeries;
  error?: string;
}

export interface GuestSnapshotSeries {
  taken: {
    id: string;
    parent: string | null;
    fullBecause: string | null;
    pagesWritten?: number;
    pagesFromParent: number;
    sizeBytes: number;
    frozenMs?: number;
  }[];
  restoredPages?: number;
  memoryIntact: boolean;
  continuity: Continuity;
}

export interface GuestRun {
  report: GuestReport;
  console: string;
  bootToReportMs: number;
}

/** The init of the guest's initramfs: modules, loopback, the host tree, then guest-main. */
function initScript(modules: string[], workloadMiB: number): string {
  const guestMain = path.join(ROOT, 'dist/precopy-proof/guest-main.js');
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in ${modules.join(' ')}; do insmod /modules/$m.ko || echo "insmod $m failed"; done
ip link set lo up
mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /host || echo "9p mount failed"
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
mount -t devtmpfs devtmpfs /host/dev
mkdir -p /host/dev/pts
mount -t devpts -o newinstance,ptmxmode=0666 devpts /host/dev/pts
[ -e /host/dev/ptmx ] || ln -s pts/ptmx /host/dev/ptmx
# Scratch space over /tmp and /run; the checkout stays visible even when it lives under them
# (CI may clone into /tmp).
mkdir -p /repo
mount -o bind /host${ROOT} /repo
mount -t tmpfs tmpfs /host/tmp
mount -t tmpfs tmpfs /host/run
mkdir -p /host${ROOT} 2>/dev/null
mount -o bind /repo /host${ROOT}
chroot /host /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp \\
  ${process.execPath} ${guestMain} ${GUEST_STATE} ${workloadMiB} ${path.join(ROOT, '.tools/bin')}
echo "FERRY-GUEST-EXIT $?"
poweroff -f
`;
}

async function buildInitramfs(dir: string, workloadMiB: number): Promise<string> {
  const tree = path.join(dir, 'tree');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'modules', 'host'])
    await mkdir(path.join(tree, d), { recursive: true });
  await copyFile('/bin/busybox', path.join(tree, 'bin/busybox'));
  const order = (await readFile(path.join(GUEST, 'modules/order'), 'utf8')).split('\n').filter(Boolean);
  for (const m of order)
    await copyFile(path.join(GUEST, 'modules', `${m}.ko`), path.join(tree, 'modules', `${m}.ko`));
  await writeFile(path.join(tree, 'init'), initScript(order, workloadMiB));
  await chmod(path.join(tree, 'init'), 0o755);
  const files = await listTree(tree);
  const out = path.join(dir, 'initramfs.cpio');
  await run('cpio', ['-o', '-H', 'newc', '--quiet', '-F', out], {
    cwd: tree,
    input: files.join('\n') + '\n',
  });
  return out;
}

async function listTree(root: string, rel = '.'): Promise<string[]> {
  const out = [rel];
  for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
    const p = `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await listTree(root, p)));
    else out.push(p);
  }
  return out;
}

/** Boots the guest, runs the proof, returns its report (or throws with the console's tail). */
export async function runPrecopyGuest(
  opts: { workloadMiB?: number; timeoutMs?: number } = {},
): Promise<GuestRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'precopy-guest-'));
  try {
    const initrd = await buildInitramfs(dir, opts.workloadMiB ?? 32);
    const started = Date.now();
    const { stdout } = await run(
      'qemu-system-x86_64',
      [
        '-accel',
        'tcg',
        '-cpu',
        'max',
        '-m',
        '1536',
        '-smp',
        '1',
        '-nographic',
        '-no-reboot',
        '-nic',
        'none',
        '-kernel',
        path.join(GUEST, 'vmlinuz'),
        '-initrd',
        initrd,
        '-append',
        'console=ttyS0 quiet panic=-1',
        '-virtfs',
        'local,path=/,mount_tag=hostroot,security_model=none,readonly=on',
      ],
      { timeoutMs: opts.timeoutMs ?? 15 * 60_000 },
    );
    const line = stdout.split('\n').find((l) => l.includes(REPORT_MARK));
    if (!line)
      throw new Error(
        `the guest printed no report; console tail:\n${stdout.split('\n').slice(-40).join('\n')}`,
      );
    const report = JSON.parse(
      line.slice(line.indexOf(REPORT_MARK) + REPORT_MARK.length).trim(),
    ) as GuestReport;
    return { report, console: stdout, bootToReportMs: Date.now() - started };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
