import { mkdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorType } from '../domain/errors.js';
import type { WorkloadInfo } from '../domain/types.js';
import { ferryFailure } from '../domain/failures.js';
import { RUNC_CAPABILITIES } from './runc-capabilities.js';
import { CommandError, run } from '../exec/run.js';
import { explainCriuFailure } from '../criu/criu.js';
import { cgroupsPathFor, labelsFromAnnotations, ociConfig, withCgroupsPath } from './oci-config.js';
import { buildBusyboxRootfs } from './rootfs.js';
import { startUnderShim } from './shim.js';
import { readRestoreStats, runDump } from './criu-steps.js';
import type { PageServerAddress } from '../domain/page-server.js';
import { treeRssBytes } from '../host/procfs.js';
import type {
  CheckpointOptions,
  CheckpointOutcome,
  PreDumpFolders,
  RestoreOptions,
  RestoreOutcome,
  RuntimeContext,
  SpawnOptions,
  Unfit,
  WorkloadRuntime,
} from './runtime.js';
import { criuFlags } from './criu-options.js';
import { listDirNames, removeTree } from './workload-files.js';
import { unmountUnder } from './mounts.js';
import { killCgroupTasks, removeCgroupTree } from './cgroups.js';
import { hostCgroupLayout } from '../host/cgroup-layout.js';
import { directorySize } from '../host/disk-usage.js';
import { restoreTimeoutMs } from './criu-steps.js';
import { startLazyPagesDaemon, writeLazyAddressConfig } from '../criu/lazy.js';
import { startListening, startUntilReady } from '../criu/ready-command.js';
import { killCommands } from '../host/stale-commands.js';
import { shellLine } from '../exec/shell-line.js';
import { restoreScriptUnavailable, writeRestoreConfig } from '../criu/restore-config.js';
import { DEFAULT_RUNC_ROOT } from '../config/schema.js';
import type { CriuOptions, WorkloadNeeds } from '../domain/types.js';
import { handRestoreCommand } from './hand-restore.js';
import { missingHostPaths } from './needs.js';
import { pathExists, readJson, writeJsonAtomic } from './workload-files.js';
import {
  bindSources,
  bundleProblems,
  rootfsOf,
  stdioProblems,
  USER_BUNDLE_RECORD,
  type BundleConfig,
  type UserBundleRecord,
} from './runc-bundle.js';
import type { NameHolder } from './runtime.js';

/**
 * On cgroup v2 runc (1.1) moves CRIU into the container's new cgroup (the rewritten
 * cgroupsPath) but, unlike on v1, hands CRIU no cgroup root: CRIU then puts the tasks back into
 * the cgroup they were dumped in, the SOURCE host's path, creating it here. runc's RPC request
 * sets manage_cgroups, so a configured manage-cgroups=ignore is overridden; a cgroup root is
 * not: it is what runc passes on v1 (found in the cgroup v2 guest: docs/cgroups.md).
 */
async function cgroupRestoreConfig(cgroupsPath: string): Promise<string[]> {
  return (await hostCgroupLayout()) === 'v2' ? [`cgroup-root ${cgroupsPath}`] : [];
}

/** The source stays frozen serving pages at most this long; then CRIU is ended (and resumes it). */
const LAZY_DUMP_DEADLINE_S = 60 * 60;

interface RuncState {
  id: string;
  pid: number;
  status: string;
  bundle: string;
}

/** A bundle: where it is, and whether a user made it (ferry then never writes into it). */
interface Bundle {
  dir: string;
  user: boolean;
}

/**
 * runc containers in the runc root of the host's config (runc.root, runc's own /run/runc by
 * default). A container ferry started has its bundle (config.json + rootfs, including files the
 * container wrote) in its workload folder; one a user started with `runc run --bundle DIR`
 * keeps DIR (runc state says where), which is copied into the destination's workload folder
 * (src/runtimes/runc-bundle.ts). Restored containers run under ferry-shim: their stdout is a
 * pipe pumped into output.log, which runc restore re-attaches from descriptors.json.
 */
