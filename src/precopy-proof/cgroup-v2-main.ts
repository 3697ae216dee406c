// Runs inside the proof guest booted with only cgroup2 at /sys/fs/cgroup (run-guest.ts,
// docs/cgroups.md). For each of the process, runc and podman runtimes, ferry's own adapters and
// activities spawn a ferry-stateful workload on one simulated host, checkpoint it, ship it with
// rsync to a second host folder and restore it there; the counter must go on. Then a restore
// from images with their memory removed must fail and leave no cgroup behind. One JSON line.
import { mkdir, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createHostActivities } from '../activities/index.js';
import { HostContext } from '../activities/host-context.js';
import { configSchema } from '../config/schema.js';
import { criuVersionChecked } from '../criu/criu.js';
import { describeCause } from '../domain/failures.js';
import { analyseContinuity, parseStatefulOutput } from '../domain/output-analysis.js';
import { run } from '../exec/run.js';
import { hostCgroupLayout } from '../host/cgroup-layout.js';
import { DEV_IMAGE_REF } from '../runtimes/dev-image.js';
import type { PodmanRuntime } from '../runtimes/podman-runtime.js';
import { buildBusyboxRootfs } from '../runtimes/rootfs.js';
import {
  CGROUP_REPORT_MARK,
  PROVED_RUNTIMES,
  type CgroupGuestReport,
  type RuntimeProof,
} from './cgroup-v2-report.js';

type Proved = (typeof PROVED_RUNTIMES)[number];
type Acts = ReturnType<typeof createHostActivities>;
const CGROUP_ROOT = '/sys/fs/cgroup';
const started = Date.now();
/** Progress on the guest's console, to read when a step hangs. */
const say = (what: string) => process.stderr.write(`[cgroup-v2 +${Date.now() - started} ms] ${what}\n`);

