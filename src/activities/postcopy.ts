import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { canRun } from '../domain/capabilities.js';
import { ErrorType } from '../domain/errors.js';
import type { LazyDumpResult } from '../domain/types.js';
import { lazyDumpState } from '../criu/lazy.js';
import { criuRootCause } from '../criu/log.js';
import { readJson, writeJsonAtomic } from '../runtimes/workload-files.js';
import { directorySize, makePrivate } from '../host/disk-usage.js';
import { ferryFailure } from '../domain/failures.js';
import { heartbeat } from './heartbeat.js';
import { runFreezingStep } from './freezes.js';
import type { HostContext } from './host-context.js';
import type { MigrationStepInput } from './inputs.js';
import { commandsMentioning, killCommands } from '../host/stale-commands.js';

const POLL_MS = 500;

/** Post-copy on the source: docs/migration-modes.md. */
export function postcopyActivities(ctx: HostContext) {
  const files = (migrationId: string) => ({
    images: ctx.paths.imagesDir(migrationId),
    work: ctx.paths.workDir(migrationId),
    result: path.join(ctx.paths.migrationDir(migrationId), 'lazy-dump.json'),
    log: path.join(ctx.paths.workDir(migrationId), 'dump.log'),
  });
  const dumpRuns = async (images: string) => (await commandsMentioning(images)).length > 0;

  return {
    /**
     * Freezes the workload and dumps all but its memory, which a lazy page server on this
     * host's own address then serves. Downtime starts. A retry finds the dump it started.
     */
    async startLazyDump(input: MigrationStepInput): Promise<LazyDumpResult> {
      const f = files(input.migrationId);
      const earlier = await readJson<LazyDumpResult>(f.result);
      if (earlier && (await dumpRuns(f.images))) return earlier;
      const runtime = ctx.runtime(input.runtime);
      // The record decides; the member check only narrows the type.
      if (!canRun(runtime.capabilities, 'postcopy') || !runtime.startLazyCheckpoint)
        throw ferryFailure(ErrorType.ModeUnavailable, `${input.runtime} workloads cannot be dumped lazily`);
      const startLazy = runtime.startLazyCheckpoint.bind(runtime);
      await ctx.faults.at('before-checkpoint', input.workload);
      await mkdir(ctx.paths.migrationsRoot(), { recursive: true, mode: 0o700 });
      await mkdir(f.images, { recursive: true, mode: 0o700 });
      await mkdir(f.work, { recursive: true, mode: 0o700 });
      const frozenAtMs = Date.now();
      const lazyServer = await runFreezingStep(
        ctx,
        {
          migrationId: input.migrationId,
          step: 'lazy-dump',
          what: `${input.runtime}/${input.workload}`,
          log: f.log,
          marker: f.images,
          caps: runtime.capabilities,
        },
        async () => {
          try {
            return await startLazy(input.workload, input.migrationId, ctx.host.ssh.address);
          } catch (err) {
            const cause = criuRootCause(await readFile(f.log, 'utf8').catch(() => ''));
            throw ferryFailure(
              ErrorType.CheckpointFailed,
              `lazy dump of ${input.runtime}/${input.workload} on ${ctx.host.name} failed: ${cause ?? (err as Error).message} (CRIU log: ${f.log})`,
            );
          }
        },
        // No CRIU figure while it serves; it stays frozen until the destination has every page.
        (_server, stepMs) => ({ frozenMs: stepMs, measuredBy: 'step-duration' }),
      );
      await makePrivate(f.images);
      const result: LazyDumpResult = {
        frozenAtMs,
        durationMs: Date.now() - frozenAtMs,
        imageBytes: await directorySize(f.images),
        stats: {},
        lazyServer,
      };
      await writeJsonAtomic(f.result, result);
      return result;
    },

    /**
     * Waits until the destination has fetched every page: CRIU then ends the frozen source copy
     * (released). Fails when the transfer failed; CRIU resumes the source in that case.
     */
    async awaitLazyDump(input: MigrationStepInput): Promise<{ servedForMs: number }> {
      const f = files(input.migrationId);
      const started = Date.now();
      while (await dumpRuns(f.images)) {
        heartbeat({ phase: 'postcopy', servedForMs: Date.now() - started });
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      const log = await readFile(f.log, 'utf8').catch(() => '');
      if (lazyDumpState(log) !== 'finished')
        throw ferryFailure(
          ErrorType.PostcopyFailed,
          `lazy page transfer of ${input.runtime}/${input.workload} from ${ctx.host.name} failed: ${
            criuRootCause(log) ?? 'the lazy dump ended without finishing'
          } (CRIU log: ${f.log})`,
        );
      // No stats: CRIU's stats-dump of a lazy dump driven over RPC holds only zeros.
      return { servedForMs: Date.now() - started };
    },

    /**
     * Ends the lazy dump if it still runs (CRIU killed lets the frozen tasks go) and says
     * whether the workload runs on this host afterwards.
     */
    async abortLazyDump(input: MigrationStepInput): Promise<{ sourceRuns: boolean }> {
      await killCommands(files(input.migrationId).images);
      const info = await ctx.runtime(input.runtime).inspect(input.workload);
      return { sourceRuns: info?.running ?? false };
    },
  };
}