export class RuncRuntime implements WorkloadRuntime {
  readonly name = 'runc' as const;
  readonly capabilities = RUNC_CAPABILITIES;
  constructor(private readonly ctx: RuntimeContext) {}

  /** The bundle in ferry's own workload folder: containers ferry started, and every copy it restores. */
  private ferryBundle(name: string): string {
    return path.join(this.ctx.paths.workloadDir('runc', name), 'bundle');
  }
  private root(): string {
    return this.ctx.runc?.root ?? DEFAULT_RUNC_ROOT;
  }
  private runc(args: string[], opts: { logPath?: string; timeoutMs?: number } = {}) {
    return run('runc', ['--root', this.root(), ...args], { timeoutMs: 60_000, ...opts });
  }
  private userBundleRecord(name: string): string {
    return path.join(this.ctx.paths.workloadDir('runc', name), USER_BUNDLE_RECORD);
  }

  /**
   * The bundle this host runs the container from: runc's state while runc knows it; after its
   * dump (a rollback restores here) the record written before it; else ferry's folder.
   */
  private async bundleOf(name: string, st?: RuncState): Promise<Bundle> {
    const own = this.ferryBundle(name);
    if (st?.bundle) return { dir: st.bundle, user: path.resolve(st.bundle) !== own };
    const rec = await readJson<UserBundleRecord>(this.userBundleRecord(name));
    return rec?.host === this.ctx.host ? { dir: rec.bundle, user: true } : { dir: own, user: false };
  }

  /** Before a dump ends the container in runc's state: where its user's bundle is (not carried). */
  private async rememberBundle(name: string, st: RuncState): Promise<void> {
    const b = await this.bundleOf(name, st);
    if (b.user)
      await writeJsonAtomic(this.userBundleRecord(name), {
        host: this.ctx.host,
        bundle: b.dir,
      } satisfies UserBundleRecord);
  }

  private async bundleConfig(dir: string): Promise<BundleConfig | undefined> {
    const text = await readFile(path.join(dir, 'config.json'), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as BundleConfig);
  }

  /**
   * The user's bundle folder, when the container runs from one: the transfer copies it into the
   * destination's workload folder (`bundle/`), without touching it here.
   */
  async carriedBundle(name: string): Promise<string | undefined> {
    const b = await this.bundleOf(name, await this.state(name));
    return b.user ? b.dir : undefined;
  }

  async unavailableReason(): Promise<string | undefined> {
    try {
      await run('runc', ['--version'], { timeoutMs: 10_000 });
      await run('iptables-restore', ['--version'], { timeoutMs: 10_000 });
    } catch (err) {
      return `runc or iptables-restore is missing (${(err as Error).message}); install the Debian packages runc and iptables`;
    }
    return restoreScriptUnavailable();
  }

  private async state(name: string): Promise<RuncState | undefined> {
    try {
      const { stdout } = await this.runc(['state', name]);
      return JSON.parse(stdout) as RuncState;
    } catch (err) {
      if (err instanceof CommandError && /does not exist|not exist/.test(err.stderr)) return undefined;
      throw err;
    }
  }

  async list(): Promise<WorkloadInfo[]> {
    // Every container in the runc root (whoever started it), and the bundles ferry holds.
    const { stdout } = await this.runc(['list', '--format', 'json']);
    const known = ((JSON.parse(stdout || 'null') as { id: string }[] | null) ?? []).map((c) => c.id);
    const names = [...new Set([...known, ...(await listDirNames(this.ctx.paths.workloadsRoot('runc')))])];
    const infos = await Promise.all(names.map((n) => this.inspect(n)));
    return infos.filter((i): i is WorkloadInfo => i !== undefined);
  }

