import { mkdir, readFile, writeFile } from 'node:fs/promises';
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

/**
 * runc containers. Each host has its own runc root (paths.runcRoot()). A workload's bundle
 * (config.json + rootfs, including files the container wrote) lives in its workload folder
 * and travels with it; its stdio is a pipe pumped into output.log by ferry-shim, which runc
 * restore re-attaches from descriptors.json.
 */
export class RuncRuntime implements WorkloadRuntime {
  readonly name = 'runc' as const;
  readonly capabilities = RUNC_CAPABILITIES;
  constructor(private readonly ctx: RuntimeContext) {}

  private bundle(name: string): string {
    return path.join(this.ctx.paths.workloadDir('runc', name), 'bundle');
  }
  private runc(args: string[], opts: { logPath?: string; timeoutMs?: number } = {}) {
    return run('runc', ['--root', this.ctx.paths.runcRoot(), ...args], { timeoutMs: 60_000, ...opts });
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
    // Workloads are the bundles this host holds; runc state says whether each runs.
    const names = await listDirNames(this.ctx.paths.workloadsRoot('runc'));
    const infos = await Promise.all(names.map((n) => this.inspect(n)));
    return infos.filter((i): i is WorkloadInfo => i !== undefined);
  }

  async inspect(name: string): Promise<WorkloadInfo | undefined> {
    const st = await this.state(name);
    const hasBundle = await readFile(path.join(this.bundle(name), 'config.json')).then(
      () => true,
      () => false,
    );
    if (!st && !hasBundle) return undefined;
    const running = st?.status === 'running';
    return {
      name,
      runtime: 'runc',
      running,
      pid: running ? st?.pid : undefined,
      rssBytes: running && st ? await treeRssBytes(st.pid) : undefined,
      labels: await this.labels(name),
    };
  }

  private async labels(name: string): Promise<Record<string, string> | undefined> {
    const config = await readFile(path.join(this.bundle(name), 'config.json'), 'utf8').catch(() => undefined);
    return config
      ? labelsFromAnnotations((JSON.parse(config) as { annotations?: Record<string, string> }).annotations)
      : undefined;
  }

  async spawn(name: string, opts: SpawnOptions): Promise<WorkloadInfo> {
    const bundle = this.bundle(name);
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
    const bundle = this.bundle(name);
    const logPath = path.join(this.ctx.paths.workloadDir('runc', name), 'runc.log');
    await startUnderShim(
      this.ctx.paths.outputLog('runc', name),
      ['runc', '--root', this.ctx.paths.runcRoot(), '--log', logPath, 'run', '-d', '-b', bundle, name],
      { wait: true, timeoutMs: 60_000, logPath },
    );
    const st = await this.state(name);
    return { name, runtime: 'runc', running: st?.status === 'running', pid: st?.pid };
  }

  output(name: string): Promise<string> {
    return readFile(this.ctx.paths.outputLog('runc', name), 'utf8').catch(() => '');
  }

  /** Everything it uses lives in its workload folder, which travels. */
  notMovable(): Promise<string[]> {
    return Promise.resolve([]);
  }

  unfitFor(): Promise<Unfit[]> {
    return Promise.resolve([]);
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
    return shellLine(['runc', '--root', this.ctx.paths.runcRoot(), 'resume', name]);
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
            this.ctx.paths.runcRoot(),
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
    const bundle = this.bundle(name);
    const configFile = path.join(bundle, 'config.json');
    const config = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
    await writeFile(
      configFile,
      JSON.stringify(
        withCgroupsPath(config, cgroupsPathFor(this.ctx.paths.cgroupParent(this.ctx.host), name)),
        null,
        2,
      ),
    );
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
        [
          'runc',
          '--root',
          this.ctx.paths.runcRoot(),
          '--log',
          path.join(work, 'runc-restore.log'),
          'restore',
          '-d',
          ...(opts.lazyPagesFrom ? ['--lazy-pages'] : []),
          '--image-path',
          images,
          '--work-path',
          work,
          '-b',
          bundle,
          ...criuFlags(opts),
          name,
        ],
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
    await removeTree(path.join(this.ctx.paths.runcRoot(), name));
    await removeCgroupTree(cgroup);
  }

  async stop(name: string): Promise<void> {
    const st = await this.state(name);
    if (!st) {
      // A container runc no longer knows may still have left its state folder (and mounts).
      await removeTree(path.join(this.ctx.paths.runcRoot(), name));
      return;
    }
    if (st.status === 'running' || st.status === 'paused') {
      await this.runc(['kill', name, 'KILL']).catch(() => undefined);
    }
    await this.runc(['delete', '-f', name]).catch(async (err) => {
      // e.g. a half-restored container whose state runc cannot load: remove it by hand.
      await removeTree(path.join(this.ctx.paths.runcRoot(), name));
      if ((await this.state(name))?.status === 'running') throw err;
    });
  }

  async removeFiles(name: string): Promise<void> {
    await removeTree(this.ctx.paths.workloadDir('runc', name));
  }
}
