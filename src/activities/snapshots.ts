// Host steps of snapshots (docs/snapshots.md): take one into this host's store, check, copy,
// stage and remove them. A snapshot is STATE/snapshots/<id>/ (0700): images/ (what the runtime's
// checkpoint wrote), workload/ (the workload's files as they were) and snapshot.json (its record
// and the manifest its checksum is computed over).
import { Context } from '@temporalio/activity';
import {
  chmod,
  copyFile,
  mkdir,
  readdir,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  truncate,
  readFile,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { ErrorType } from '../domain/errors.js';
import { ferryFailure } from '../domain/failures.js';
import type { RuntimeName } from '../domain/names.js';
import {
  checkSnapshotId,
  chooseSnapshotParent,
  unchainableBecause,
  type ParentChoice,
  type SnapshotOnDisk,
  type SnapshotRecord,
} from '../domain/snapshots.js';
import type { CriuOptions, HostFacts } from '../domain/types.js';
import { run } from '../exec/run.js';
import { directorySize, makePrivate } from '../host/disk-usage.js';
import { folderManifest, manifestDifferences, sha256 } from '../host/manifest.js';
import { isAlive, processStartTime, uptimeMicros } from '../host/procfs.js';
import { withDumpUptime } from '../criu/inventory.js';
import { lastTrackedDump, noteTrackedDump } from './memory-tracking.js';
import { refuseUnsupportedCriuOptions } from '../runtimes/criu-options.js';
import { pathExists, readJson, removeTree, writeJsonAtomic } from '../runtimes/workload-files.js';
import { rsyncPush } from '../transfer/rsync.js';
import { frozenFromStats, runFreezingStep } from './freezes.js';
import { withHeartbeat } from './heartbeat.js';
import { withSlot } from './slots.js';
import type { HostContext } from './host-context.js';
import { describeHost } from './preflight.js';
import { hostSshOptions } from './transfer.js';

export interface CreateSnapshotInput {
  snapshotId: string;
  workload: string;
  runtime: RuntimeName;
  stop?: boolean;
  criu?: CriuOptions;
  series?: string;
  note?: string;
  /** This host's facts from the preflight that just ran (CRIU version, kernel, dirty tracking). */
  facts?: HostFacts;
}

export interface RestoreTargetInput {
  snapshotId: string;
  runtime: RuntimeName;
  /** The name it will run under here. */
  target: string;
  replace?: boolean;
  imageId?: string;
  image?: string;
  /** process: the root pid the snapshot comes back with. */
  pid?: number;
}

export interface StageSnapshotInput {
  snapshotId: string;
  /** The restore's own folder (migrations/<restoreId>), removed once it runs. */
  restoreId: string;
  runtime: RuntimeName;
  target: string;
}

/** What snapshot.json holds: the record as taken here and the manifest behind its checksum. */
interface StoredSnapshot {
  record: SnapshotRecord;
  manifest: string;
}

/** Bytes and a manifest of what a snapshot folder holds (snapshot.json aside). */
async function manifestOf(ctx: HostContext, id: string): Promise<string> {
  return (
    `images\n${await folderManifest(ctx.paths.snapshotImagesDir(id))}` +
    `workload\n${await folderManifest(ctx.paths.snapshotWorkloadDir(id))}`
  );
}

async function relink(link: string, target: string): Promise<void> {
  await rm(link, { force: true });
  await symlink(target, link);
}

/** The records of the snapshots this host holds. */
async function localRecords(ctx: HostContext): Promise<SnapshotRecord[]> {
  const names = await readdir(ctx.paths.snapshotsRoot()).catch(() => [] as string[]);
  const stored = await Promise.all(
    names
      .filter((n) => !checkSnapshotId(n))
      .map((id) => readJson<StoredSnapshot>(ctx.paths.snapshotRecordFile(id))),
  );
  return stored.flatMap((s) => (s ? [s.record] : []));
}

function validId(id: string): string {
  const problem = checkSnapshotId(id);
  if (problem) throw ferryFailure(ErrorType.InvalidInput, problem);
  return id;
}

export function snapshotActivities(ctx: HostContext) {
  const notHere = (id: string) =>
    ferryFailure(
      ErrorType.SnapshotNotFound,
      `snapshot ${id} is not on ${ctx.host.name} (its folder ${ctx.paths.snapshotDir(id)} is missing); ferry snapshot check lists where the catalog and the disks disagree`,
    );

  return {
    /**
     * Checkpoints the workload into this host's store; it runs on unless input.stop. Idempotent:
     * a retry finds the snapshot an earlier attempt finished.
     */
    async createSnapshot(input: CreateSnapshotInput): Promise<SnapshotRecord> {
      const id = validId(input.snapshotId);
      const done = await readJson<StoredSnapshot>(ctx.paths.snapshotRecordFile(id));
      if (done) return done.record;
      const runtime = ctx.runtime(input.runtime);
      const info = await runtime.inspect(input.workload);
      if (!info?.running)
        throw ferryFailure(
          ErrorType.WorkloadNotRunning,
          `${input.runtime}/${input.workload} is not running on ${ctx.host.name}: ferry snapshots running workloads (ferry ps --host ${ctx.host.name} lists them)`,
        );
      refuseUnsupportedCriuOptions(runtime.capabilities, input.criu);
      // The checkpoint writes where a migration's would (its own folder, named by the snapshot id);
      // the images then move into the store.
      const images = ctx.paths.imagesDir(id);
      const work = ctx.paths.workDir(id);
      await removeTree(ctx.paths.migrationDir(id));
      await mkdir(ctx.paths.migrationsRoot(), { recursive: true, mode: 0o700 });
      await mkdir(images, { recursive: true, mode: 0o700 });
      await mkdir(work, { recursive: true, mode: 0o700 });
      // Left running, it prints on after the dump: its output kept with the snapshot ends where
      // the dump began (lines printed during the brief freeze itself may be missing from it).
      const outputLog = ctx.paths.outputLog(input.runtime, input.workload);
      const logBytes = input.stop ? undefined : (await stat(outputLog).catch(() => undefined))?.size;
      // Incremental where it can be (chooseSnapshotParent): the previous snapshot of this very
      // process instance, if its dump was the last to reset the dirty-page bits.
      // The preflight's facts when the workflow passes them (no second criu check before the freeze).
      const facts = input.facts ?? (await describeHost(ctx));
      const incarnation = info.pid ? `${info.pid}@${(await processStartTime(info.pid)) ?? '?'}` : undefined;
      const host = {
        runtime: input.runtime,
        dirtyTracking: facts.dirtyTracking,
        dirtyTrackingReason: facts.dirtyTrackingReason,
      };
      // The store is read only when a chain is possible at all.
      const full = unchainableBecause(host);
      const choice: ParentChoice = full
        ? { track: false, fullBecause: full }
        : chooseSnapshotParent({
            ...host,
            incarnation,
            lastTracked: await lastTrackedDump(ctx.paths, input.runtime, input.workload),
            local: await localRecords(ctx),
          });
      const parentImages = choice.parent ? ctx.paths.snapshotImagesDir(choice.parent) : undefined;
      // Before the dump: a failed attempt may have reset the bits too, so it is nobody's parent.
      if (choice.track)
        await noteTrackedDump(ctx.paths, input.runtime, input.workload, `attempt-${id}`, incarnation);
      // CRIU 4.2 records no uptime in a dump's inventory; a later dump needs it to take this one
      // as its parent (pid-reuse check): the uptime before the freeze is written in afterwards.
      const uptimeUs = choice.track ? await uptimeMicros() : undefined;
      const started = Date.now();
      const outcome = await runFreezingStep(
        ctx,
        {
          migrationId: id,
          step: 'checkpoint',
          what: `${input.runtime}/${input.workload}`,
          log: path.join(work, 'dump.log'),
          marker: images,
          caps: runtime.capabilities,
        },
        () =>
          withHeartbeat(
            () =>
              runtime.checkpoint(input.workload, id, {
                ...input.criu,
                leaveRunning: !input.stop,
                trackMem: choice.track,
                parent: parentImages && path.relative(images, parentImages),
              }),
            () => ({ phase: 'snapshot' }),
          ),
        (o, stepMs) => frozenFromStats(o.stats, stepMs),
      );
      const frozen = frozenFromStats(outcome.stats, Date.now() - started);
      if (uptimeUs !== undefined) {
        const inventory = path.join(images, 'inventory.img');
        await writeFile(inventory, withDumpUptime(await readFile(inventory), uptimeUs), { mode: 0o600 });
      }
      if (choice.track) await noteTrackedDump(ctx.paths, input.runtime, input.workload, id, incarnation);
      const dir = ctx.paths.snapshotDir(id);
      await removeTree(dir);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await rename(images, ctx.paths.snapshotImagesDir(id));
      // CRIU's parent link was relative to where the dump wrote: now it is next to its parent.
      if (choice.parent)
        await relink(path.join(ctx.paths.snapshotImagesDir(id), 'parent'), `../../${choice.parent}/images`);
      // The workload's files as they are now: the runc bundle and rootfs, process metadata, its
      // output so far (container engines keep theirs in the images).
      const files = ctx.paths.workloadDir(input.runtime, input.workload);
      if (await pathExists(files))
        await run('cp', ['-a', '--reflink=auto', files, ctx.paths.snapshotWorkloadDir(id)], {
          timeoutMs: 30 * 60_000,
        });
      else await mkdir(ctx.paths.snapshotWorkloadDir(id), { mode: 0o700 });
      const keptLog = path.join(ctx.paths.snapshotWorkloadDir(id), path.basename(outputLog));
      if (logBytes !== undefined && (await pathExists(keptLog))) await truncate(keptLog, logBytes);
      // Memory images are private files; the workload's own files keep their modes (CRIU checks
      // them on restore) behind the snapshot folder's 0700.
      await makePrivate(ctx.paths.snapshotImagesDir(id));
      await chmod(ctx.paths.snapshotWorkloadDir(id), 0o700);
      await chmod(dir, 0o700);
      const manifest = await manifestOf(ctx, id);
      const record: SnapshotRecord = {
        id,
        workload: input.workload,
        runtime: input.runtime,
        host: ctx.host.name,
        createdAtMs: started,
        sizeBytes: await directorySize(dir),
        checksum: sha256(manifest),
        copies: [ctx.host.name],
        ...(choice.parent ? { parent: choice.parent } : { fullBecause: choice.fullBecause }),
        trackedMem: choice.track,
        ...(incarnation ? { incarnation } : {}),
        leftRunning: !input.stop,
        frozenMs: frozen.frozenMs,
        ...(outcome.stats.pagesWritten !== undefined ? { pagesWritten: outcome.stats.pagesWritten } : {}),
        ...(outcome.stats.pagesSkippedParent ? { pagesFromParent: outcome.stats.pagesSkippedParent } : {}),
        criuVersion: facts.criuVersion,
        kernel: facts.kernel,
        ...(input.runtime === 'process' && info.pid ? { pid: info.pid } : {}),
        ...(info.needs?.imageId ? { imageId: info.needs.imageId } : {}),
        ...(info.needs?.image ? { image: info.needs.image } : {}),
        ...(input.criu && Object.values(input.criu).some(Boolean) ? { criu: input.criu } : {}),
        ...(input.series ? { series: input.series } : {}),
        ...(input.note ? { note: input.note } : {}),
      };
      // CRIU's log of the dump stays with the snapshot (outside its checksummed content).
      await copyFile(path.join(work, 'dump.log'), path.join(dir, 'dump.log')).catch(() => undefined);
      await writeJsonAtomic(ctx.paths.snapshotRecordFile(id), { record, manifest } satisfies StoredSnapshot);
      await removeTree(ctx.paths.migrationDir(id));
      return record;
    },

    /** Before anything is stopped: the files still match the checksum taken with the snapshot. */
    async verifySnapshot(input: { snapshotId: string; checksum: string }): Promise<{ sizeBytes: number }> {
      const id = validId(input.snapshotId);
      const stored = await readJson<StoredSnapshot>(ctx.paths.snapshotRecordFile(id));
      if (!stored && !(await pathExists(ctx.paths.snapshotDir(id)))) throw notHere(id);
      const manifest = await withHeartbeat(
        () => manifestOf(ctx, id),
        () => ({ phase: 'verify-snapshot' }),
      );
      if (sha256(manifest) !== input.checksum) {
        const diff = stored ? manifestDifferences(stored.manifest, manifest) : ['snapshot.json is missing'];
        throw ferryFailure(
          ErrorType.SnapshotCorrupt,
          `snapshot ${id} on ${ctx.host.name} does not match the checksum taken with it (${diff.join('; ') || 'its record changed'}): nothing was stopped or restored. Remove this copy (ferry snapshot rm ${id} --host ${ctx.host.name}) and, when another host holds an intact one, copy it here again (ferry snapshot copy ${id} --to ${ctx.host.name})`,
        );
      }
      return { sizeBytes: await directorySize(ctx.paths.snapshotDir(id)) };
    },

    /** Refuses, before anything is stopped, a restore this host cannot take as asked. */
    async checkRestoreTarget(input: RestoreTargetInput): Promise<{ running: boolean }> {
      validId(input.snapshotId);
      const runtime = ctx.runtime(input.runtime);
      const missing = await runtime.unavailableReason();
      if (missing) throw ferryFailure(ErrorType.RuntimeUnavailable, `on ${ctx.host.name}: ${missing}`);
      const info = await runtime.inspect(input.target);
      const running = !!info?.running;
      if (running && !input.replace)
        throw ferryFailure(
          ErrorType.WorkloadAlreadyOnDestination,
          `${input.runtime}/${input.target} already runs on ${ctx.host.name}: restore a copy under another name (--as NEW) or revert it to the snapshot (--replace; its current state is kept as a snapshot first)`,
        );
      const holder = !running && !input.replace ? await runtime.nameHolder?.(input.target) : undefined;
      if (holder)
        throw ferryFailure(
          ErrorType.NameTakenOnDestination,
          `a ${input.runtime} container holds the name ${input.target} on ${ctx.host.name} (state ${holder.state}); ferry leaves it alone. Remove it (${holder.removeCommand}), restore --as another name, or --replace it`,
        );
      const unfit = await runtime.unfitFor({ image: input.image, imageId: input.imageId });
      if (unfit.length) throw ferryFailure(ErrorType.ImageMissing, unfit.map((u) => u.message).join('; '));
      // CRIU gives a process tree back the PIDs it had: none of them may be taken here.
      if (input.runtime === 'process' && input.pid) {
        const replacing = running && info?.pid === input.pid;
        if (!replacing && (await isAlive(input.pid)))
          throw ferryFailure(
            ErrorType.NotMovable,
            `process snapshots come back with the PIDs they had (CRIU), and pid ${input.pid} is in use on ${ctx.host.name}${running ? '' : ' (the original workload still runs?)'}: restore this copy on another host, or stop what holds the pid. Containers (runc, podman, docker) have their own PID namespace and clone freely`,
          );
      }
      return { running };
    },

    /**
     * Lays the snapshot out as a restore reads it: its images hard-linked into the restore's own
     * folder (CRIU only reads them; the snapshot stays intact and removing it meanwhile takes
     * nothing from this restore) and the workload's files copied under the target name.
     */
    async stageSnapshot(input: StageSnapshotInput): Promise<void> {
      const id = validId(input.snapshotId);
      const dir = ctx.paths.migrationDir(input.restoreId);
      await removeTree(dir);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const images = ctx.paths.imagesDir(input.restoreId);
      await run('cp', ['-al', ctx.paths.snapshotImagesDir(id), images]);
      // An incremental snapshot's parent link is relative to the store: point it there.
      const parentLink = await readlink(path.join(images, 'parent')).catch(() => undefined);
      if (parentLink)
        await relink(path.join(images, 'parent'), path.resolve(ctx.paths.snapshotImagesDir(id), parentLink));
      for (const f of ctx.runtime(input.runtime).capabilities.restoreRewrites ?? []) {
        const from = path.join(ctx.paths.snapshotImagesDir(id), f);
        if (!(await pathExists(from))) continue;
        await rm(path.join(images, f));
        await run('cp', ['--reflink=auto', '-p', from, path.join(images, f)], { timeoutMs: 30 * 60_000 });
      }
      const files = ctx.paths.workloadDir(input.runtime, input.target);
      await removeTree(files);
      await mkdir(path.dirname(files), { recursive: true, mode: 0o700 });
      await run('cp', ['-a', '--reflink=auto', ctx.paths.snapshotWorkloadDir(id), files], {
        timeoutMs: 30 * 60_000,
      });
    },

    /** Sends this host's copy to another host (rsync over SSH, resumable). */
    async pushSnapshot(input: { snapshotId: string; destination: string }): Promise<{ bytesSent: number }> {
      const id = validId(input.snapshotId);
      if (!(await pathExists(ctx.paths.snapshotDir(id)))) throw notHere(id);
      const dest = ctx.peer(input.destination);
      const { bytesSent } = await withSlot(ctx, 'transfer', () =>
        withHeartbeat(async () =>
          rsyncPush(
            {
              fromRoot: ctx.paths.stateDir,
              paths: [path.relative(ctx.paths.stateDir, ctx.paths.snapshotDir(id))],
              to: dest.ssh,
              toRoot: dest.stateDir,
              deleteExtraneous: true,
              timeoutMs: 60 * 60_000,
            },
            await hostSshOptions(ctx),
            () => undefined,
            Context.current().cancellationSignal,
          ),
        ),
      );
      return { bytesSent };
    },

    /** Removes this host's copy (idempotent). */
    async removeSnapshotCopy(input: { snapshotId: string }): Promise<void> {
      await removeTree(ctx.paths.snapshotDir(validId(input.snapshotId)));
    },

    /** What this host's store holds (ferry snapshot check compares it with the catalog). */
    async snapshotsOnDisk(): Promise<SnapshotOnDisk[]> {
      const names = await readdir(ctx.paths.snapshotsRoot()).catch(() => [] as string[]);
      return Promise.all(
        names
          .filter((n) => !checkSnapshotId(n))
          .map(async (id) => ({
            id,
            checksum: (await readJson<StoredSnapshot>(ctx.paths.snapshotRecordFile(id)))?.record.checksum,
            sizeBytes: await directorySize(ctx.paths.snapshotDir(id)),
          })),
      );
    },

    /** A revert (--replace, which the request asked for): the running workload stops, whoever made it. */
    async stopReplaced(input: { runtime: RuntimeName; workload: string }): Promise<void> {
      await ctx.runtime(input.runtime).stop(input.workload, { anyOwner: true });
    },

    /** Freezes a restored workload (--paused); returns what lets it go on. */
    async pauseWorkload(input: {
      runtime: RuntimeName;
      workload: string;
    }): Promise<{ resumeCommand: string }> {
      return { resumeCommand: await ctx.runtime(input.runtime).pause(input.workload) };
    },

    /** A restore's own folder, once the workload runs (or the restore gave up). */
    async dropRestoreFolder(input: { restoreId: string }): Promise<void> {
      await removeTree(ctx.paths.migrationDir(input.restoreId));
    },
  };
}