  async inspect(name: string): Promise<WorkloadInfo | undefined> {
    const st = await this.state(name);
    const config = await this.bundleConfig((await this.bundleOf(name, st)).dir);
    if (!st && !config) return undefined;
    const running = st?.status === 'running';
    const hostPaths = config ? bindSources(config) : [];
    return {
      name,
      runtime: 'runc',
      running,
      pid: running ? st?.pid : undefined,
      rssBytes: running && st ? await treeRssBytes(st.pid) : undefined,
      labels: labelsFromAnnotations(
        (config as { annotations?: Record<string, string> } | undefined)?.annotations,
      ),
      ...(hostPaths.length ? { needs: { hostPaths } } : {}),
    };
  }

  /** A container of that name in the runc root that ferry did not restore or start here. */
  async nameHolder(name: string): Promise<NameHolder | undefined> {
    const st = await this.state(name);
    if (!st || path.resolve(st.bundle) === this.ferryBundle(name)) return undefined;
    return {
      id: st.id,
      state: st.status,
      running: st.status === 'running' || st.status === 'paused',
      removeCommand: shellLine(['runc', '--root', this.root(), 'delete', '-f', name]),
    };
  }

  /** A stopped container is removed by the restore itself (runc delete -f, just before it). */
  allowReplacing(): Promise<void> {
    return Promise.resolve();
  }

  async spawn(name: string, opts: SpawnOptions): Promise<WorkloadInfo> {
    const bundle = this.ferryBundle(name);
    await mkdir(bundle, { recursive: true, mode: 0o700 });
    await buildBusyboxRootfs(path.join(bundle, 'rootfs'));
    const config = ociConfig({
      argv: opts.argv,
      hostname: name,
      cgroupsPath: cgroupsPathFor(this.ctx.paths.cgroupParent(this.ctx.host), name),
      labels: opts.labels,
    });
    await writeFile(path.join(bundle, 'config.json'), JSON.stringify(config, null, 2));
    return this.start(name);
  }

  async startFresh(name: string): Promise<WorkloadInfo> {
    await this.stop(name);
    return this.start(name);
  }

  /** Runs the container from its bundle under ferry-shim. */
  private async start(name: string): Promise<WorkloadInfo> {
    const bundle = (await this.bundleOf(name)).dir;
    const logPath = path.join(this.ctx.paths.workloadDir('runc', name), 'runc.log');
    await mkdir(path.dirname(logPath), { recursive: true, mode: 0o700 });
    await startUnderShim(
      this.ctx.paths.outputLog('runc', name),
      ['runc', '--root', this.root(), '--log', logPath, 'run', '-d', '-b', bundle, name],
      { wait: true, timeoutMs: 60_000, logPath },
    );
    const st = await this.state(name);
    return { name, runtime: 'runc', running: st?.status === 'running', pid: st?.pid };
  }

  output(name: string): Promise<string> {
    return readFile(this.ctx.paths.outputLog('runc', name), 'utf8').catch(() => '');
  }

  /**
   * Source, before any freeze: everything a restore of it needs, here (a rollback) and on the
   * destination (the copy of its bundle): the bundle, its config.json and rootfs, stdio CRIU can
   * dump. A missing bundle is its own refusal (BundleMissing), with the path and the fix.
   */
  async notMovable(name: string): Promise<string[]> {
    const st = await this.state(name);
    const bundle = await this.bundleOf(name, st);
    const configFile = path.join(bundle.dir, 'config.json');
    const config = await this.bundleConfig(bundle.dir);
    const started = `runc --root ${this.root()} run -d --bundle DIR ${name}`;
    if (!config)
      throw ferryFailure(
        ErrorType.BundleMissing,
        `the bundle of runc/${name} on ${this.ctx.host} is gone: ${configFile} does not exist (runc state says the bundle is ${bundle.dir}). ` +
          `A restore needs config.json and the rootfs there, on ${this.ctx.host} for a rollback and as the copy sent to the destination. ` +
          `Put the bundle back at ${bundle.dir}, or stop the container and start it again from a bundle that stays (${started}). Nothing was frozen: it runs on as before`,
      );
    const rootfs = rootfsOf(bundle.dir, config);
    if (!(await pathExists(rootfs)))
      throw ferryFailure(
        ErrorType.BundleMissing,
        `the root filesystem of runc/${name} on ${this.ctx.host} is gone: ${rootfs} (root.path of ${configFile}) does not exist. Put it back, or start the container again from a complete bundle. Nothing was frozen: it runs on as before`,
      );
    const problems = bundleProblems(bundle.dir, config);
    if (st?.pid) problems.push(...stdioProblems(await stdioOf(st.pid)));
    return problems;
  }

