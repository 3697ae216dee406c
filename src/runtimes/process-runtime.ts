import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorType } from '../domain/errors.js';
import type { WorkloadInfo } from '../domain/types.js';
import { ferryFailure } from '../domain/failures.js';
import { PROCESS_CAPABILITIES } from './process-capabilities.js';
import { run } from '../exec/run.js';
import { explainCriuFailure } from '../criu/criu.js';
import { isPidBusy } from '../criu/log.js';
import { startUnderShim } from './shim.js';
import { readRestoreStats, restoreTimeoutMs, runDump } from './criu-steps.js';
import { directorySize } from '../host/disk-usage.js';
import { fdTarget, isAlive, processStartTime, treeRssBytes } from '../host/procfs.js';
import type {
  CheckpointOptions,
  CheckpointOutcome,
  PreDumpFolders,
  RestoreOutcome,
  RuntimeContext,
  SpawnOptions,
  Unfit,
  WorkloadRuntime,
} from './runtime.js';
import { criuFlags } from './criu-options.js';
import type { CriuOptions } from '../domain/types.js';
import type { PageServerAddress } from '../domain/page-server.js';
import { listDirNames, readJson, removeTree, writeJsonAtomic } from './workload-files.js';

interface ProcessMeta {
  name: string;
  /** The host whose pid this is: the record travels with the workload's files. */
  host: string;
  labels?: Record<string, string>;
  argv: string[];
  pid: number;
  startTime: number;
  createdAt: string;
}

/** The stdio pipe of the dumped tree, recorded so restore can attach a new one in its place. */
interface StdioRecord {
  stdoutPipe?: string;
}

/**
 * Plain process trees, dumped and restored with the criu CLI.
 * Requirements (docs/runtimes.md): files the tree holds open must exist at the same paths and
 * sizes on the destination; the tree's PIDs must be free there (retried when briefly taken);
 * its stdout/stderr are a pipe pumped into the workload's output.log by ferry-shim.
 */
export class ProcessRuntime implements WorkloadRuntime {
  readonly name = 'process' as const;
  readonly capabilities = PROCESS_CAPABILITIES;
  constructor(private readonly ctx: RuntimeContext) {}

  private dir(name: string): string {
    return this.ctx.paths.workloadDir('process', name);
  }
  private metaFile(name: string): string {
    return path.join(this.dir(name), 'workload.json');
  }

  async unavailableReason(): Promise<string | undefined> {
    return undefined; // needs only criu, which preflight checks for every runtime
  }

  async list(): Promise<WorkloadInfo[]> {
    const names = await listDirNames(this.ctx.paths.workloadsRoot('process'));
    const infos = await Promise.all(names.map((n) => this.inspect(n)));
    return infos.filter((i): i is WorkloadInfo => i !== undefined);
  }

  /** Alive here: a pid recorded on another host (the record came with the files) is not ours. */
  private async aliveHere(meta: ProcessMeta | undefined): Promise<boolean> {
    return !!meta && meta.host === this.ctx.host && (await isAlive(meta.pid, meta.startTime));
  }

  async inspect(name: string): Promise<WorkloadInfo | undefined> {
    const meta = await readJson<ProcessMeta>(this.metaFile(name));
    if (!meta) return undefined;
    const running = await this.aliveHere(meta);
    return {
      name,
      runtime: 'process',
      running,
      pid: running ? meta.pid : undefined,
      rssBytes: running ? await treeRssBytes(meta.pid) : undefined,
      labels: meta.labels,
    };
  }

  async spawn(name: string, opts: SpawnOptions): Promise<WorkloadInfo> {
    await mkdir(this.dir(name), { recursive: true, mode: 0o700 });
    const started = await startUnderShim(this.ctx.paths.outputLog('process', name), opts.argv, {
      wait: false,
      timeoutMs: 30_000,
    });
    await this.recordPid(name, opts.argv, started.childPid, opts.labels);
    return { name, runtime: 'process', running: true, pid: started.childPid };
  }

  private async recordPid(
    name: string,
    argv: string[],
    pid: number,
    labels?: Record<string, string>,
  ): Promise<void> {
    const startTime = await processStartTime(pid);
    if (startTime === undefined) throw new Error(`workload ${name} (pid ${pid}) exited right after start`);
    const meta: ProcessMeta = {
      name,
      host: this.ctx.host,
      argv,
      pid,
      startTime,
      labels,
      createdAt: new Date().toISOString(),
    };
    await writeJsonAtomic(this.metaFile(name), meta);
  }

  async startFresh(name: string): Promise<WorkloadInfo> {
    const meta = await readJson<ProcessMeta>(this.metaFile(name));
    if (!meta)
      throw ferryFailure(
        ErrorType.WorkloadNotFound,
        `no recorded command line for process workload ${name} on ${this.ctx.host}`,
      );
    await this.stop(name);
    return this.spawn(name, { argv: meta.argv, labels: meta.labels });
  }

  output(name: string): Promise<string> {
    return readFile(this.ctx.paths.outputLog('process', name), 'utf8').catch(() => '');
  }

  /** Everything it uses lives in its workload folder, which travels. */
  notMovable(): Promise<string[]> {
    return Promise.resolve([]);
  }

  unfitFor(): Promise<Unfit[]> {
    return Promise.resolve([]);
  }