async function main(): Promise<void> {
  const root = process.argv[2] ?? '/tmp/ferry-cgroup-guest';
  const tools = process.argv[3] ?? '/nonexistent';
  process.env.PATH = `${tools}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
  // vfs: the guest kernel loads no overlay module; the cgroup paths are the same either way.
  const storageConf = path.join(root, 'storage.conf');
  await mkdir(root, { recursive: true });
  await writeFile(
    storageConf,
    `[storage]\ndriver = "vfs"\nrunroot = "/run/ferry/storage"\ngraphroot = "${root}/storage"\n`,
  );
  process.env.CONTAINERS_STORAGE_CONF = storageConf;
  const host = async (name: string) => {
    const dir = path.join(root, name);
    const containersConf = path.join(dir, 'containers.conf');
    await mkdir(path.join(dir, 'podman-tmp'), { recursive: true });
    await writeFile(containersConf, podmanConf(path.join(dir, 'podman-tmp')));
    return {
      name,
      ssh: { address: '127.0.0.1', port: 22, user: 'root' },
      stateDir: path.join(dir, 'state'),
      // Each simulated host its own runc root, as ferry dev gives them: both share one kernel.
      runc: { root: path.join(dir, 'state', 'runc') },
      runtimes: [...PROVED_RUNTIMES],
      podman: { root: path.join(dir, 'podman-root'), runroot: `/run/ferry/p-${name}`, containersConf },
    };
  };
  const config = configSchema.parse({
    transfer: { identityFile: '/nonexistent/key', knownHostsFile: '/nonexistent/known_hosts' },
    hosts: [await host('guest-a'), await host('guest-b')],
  });
  const [a, b] = config.hosts.map((h) => new HostContext(config, h)) as [HostContext, HostContext];
  const report: CgroupGuestReport = {
    kernel: (await readFile('/proc/sys/kernel/osrelease', 'utf8')).trim(),
    layout: await hostCgroupLayout(),
    subtreeControl: (await readFile(path.join(CGROUP_ROOT, 'cgroup.subtree_control'), 'utf8')).trim(),
    criuVersion: await criuVersionChecked(),
    runtimes: {},
  };
  const proof = new Proof(a, b, root, tools);
  for (const rt of PROVED_RUNTIMES) report.runtimes[rt] = await proof.prove(rt);
  print(report);
}

/** The dev environment's podman settings (src/dev/container-engines.ts), without its network. */
function podmanConf(tmpDir: string): string {
  return [
    '[containers]',
    'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
    '[engine]',
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `tmp_dir = "${tmpDir}"`,
    '',
  ].join('\n');
}

class Proof {
  private readonly src: Acts;
  private readonly dst: Acts;
  constructor(
    private readonly a: HostContext,
    private readonly b: HostContext,
    private readonly root: string,
    private readonly tools: string,
  ) {
    this.src = createHostActivities(a);
    this.dst = createHostActivities(b);
  }

  async prove(runtime: Proved): Promise<RuntimeProof> {
    const proof: RuntimeProof = { ok: false };
    try {
      say(`${runtime}: start`);
      if (runtime === 'podman') await this.importImage();
      await this.migrate(runtime, proof);
      await this.failedRestore(runtime, proof);
      proof.ok = !proof.why;
    } catch (err) {
      const message = describeCause(err).message;
      proof.why ??= oneLine(message);
      say(`${runtime}: ${proof.why}`);
      await logTail(message);
    }
    return proof;
  }

  /** spawn on a, checkpoint, rsync, restore on b, counter continues; removed on both. */
  private async migrate(runtime: Proved, proof: RuntimeProof): Promise<void> {
    const workload = `counter-${runtime}`;
    const ref = { workload, runtime };
    const step = { ...ref, migrationId: `cg2-${runtime}` };
    say(`${runtime}: spawn ${workload}`);
    await this.spawn(runtime, workload);
    const sourceInfo = await this.a.runtime(runtime).inspect(workload);
    proof.sourceCgroup = await cgroupOf(sourceInfo?.pid);
    await waitForLines(() => this.a.runtime(runtime).output(workload), 5);
    await this.src.preflightSource({ ...ref, checkpointable: {} });
    const facts = await this.dst.preflightDestination(step);
    proof.destinationLayout = facts.cgroupLayout;
    say(`${runtime}: checkpoint`);
    const dump = await this.src.checkpoint(step);
    proof.checkpointMs = dump.durationMs;
    await this.ship(runtime, workload, step.migrationId);
    say(`${runtime}: restore`);
    const restored = await this.dst.restore(step);
    proof.restoreMs = restored.durationMs;
    proof.restoredCgroup = await cgroupOf(restored.pid);
    const out = () => this.b.runtime(runtime).output(workload);
    const before = parseStatefulOutput(await out()).length;
    await waitForLines(out, before + 5);
    say(`${runtime}: verify`);
    await this.dst.verify({ ...ref, windowMs: 1_000 });
    proof.continuity = analyseContinuity(parseStatefulOutput(await out()));
    await this.dst.removeWorkload(ref);
    await this.src.removeWorkload(ref);
    await this.src.cleanupMigration({ ...step, removeWorkloadFiles: true, keepImages: false });
    await this.dst.cleanupMigration({ ...step, removeWorkloadFiles: false, keepImages: false });
    const c = proof.continuity;
    if (c.restarts !== 0 || c.counterBreaks !== 0 || c.distinctChecksums !== 1)
      proof.why = `the restored workload did not continue: ${JSON.stringify(c)}`;
  }

  /** The memory of a shipped checkpoint removed: the restore fails and leaves no cgroup. */
  private async failedRestore(runtime: Proved, proof: RuntimeProof): Promise<void> {
    const workload = `broken-${runtime}`;
    const ref = { workload, runtime };
    const step = { ...ref, migrationId: `cg2-broken-${runtime}` };
    await this.spawn(runtime, workload);
    await waitForLines(() => this.a.runtime(runtime).output(workload), 3);
    await this.dst.preflightDestination(step);
    await this.src.checkpoint(step);
    await this.ship(runtime, workload, step.migrationId);
    say(`${runtime}: restore without memory`);
    await this.dropMemory(runtime, this.b.paths.imagesDir(step.migrationId));
    const before = await cgroupTree();
    const refused = await this.dst.restore(step).then(
      () => undefined,
      (err: unknown) => describeCause(err),
    );
    const left = (await cgroupTree()).filter((d) => !before.includes(d));
    proof.failedRestore = {
      refused: refused ? oneLine(`${refused.type}: ${refused.message}`) : undefined,
      left,
    };
    const running = (await this.b.runtime(runtime).inspect(workload))?.running ?? false;
    await this.dst.removeWorkload(ref);
    await this.src.removeWorkload(ref);
    if (!refused) proof.why ??= 'the restore from images without their memory succeeded';
    else if (running) proof.why ??= 'the failed restore left the workload running';
    else if (left.length) proof.why ??= `the failed restore left cgroups behind: ${left.join(', ')}`;
  }

  /** The dev image (busybox + ferry-stateful) in both hosts' podman: no registry here either. */
  private async importImage(): Promise<void> {
    const image = path.join(this.root, 'image.tar');
    await buildBusyboxRootfs(path.join(this.root, 'image-rootfs'));
    await run('tar', ['-C', path.join(this.root, 'image-rootfs'), '-cf', image, '.']);
    for (const h of [this.a, this.b])
      await (h.runtime('podman') as PodmanRuntime).cli(['import', '--quiet', image, DEV_IMAGE_REF], {
        timeoutMs: 300_000,
      });
  }

  private async spawn(runtime: Proved, workload: string): Promise<void> {
    const argv = runtime === 'process' ? [path.join(this.tools, 'ferry-stateful')] : ['/bin/ferry-stateful'];
    await this.a.runtime(runtime).spawn(workload, { argv: [...argv, '8', '100', '0'] });
  }

  /** What the transfer activity sends (over SSH on real hosts): images and the workload folder. */
  private async ship(runtime: Proved, workload: string, migrationId: string): Promise<void> {
    const rel = (p: string) => path.relative(this.a.paths.stateDir, p);
    await mkdir(this.b.paths.stateDir, { recursive: true, mode: 0o700 });
    const paths = [rel(this.a.paths.imagesDir(migrationId))];
    const dir = this.a.paths.workloadDir(runtime, workload);
    if (
      await readdir(dir).then(
        () => true,
        () => false,
      )
    )
      paths.push(rel(dir));
    await run('rsync', [
      '-a',
      '--relative',
      ...paths.map((p) => `${this.a.paths.stateDir}/./${p}`),
      `${this.b.paths.stateDir}/`,
    ]);
  }

  /** CRIU's page images of a checkpoint removed (podman's are inside its uncompressed archive). */
  private async dropMemory(runtime: Proved, images: string): Promise<void> {
    if (runtime === 'podman') {
      // Unpacked and packed again (GNU tar --delete left a header podman could not read).
      const archive = path.join(images, 'podman-checkpoint.tar');
      const dir = path.join(images, 'unpacked');
      await mkdir(dir);
      await run('tar', ['-xf', archive, '-C', dir]);
      const pages = (await readdir(path.join(dir, 'checkpoint'))).filter((f) => /^pages-\d+\.img$/.test(f));
      for (const f of pages) await unlink(path.join(dir, 'checkpoint', f));
      await run('tar', ['-cf', archive, '-C', dir, ...(await readdir(dir))]);
      await rm(dir, { recursive: true, force: true });
      return;
    }
    for (const f of await readdir(images)) if (/^pages-\d+\.img$/.test(f)) await unlink(path.join(images, f));
  }
}

/** The unified hierarchy's line of /proc/PID/cgroup ("0::/path"). */
async function cgroupOf(pid: number | undefined): Promise<string | undefined> {
  if (!pid) return undefined;
  const text = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
  return text
    .split('\n')
    .find((l) => l.startsWith('0::'))
    ?.slice(3);
}

/** Every cgroup under /sys/fs/cgroup, as paths below it. */
async function cgroupTree(dir = CGROUP_ROOT): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => []))
    if (e.isDirectory()) {
      const p = path.join(dir, e.name);
      out.push(p.slice(CGROUP_ROOT.length), ...(await cgroupTree(p)));
    }
  return out;
}

/** The end of the CRIU log a failure names, onto the console (the guest's files go with it). */
async function logTail(message: string): Promise<void> {
  const log = /CRIU log: (\S+)/.exec(message)?.[1];
  const text = log ? await readFile(log, 'utf8').catch(() => '') : '';
  if (text) process.stderr.write(`--- ${log}\n${text.split('\n').slice(-40).join('\n')}\n---\n`);
}

async function waitForLines(text: () => Promise<string>, count: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (parseStatefulOutput(await text()).length >= count) return;
    await sleep(100);
  }
  throw new Error(`the workload's output did not reach ${count} lines`);
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').slice(0, 600);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function print(report: CgroupGuestReport): void {
  process.stdout.write(`\n${CGROUP_REPORT_MARK}${JSON.stringify(report)}\n`);
}

main().catch((err: unknown) => {
  process.stdout.write(
    `\n${CGROUP_REPORT_MARK}${JSON.stringify({ error: err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err) })}\n`,
  );
  process.exitCode = 1;
});