  /** Destination: the host paths its bundle bind-mounts (ferry does not copy them). */
  unfitFor(needs: WorkloadNeeds): Promise<Unfit[]> {
    return missingHostPaths(needs, this.ctx.host);
  }

  async checkpoint(
    name: string,
    migrationId: string,
    opts: CheckpointOptions = {},
  ): Promise<CheckpointOutcome> {
    const images = this.ctx.paths.imagesDir(migrationId);
    const work = this.ctx.paths.workDir(migrationId);
    return this.dump(name, 'runc checkpoint', { images, work, parent: opts.parent }, [
      ...(opts.pageServer ? this.pageServerArgs(opts.pageServer) : []),
      ...(opts.leaveRunning ? ['--leave-running'] : []),
      ...criuFlags(opts),
    ]);
  }

  async pause(name: string): Promise<string> {
    await this.runc(['pause', name]);
    return shellLine(['runc', '--root', this.root(), 'resume', name]);
  }

  pageServerArgs(server: PageServerAddress): string[] {
    return ['--page-server', `${server.address}:${server.port}`];
  }

  /** runc turns on memory tracking itself for --pre-dump and --parent-path (relative to the images). */
  async preDump(name: string, round: PreDumpFolders): Promise<CheckpointOutcome> {
    return this.dump(name, 'runc checkpoint --pre-dump', round, ['--pre-dump']);
  }

  private async dump(
    name: string,
    label: string,
    dirs: PreDumpFolders,
    extra: string[],
  ): Promise<CheckpointOutcome> {
    const st = await this.state(name);
    if (st?.status !== 'running')
      throw ferryFailure(
        ErrorType.WorkloadNotRunning,
        `runc container ${name} is not running on ${this.ctx.host}`,
      );
    await this.rememberBundle(name, st);
    return runDump(`${label} of ${name}`, dirs.work, (logPath) =>
      this.runc(
        [
          '--log',
          path.join(dirs.work, 'runc.log'),
          'checkpoint',
          ...extra,
          '--image-path',
          dirs.images,
          '--work-path',
          dirs.work,
          ...(dirs.parent ? ['--parent-path', dirs.parent] : []),
          name,
        ],
        { timeoutMs: 10 * 60_000, logPath },
      ),
    );
  }

  /**
   * Post-copy, source: freezes the container, dumps everything but its memory into the images
   * folder and keeps serving the memory from a lazy page server on address until the
   * destination has it all (then CRIU ends the frozen copy and runc forgets the container).
   * Resolves once the server listens; the command runs on detached (awaitLazyDump).
   */
  async startLazyCheckpoint(name: string, migrationId: string, address: string): Promise<PageServerAddress> {
    const st = await this.state(name);
    if (st?.status !== 'running')
      throw ferryFailure(
        ErrorType.WorkloadNotRunning,
        `runc container ${name} is not running on ${this.ctx.host}`,
      );
    await this.rememberBundle(name, st);
    const images = this.ctx.paths.imagesDir(migrationId);
    const work = this.ctx.paths.workDir(migrationId);
    const config = await writeLazyAddressConfig(work, address);
    const logPath = path.join(work, 'dump.log');
    return startListening(
      address,
      (port) =>
        startUntilReady(
          'runc',
          [
            '--root',
            this.root(),
            '--log',
            path.join(work, 'runc.log'),
            'checkpoint',
            '--lazy-pages',
            '--page-server',
            `${address}:${port}`,
            '--status-fd',
            '3',
            '--image-path',
            images,
            '--work-path',
            work,
            name,
          ],
          {
            deadlineS: LAZY_DUMP_DEADLINE_S,
            stderrFile: path.join(work, 'lazy-dump.stderr'),
            env: { CRIU_CONFIG_FILE: config },
          },
        ),
      `runc checkpoint --lazy-pages of ${name}`,
      () => `log: ${logPath}`,
    );
  }

