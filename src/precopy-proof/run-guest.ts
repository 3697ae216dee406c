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
import { CGROUP_REPORT_MARK, type CgroupGuestReport } from './cgroup-v2-report.js';

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

/** Which cgroup hierarchy the guest mounts: none (the pre-copy proof needs none) or only cgroup2. */
export type GuestCgroups = 'none' | 'v2';

/** Kernel command line: cgroup v2 guests get no v1 controller at all (a pure unified host). */
function kernelCmdline(cgroups: GuestCgroups): string {
  const base = 'console=ttyS0 quiet panic=-1';
  return cgroups === 'v2' ? `${base} cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1` : base;
}

/**
 * Only cgroup2 at /sys/fs/cgroup, its controllers enabled for children (what systemd does on a
 * unified host); each one on its own so that one the kernel lacks does not stop the others.
 */
const CGROUP2_MOUNT = `mount -t cgroup2 -o nsdelegate cgroup2 /host/sys/fs/cgroup || echo "cgroup2 mount failed"
for c in cpuset cpu io memory pids; do echo "+$c" > /host/sys/fs/cgroup/cgroup.subtree_control || echo "controller $c not enabled"; done
`;

/** The init of the guest's initramfs: modules, loopback, the host tree, then the guest's main. */
function initScript(modules: string[], main: string, args: string[], cgroups: GuestCgroups): string {
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
${cgroups === 'v2' ? CGROUP2_MOUNT : ''}mount -t devtmpfs devtmpfs /host/dev
mkdir -p /host/dev/pts
mount -t devpts -o newinstance,ptmxmode=0666 devpts /host/dev/pts
[ -e /host/dev/ptmx ] || ln -s pts/ptmx /host/dev/ptmx
mkdir -p /host/dev/shm
mount -t tmpfs -o mode=1777 shm /host/dev/shm
# Scratch space over /tmp and /run; the checkout stays visible even when it lives under them
# (CI may clone into /tmp).
mkdir -p /repo
mount -o bind /host${ROOT} /repo
mount -t tmpfs tmpfs /host/tmp
mount -t tmpfs tmpfs /host/run
mkdir -p /host${ROOT} 2>/dev/null
mount -o bind /repo /host${ROOT}
# The host tree becomes the root (switch_root moves it over /), not a chroot: CRIU refuses to
# dump a container's mount namespace when its own root is not its namespace's root.
cat > /host/tmp/stage2 <<'STAGE2'
#!/bin/busybox sh
/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TMPDIR=/tmp \\
  ${process.execPath} ${main} ${args.join(' ')}
echo "FERRY-GUEST-EXIT $?"
/bin/busybox poweroff -f
STAGE2
chmod 755 /host/tmp/stage2
exec switch_root /host /tmp/stage2
`;
}

async function buildInitramfs(dir: string, boot: GuestBoot): Promise<string> {
  const tree = path.join(dir, 'tree');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'modules', 'host'])
    await mkdir(path.join(tree, d), { recursive: true });
  await copyFile('/bin/busybox', path.join(tree, 'bin/busybox'));
  const order = (await readFile(path.join(GUEST, 'modules/order'), 'utf8')).split('\n').filter(Boolean);
  for (const m of order)
    await copyFile(path.join(GUEST, 'modules', `${m}.ko`), path.join(tree, 'modules', `${m}.ko`));
  await writeFile(path.join(tree, 'init'), initScript(order, boot.main, boot.args, boot.cgroups ?? 'none'));
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

/** What a guest boot runs: a script of dist/ (with its arguments), under which cgroup layout. */
export interface GuestBoot {
  main: string;
  args: string[];
  cgroups?: GuestCgroups;
  /** Prefix of the one JSON line the guest's main prints on the console. */
  reportMark: string;
  timeoutMs?: number;
  /** Where to keep the whole console (also when the guest printed no report). */
  consoleFile?: string;
}

/** Boots the guest, runs its main, returns its one-line JSON report (or throws with the console's tail). */
export async function bootGuest<R>(
  boot: GuestBoot,
): Promise<{ report: R; console: string; bootToReportMs: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-guest-'));
  try {
    const initrd = await buildInitramfs(dir, boot);
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
        kernelCmdline(boot.cgroups ?? 'none'),
        '-virtfs',
        'local,path=/,mount_tag=hostroot,security_model=none,readonly=on',
      ],
      { timeoutMs: boot.timeoutMs ?? 15 * 60_000 },
    );
    if (boot.consoleFile) await writeFile(boot.consoleFile, stdout);
    const line = stdout.split('\n').find((l) => l.includes(boot.reportMark));
    if (!line)
      throw new Error(
        `the guest printed no report; console tail:\n${stdout.split('\n').slice(-40).join('\n')}`,
      );
    const report = JSON.parse(line.slice(line.indexOf(boot.reportMark) + boot.reportMark.length).trim()) as R;
    return { report, console: stdout, bootToReportMs: Date.now() - started };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Boots the pre-copy proof guest (guest-main.ts) and returns its report. */
export function runPrecopyGuest(opts: { workloadMiB?: number; timeoutMs?: number } = {}): Promise<GuestRun> {
  return bootGuest<GuestReport>({
    main: path.join(ROOT, 'dist/precopy-proof/guest-main.js'),
    args: [GUEST_STATE, String(opts.workloadMiB ?? 32), path.join(ROOT, '.tools/bin')],
    reportMark: REPORT_MARK,
    timeoutMs: opts.timeoutMs,
  });
}

/** Boots the guest with only cgroup2 mounted and runs the cgroup v2 proof (cgroup-v2-main.ts). */
export function runCgroupV2Guest(
  opts: { timeoutMs?: number; consoleFile?: string } = {},
): Promise<{ report: CgroupGuestReport; console: string; bootToReportMs: number }> {
  return bootGuest<CgroupGuestReport>({
    main: path.join(ROOT, 'dist/precopy-proof/cgroup-v2-main.js'),
    args: ['/tmp/ferry-cgroup-guest', path.join(ROOT, '.tools/bin')],
    cgroups: 'v2',
    reportMark: CGROUP_REPORT_MARK,
    timeoutMs: opts.timeoutMs,
    consoleFile: opts.consoleFile,
  });
}
