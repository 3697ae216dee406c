import { mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { shellLine } from '../exec/shell-line.js';
import { handRestoreCommand } from './hand-restore.js';
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
import { hostCgroupLayout } from '../host/cgroup-layout.js';
import type { CgroupLayout } from '../domain/cgroup-layout.js';
import { criuFlags } from './criu-options.js';
import type { AdoptTarget, CriuOptions, WorkloadNeeds } from '../domain/types.js';
import type { PageServerAddress } from '../domain/page-server.js';
import { listDirNames, readJson, removeTree, writeJsonAtomic } from './workload-files.js';
import { resolveAdoptTarget } from './adopt-target.js';
import {
  adoptionProblems,
  filesToCarry,
  needsShellJob,
  outputTarget,
  pathsNeeded,
  type AdoptionProblem,
} from './adoption-checks.js';
import { readProc, readTree, type TreeFacts } from './process-tree.js';
import { carryFiles, putBackFiles } from './carried-files.js';

interface ProcessMeta {
  name: string;
  /** The host whose pid this is: the record travels with the workload's files. */
  host: string;
  labels?: Record<string, string>;
  argv: string[];
  pid: number;
  startTime: number;
  createdAt: string;
  /** Present when ferry took over a process it did not start (docs/runtimes.md#adopting-a-running-process). */
  adopted?: { how: string; host: string; at: string };
}

/** How the tree was dumped (ferry-stdio.json in the images), so that every restore matches it. */
interface DumpRecord {
  /** ferry-shim's pipe: restore attaches a new one in its place (spawned workloads only). */
  stdoutPipe?: string;
  /** The root did not lead its session: dumped, and so restored, with --shell-job. */
  shellJob?: boolean;
  /** Files it writes outside its folder, copied into the images after the dump (carried-files.ts). */
  carried?: string[];
  /** The source's cgroup layout: restored on another one, the tree leaves its cgroups behind. */
  cgroupLayout?: CgroupLayout;
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
    // An adopted tree uses files that ferry did not put in its folder: the destination checks
    // that they are there (unfitFor) before anything is frozen.
    const tree = running && meta.adopted ? await readTree(meta.pid, { filesOnly: true }) : undefined;
    return {
      name,
      runtime: 'process',
      running,
      pid: running ? meta.pid : undefined,
      rssBytes: running ? await treeRssBytes(meta.pid) : undefined,
      labels: meta.labels,
      ...(tree ? { needs: { hostPaths: pathsNeeded(tree, this.dir(name)) } } : {}),
    };
  }

  /**
   * Takes over a running tree that ferry did not start, as workload `name`: refused (typed,
   * with the fix) unless CRIU can move it; then it gets the same record as a spawned one, so
   * every later step treats both alike. Its output stays where it goes: output.log is a link to
   * the file its stdout (else stderr) writes, or to /dev/null, else a one-line note.
   */
  async adopt(name: string, target: AdoptTarget, opts: CriuOptions): Promise<void> {
    const host = this.ctx.host;
    const { pid, how } = await resolveAdoptTarget(target, host);
    const existing = await readJson<ProcessMeta>(this.metaFile(name));
    const same = !!existing && existing.pid === pid && (await this.aliveHere(existing));
    if (existing && !same)
      throw ferryFailure(
        ErrorType.InvalidInput,
        `a process workload "${name}" already exists on ${host} for pid ${existing.pid}` +
          ((await this.aliveHere(existing))
            ? `: pick another name for ${how}, or migrate ${name} by its name alone`
            : `, which no longer runs there: pick another name for ${how}, or remove the stale record ${this.dir(name)}`),
      );
    const tree = await readTree(pid);
    if (!tree)
      throw ferryFailure(
        ErrorType.WorkloadNotFound,
        `no process with pid ${pid} runs on ${host}${target.pid === undefined ? ` (from ${how})` : ''}: check it there with ps -p ${pid}`,
      );
    const owner = await this.ownerOf(tree, name);
    if (owner) throw ferryFailure(ErrorType.InvalidInput, owner);
    const problems = adoptionProblems(tree, { host, tcpEstablished: opts.tcpEstablished });
    if (problems.length) throw notMovable(`${how} on ${host}`, problems);
    if (same) return; // a retried preflight, or adopted by an earlier attempt
    await mkdir(this.dir(name), { recursive: true, mode: 0o700 });
    const log = this.ctx.paths.outputLog('process', name);
    await rm(log, { force: true });
    const output = outputTarget(tree.fds, pid);
    if (output) await symlink(output, log);
    else
      await writeFile(
        log,
        `(ferry: ${how} was adopted; its stdout is not a file, so no output shows here)\n`,
        {
          mode: 0o600,
        },
      );
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
    await writeJsonAtomic(this.metaFile(name), {
      name,
      host,
      argv,
      pid,
      startTime: tree.root.startTime,
      createdAt: new Date().toISOString(),
      adopted: { how, host, at: new Date().toISOString() },
    } satisfies ProcessMeta);
  }

  /** Why `tree` cannot become workload `name`: it is (or is part of, or contains) another one. */
  private async ownerOf(tree: TreeFacts, name: string): Promise<string | undefined> {
    const ancestors: number[] = [];
    for (let p = tree.root.ppid, n = 0; p > 1 && n < 1000; n++) {
      ancestors.push(p);
      p = (await readProc(p))?.ppid ?? 0;
    }
    const members = new Set(tree.members.map((m) => m.pid));
    for (const other of await listDirNames(this.ctx.paths.workloadsRoot('process'))) {
      if (other === name) continue;
      const meta = await readJson<ProcessMeta>(this.metaFile(other));
      if (!meta || !(await this.aliveHere(meta))) continue;
      const where = `ferry workload ${other} (pid ${meta.pid}) on ${this.ctx.host}`;
      if (meta.pid === tree.root.pid)
        return `pid ${meta.pid} is already ${where}: migrate it by that name, without --pid`;
      if (ancestors.includes(meta.pid))
        return `pid ${tree.root.pid} belongs to the tree of ${where}, which moves as a whole: migrate ${other} instead`;
      if (members.has(meta.pid))
        return `the tree of pid ${tree.root.pid} contains ${where}: migrate that one by its name, or stop it first`;
    }
    return undefined;
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
    adopted?: ProcessMeta['adopted'],
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
      ...(adopted ? { adopted } : {}),
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
    // Its environment, working folder, stdio and user are its starter's, not ferry's.
    if (meta.adopted)
      throw ferryFailure(
        ErrorType.InvalidInput,
        `process workload ${name} was adopted (${meta.adopted.how} on ${meta.adopted.host}), not started by ferry: ` +
          `ferry cannot start it afresh; start it again the way it was started (its command line was: ${meta.argv.join(' ')})`,
      );
    await this.stop(name);
    return this.spawn(name, { argv: meta.argv, labels: meta.labels });
  }

  output(name: string): Promise<string> {
    return readFile(this.ctx.paths.outputLog('process', name), 'utf8').catch(() => '');
  }

  /**
   * A spawned tree keeps everything it uses in its folder, which travels. An adopted one is
   * judged again as at its adoption (it may have opened a terminal or a pipe since); only its
   * TCP connections are left to the dump, which knows whether --tcp-established was given.
   */
  async notMovable(name: string): Promise<string[]> {
    const meta = await readJson<ProcessMeta>(this.metaFile(name));
    if (!meta?.adopted || !(await this.aliveHere(meta))) return [];
    const tree = await readTree(meta.pid);
    if (!tree) return [];
    return adoptionProblems(tree, { host: this.ctx.host, tcpEstablished: true }).map((p) => p.message);
  }

  /** Destination: the files an adopted tree uses where it was (its needs) must be here too. */
  async unfitFor(needs: WorkloadNeeds): Promise<Unfit[]> {
    const missing: string[] = [];
    for (const p of needs.hostPaths ?? [])
      if (
        !(await stat(p).then(
          () => true,
          () => false,
        ))
      )
        missing.push(p);
    return missing.length
      ? [
          {
            type: 'NotMovable',
            message:
              `the process uses ${missing.join(', ')}, which ${missing.length > 1 ? 'do' : 'does'} not exist on ${this.ctx.host}: ` +
              'CRIU reopens every file at the same path (with the same size); install or copy them there first',
          },
        ]
      : [];
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
    const shellJob = await this.shellJobArgs(meta.pid);
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
          ...shellJob,
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
    const shellJob = (await this.shellJobArgs(meta.pid)).length > 0;
    const cgroupLayout = await hostCgroupLayout();
    const record: DumpRecord = meta.adopted
      ? {
          shellJob,
          carried: filesToCarry((await readTree(meta.pid, { filesOnly: true }))?.fds ?? [], this.dir(name)),
          cgroupLayout,
        }
      : { stdoutPipe: await fdTarget(meta.pid, 1), shellJob, cgroupLayout };
    await writeJsonAtomic(path.join(images, 'ferry-stdio.json'), record);
    const outcome = await runDump(`criu dump of ${name}`, work, (logPath) =>
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
          ...(shellJob ? ['--shell-job'] : []),
          ...(opts.pageServer ? this.pageServerArgs(opts.pageServer) : []),
          ...(opts.parent || opts.trackMem ? trackMemArgs(opts.parent) : []),
          ...(opts.leaveRunning ? ['--leave-running'] : []),
          ...criuFlags(opts),
        ],
        { timeoutMs: 10 * 60_000, logPath },
      ),
    );
    // The tree is gone now: the files it wrote have their final size (what the images expect).
    await carryFiles(record.carried ?? [], images);
    return outcome;
  }

  /** CRIU dumps a tree rooted at a session leader; any other root needs --shell-job. */
  private async shellJobArgs(pid: number): Promise<string[]> {
    const root = await readProc(pid);
    return root && needsShellJob(root) ? ['--shell-job'] : [];
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
    const record = (await readJson<DumpRecord>(path.join(images, 'ferry-stdio.json'))) ?? {};
    await putBackFiles(images);
    const pidFile = path.join(work, 'restored.pid');
    const logPath = path.join(work, 'restore.log');
    const args = [
      ...restoreArgs(images, work, 'restore.log', record, opts),
      ...(await cgroupArgs(record.cgroupLayout)),
      '--pidfile',
      pidFile,
    ];
    // An adopted tree keeps its own stdio; CRIU's few words go to the migration's work folder,
    // not into the file its output.log links to.
    const shimLog = meta.adopted
      ? path.join(work, 'criu-output.log')
      : this.ctx.paths.outputLog('process', name);
    // Right after a dump the old PIDs can be held for a moment (the killed tree is not yet
    // reaped): retry quickly here rather than wait for an activity retry.
    for (let attempt = 1; ; attempt++) {
      try {
        await startUnderShim(shimLog, ['criu', ...args], {
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
        const busy = isPidBusy(log)
          ? ` (CRIU restores a tree with the PIDs it had, and another process holds one of them on ${this.ctx.host})`
          : '';
        const message = `criu restore of ${name} failed: ${await explainCriuFailure(err, logPath)}${busy}`;
        throw ferryFailure(isPidBusy(log) ? ErrorType.RestorePidBusy : ErrorType.RestoreFailed, message);
      }
    }
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    await this.recordPid(name, meta.argv, pid, meta.labels, meta.adopted);
    const stats = await readRestoreStats(work);
    return { pid, stats, logPath };
  }

  /** What ferry's restore runs here, as a line to paste (without the PID-busy retries). */
  async handRestoreCommand(
    name: string,
    migrationId: string,
    opts: CriuOptions = {},
  ): Promise<string | undefined> {
    const meta = await readJson<ProcessMeta>(this.metaFile(name));
    const images = this.ctx.paths.imagesDir(migrationId);
    const work = this.ctx.paths.workDir(migrationId);
    const record = (await readJson<DumpRecord>(path.join(images, 'ferry-stdio.json'))) ?? {};
    return handRestoreCommand({
      argv: [
        'criu',
        ...restoreArgs(images, work, 'restore-by-hand.criu.log', record, opts),
        ...(await cgroupArgs(record.cgroupLayout)),
      ],
      outputLog: meta?.adopted
        ? path.join(work, 'criu-output.log')
        : this.ctx.paths.outputLog('process', name),
      commandLog: path.join(work, 'restore-by-hand.log'),
    });
  }

  /** SIGSTOP to every process of the tree; SIGCONT lets it go on. */
  async pause(name: string): Promise<string> {
    const meta = await this.runningMeta(name);
    const tree = await readTree(meta.pid, { filesOnly: true });
    const pids = tree ? tree.members.map((m) => m.pid) : [meta.pid];
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    return shellLine(['kill', '-CONT', ...pids.map(String)]);
  }

  async stop(name: string): Promise<void> {
    const meta = await readJson<ProcessMeta>(this.metaFile(name));
    if (!meta || !(await this.aliveHere(meta))) return;
    // A spawned workload leads its own process group: signal all of it. An adopted root may
    // share its group with processes outside its tree (or be restored into CRIU's): the tree only.
    const tree = meta.adopted ? await readTree(meta.pid, { filesOnly: true }) : undefined;
    if (tree) for (const m of tree.members) killQuietly(m.pid);
    else
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

/**
 * CRIU puts a restored tree back into the cgroups it was dumped in, per hierarchy, creating
 * them. Dumped under another cgroup layout (v1 controllers on a v2 host, or the other way) those
 * hierarchies do not exist here: the tree is then restored into the restoring worker's own
 * cgroups instead, where a workload ferry spawns here would run too (docs/cgroups.md).
 */
async function cgroupArgs(dumpedUnder: CgroupLayout | undefined): Promise<string[]> {
  return dumpedUnder && dumpedUnder !== (await hostCgroupLayout()) ? ['--manage-cgroups=ignore'] : [];
}

/** Soft-dirty tracking from the first round on; later dumps write only what changed since `parent`. */
function trackMemArgs(parent: string | undefined): string[] {
  return ['--track-mem', ...(parent ? ['--prev-images-dir', parent] : [])];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** One refusal for all problems, their stable codes in the details. */
function notMovable(what: string, problems: AdoptionProblem[]): Error {
  return ferryFailure(
    ErrorType.NotMovable,
    `${what} cannot be migrated: ${problems.map((p) => p.message).join('; ')}`,
    { details: [{ problems }] },
  );
}
const PID_BUSY_ATTEMPTS = 40;
const PID_BUSY_DELAY_MS = 50;

/** `criu restore` of a dump made as record says (its session, its stdout pipe), detached. */
function restoreArgs(
  images: string,
  work: string,
  log: string,
  record: DumpRecord,
  opts: CriuOptions,
): string[] {
  return [
    'restore',
    '-D',
    images,
    '-W',
    work,
    '-o',
    log,
    '-v4',
    '-d',
    ...(record.shellJob ? ['--shell-job'] : []),
    ...criuFlags(opts),
    ...(record.stdoutPipe?.startsWith('pipe:') ? ['--inherit-fd', `fd[1]:${record.stdoutPipe}`] : []),
  ];
}