  async restore(name: string, migrationId: string, opts: RestoreOptions = {}): Promise<RestoreOutcome> {
    // A rollback of a user's container restores from its own bundle, left as it is; every other
    // restore from ferry's copy, put in this host's cgroup parent.
    const { dir: bundle, user } = await this.bundleOf(name);
    if (!user) await this.intoCgroupParent(name, bundle);
    const images = this.ctx.paths.imagesDir(migrationId);
    const work = this.ctx.paths.workDir(migrationId);
    await mkdir(work, { recursive: true, mode: 0o700 });
    const logPath = path.join(work, 'restore.log');
    // A stopped container left by an earlier failed attempt blocks the id.
    const existing = await this.state(name);
    if (existing && existing.status !== 'running') await this.runc(['delete', '-f', name]);
    try {
      // lo up in the restored network namespace (runc restores it empty: src/criu/restore-config.ts).
      const criuConfig = await writeRestoreConfig(work, {
        extra: await cgroupRestoreConfig(cgroupsPathFor(this.ctx.paths.cgroupParent(this.ctx.host), name)),
      });
      // Post-copy: the daemon that fills the restored memory from the source must listen first.
      if (opts.lazyPagesFrom) await startLazyPagesDaemon(opts.lazyPagesFrom, images, work);
      await startUnderShim(
        this.ctx.paths.outputLog('runc', name),
        this.restoreArgv(name, migrationId, bundle, 'runc-restore.log', opts),
        {
          wait: true,
          timeoutMs: restoreTimeoutMs(await directorySize(images)),
          logPath,
          env: criuConfig.configFileEnv,
        },
      );
    } catch (err) {
      if (opts.lazyPagesFrom) await killCommands(images);
      await this.cleanUpFailedRestore(name, work);
      throw ferryFailure(
        ErrorType.RestoreFailed,
        `runc restore of ${name} failed: ${await explainCriuFailure(err, logPath)}`,
      );
    }
    const st = await this.state(name);
    const stats = await readRestoreStats(work);
    return { pid: st?.pid, stats, logPath };
  }

  /** `runc restore` of the migration's images from bundle; runc's own log in the work folder. */
  private restoreArgv(
    name: string,
    migrationId: string,
    bundle: string,
    runcLog: string,
    opts: RestoreOptions,
  ): string[] {
    const work = this.ctx.paths.workDir(migrationId);
    return [
      'runc',
      '--root',
      this.root(),
      '--log',
      path.join(work, runcLog),
      'restore',
      '-d',
      ...(opts.lazyPagesFrom ? ['--lazy-pages'] : []),
      '--image-path',
      this.ctx.paths.imagesDir(migrationId),
      '--work-path',
      work,
      '-b',
      bundle,
      ...criuFlags(opts),
      name,
    ];
  }