  private async runningMeta(name: string): Promise<ProcessMeta> {
    const meta = await readJson<ProcessMeta>(this.metaFile(name));
    if (!meta || !(await this.aliveHere(meta)))
      throw ferryFailure(
        ErrorType.WorkloadNotRunning,
        `process workload ${name} is not running on ${this.ctx.host}`,
      );
    return meta;
  }

  async preDump(name: string, round: PreDumpFolders): Promise<CheckpointOutcome> {
    const meta = await this.runningMeta(name);
    return runDump(`criu pre-dump of ${name}`, round.work, (logPath) =>
      run(
        'criu',
        [
          'pre-dump',
          '-t',
          String(meta.pid),
          '-D',
          round.images,
          '-W',
          round.work,
          '-o',
          'dump.log',
          '-v4',
          ...trackMemArgs(round.parent),
        ],
        { timeoutMs: 10 * 60_000, logPath },
      ),
    );
  }

  async checkpoint(
    name: string,
    migrationId: string,
    opts: CheckpointOptions = {},
  ): Promise<CheckpointOutcome> {
    const meta = await this.runningMeta(name);
    const images = this.ctx.paths.imagesDir(migrationId);
    const work = this.ctx.paths.workDir(migrationId);
    const stdio: StdioRecord = { stdoutPipe: await fdTarget(meta.pid, 1) };
    await writeJsonAtomic(path.join(images, 'ferry-stdio.json'), stdio);
    return runDump(`criu dump of ${name}`, work, (logPath) =>
      run(
        'criu',
        [
          'dump',
          '-t',
          String(meta.pid),
          '-D',
          images,
          '-W',
          work,
          '-o',
          'dump.log',
          '-v4',
          ...(opts.pageServer ? this.pageServerArgs(opts.pageServer) : []),
          ...(opts.parent ? trackMemArgs(opts.parent) : []),
          ...criuFlags(opts),
        ],
        { timeoutMs: 10 * 60_000, logPath },
      ),
    );
  }

  pageServerArgs(server: PageServerAddress): string[] {
    return ['--page-server', '--address', server.address, '--port', String(server.port)];
  }

  async restore(name: string, migrationId: string, opts: CriuOptions = {}): Promise<RestoreOutcome> {
    const meta = await readJson<ProcessMeta>(this.metaFile(name));
    if (!meta)
      throw ferryFailure(
        ErrorType.RestoreFailed,
        `no metadata for process workload ${name} on ${this.ctx.host}`,
      );
    const images = this.ctx.paths.imagesDir(migrationId);
    const work = this.ctx.paths.workDir(migrationId);
    await mkdir(work, { recursive: true, mode: 0o700 });
    const stdio = (await readJson<StdioRecord>(path.join(images, 'ferry-stdio.json'))) ?? {};
    const pidFile = path.join(work, 'restored.pid');
    const logPath = path.join(work, 'restore.log');
    const args = [
      'restore',
      '-D',
      images,
      '-W',
      work,
      '-o',
      'restore.log',
      '-v4',
      '-d',
      '--pidfile',
      pidFile,
      ...criuFlags(opts),
    ];
    if (stdio.stdoutPipe?.startsWith('pipe:')) args.push('--inherit-fd', `fd[1]:${stdio.stdoutPipe}`);
    // Right after a dump the old PIDs can be held for a moment (the killed tree is not yet
    // reaped): retry quickly here rather than wait for an activity retry.
    for (let attempt = 1; ; attempt++) {
      try {
        await startUnderShim(this.ctx.paths.outputLog('process', name), ['criu', ...args], {
          wait: true,
          timeoutMs: restoreTimeoutMs(await directorySize(images)),
          logPath,
        });
        break;
      } catch (err) {
        const log = await readFile(logPath, 'utf8').catch(() => '');
        if (isPidBusy(log) && attempt < PID_BUSY_ATTEMPTS) {
          await sleep(PID_BUSY_DELAY_MS);
          continue;
        }
        const message = `criu restore of ${name} failed: ${await explainCriuFailure(err, logPath)}`;
        throw ferryFailure(isPidBusy(log) ? ErrorType.RestorePidBusy : ErrorType.RestoreFailed, message);
      }
    }
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    await this.recordPid(name, meta.argv, pid, meta.labels);
    const stats = await readRestoreStats(work);
    return { pid, stats, logPath };
  }

  async stop(name: string): Promise<void> {
    const meta = await readJson<ProcessMeta>(this.metaFile(name));
    if (!meta || !(await this.aliveHere(meta))) return;
    // The workload leads its own session: signal the whole process group it started.
    try {
      process.kill(-meta.pid, 'SIGKILL');
    } catch {
      process.kill(meta.pid, 'SIGKILL');
    }
    for (let i = 0; i < 50 && (await isAlive(meta.pid, meta.startTime)); i++) await sleep(100);
  }

  async removeFiles(name: string): Promise<void> {
    await removeTree(this.dir(name));
  }
}

/** Soft-dirty tracking from the first round on; later dumps write only what changed since `parent`. */
function trackMemArgs(parent: string | undefined): string[] {
  return ['--track-mem', ...(parent ? ['--prev-images-dir', parent] : [])];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PID_BUSY_ATTEMPTS = 40;
const PID_BUSY_DELAY_MS = 50;