  private async intoCgroupParent(name: string, bundle: string): Promise<void> {
    const configFile = path.join(bundle, 'config.json');
    const text = await readFile(configFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw ferryFailure(
        ErrorType.RestoreFailed,
        `runc restore of ${name} on ${this.ctx.host} cannot start: its bundle's ${configFile} cannot be read (${err.code ?? err.message})`,
      );
    });
    const config = JSON.parse(text) as Record<string, unknown>;
    const parent = cgroupsPathFor(this.ctx.paths.cgroupParent(this.ctx.host), name);
    await writeFile(configFile, JSON.stringify(withCgroupsPath(config, parent), null, 2));
  }

  /** What ferry's restore runs here, as a line to paste (its CRIU configuration written now). */
  async handRestoreCommand(
    name: string,
    migrationId: string,
    opts: CriuOptions = {},
  ): Promise<string | undefined> {
    const { dir: bundle, user } = await this.bundleOf(name);
    if (!user) await this.intoCgroupParent(name, bundle).catch(() => undefined);
    const work = this.ctx.paths.workDir(migrationId);
    await mkdir(work, { recursive: true, mode: 0o700 });
    const criuConfig = await writeRestoreConfig(work, {
      extra: await cgroupRestoreConfig(cgroupsPathFor(this.ctx.paths.cgroupParent(this.ctx.host), name)),
    });
    return handRestoreCommand({
      argv: this.restoreArgv(name, migrationId, bundle, 'runc-restore-by-hand.log', opts),
      outputLog: this.ctx.paths.outputLog('runc', name),
      commandLog: path.join(work, 'restore-by-hand.log'),
      env: criuConfig.configFileEnv,
    });
  }

  /**
   * runc leaves its criu-root bind mount and CRIU its cgroup yard when a restore fails, and the
   * container's cgroup, which runc made for CRIU before the restore, when runc never recorded
   * the container (found on cgroup v2: docs/cgroups.md).
   */
  private async cleanUpFailedRestore(name: string, work: string): Promise<void> {
    const cgroup = cgroupsPathFor(this.ctx.paths.cgroupParent(this.ctx.host), name);
    await killCgroupTasks(cgroup);
    await this.runc(['delete', '-f', name]).catch(() => undefined);
    await unmountUnder(work);
    await removeTree(path.join(this.root(), name));
    await removeCgroupTree(cgroup);
  }

  async stop(name: string): Promise<void> {
    const st = await this.state(name);
    if (!st) {
      // A container runc no longer knows may still have left its state folder (and mounts).
      await removeTree(path.join(this.root(), name));
      return;
    }
    if (st.status === 'running' || st.status === 'paused') {
      await this.runc(['kill', name, 'KILL']).catch(() => undefined);
    }
    await this.runc(['delete', '-f', name]).catch(async (err) => {
      // e.g. a half-restored container whose state runc cannot load: remove it by hand.
      await removeTree(path.join(this.root(), name));
      if ((await this.state(name))?.status === 'running') throw err;
    });
  }

  async removeFiles(name: string): Promise<void> {
    await removeTree(this.ctx.paths.workloadDir('runc', name));
  }
}

/** The stdio of a process as the source sees it: what each of fds 0-2 points at. */
async function stdioOf(pid: number): Promise<{ fd: number; target: string; outside: boolean }[]> {
  const fds = await Promise.all(
    [0, 1, 2].map(async (fd) => {
      const link = `/proc/${pid}/fd/${fd}`;
      const target = await readlink(link).catch(() => undefined);
      if (target === undefined) return undefined;
      const file = await stat(link).catch(() => undefined);
      // A file the container sees in its own mounts is one CRIU can dump: the same inode at that
      // path below its root. A file of the host's (stdout >> /var/log/x) is not there.
      const seen = file?.isFile()
        ? await stat(`/proc/${pid}/root${target}`).catch(() => undefined)
        : undefined;
      const outside = !!file?.isFile() && !(seen && seen.ino === file.ino && seen.dev === file.dev);
      return { fd, target, outside };
    }),
  );
  return fds.filter((f): f is { fd: number; target: string; outside: boolean } => f !== undefined);
}
