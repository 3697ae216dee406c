// Post-copy (docs/migration-modes.md): lazy dump on the source, the small images over rsync,
// lazy restore on the destination, then the pages follow on demand until the source is
// released. Once the destination has started the workload, a failure loses it on both hosts.
import { neverStarted } from '../../domain/failures.js';
import type { LazyDumpResult, MigrationResult, Outcome } from '../../domain/types.js';
import { bestEffort, succeeded } from '../host-steps.js';
import {
  cleanUpAfterSuccess,
  cleanUpDestinationBeforeFreeze,
  cleanUpDestinationLater,
  endBeforeFreeze,
} from './cleanup.js';
import { nonCancellable, type Migration } from './context.js';
import { mib } from './format.js';
import { operatorHelp } from './rollback.js';
import { verifyOnDestination } from './stop-and-copy.js';

export async function postcopy(m: Migration): Promise<MigrationResult> {
  let lazy: LazyDumpResult;
  try {
    lazy = await lazyDump(m);
  } catch (err) {
    return nonCancellable(() => afterFailedLazyDump(m, err));
  }
  const started = { restore: false };
  try {
    await transferImages(m, lazy);
    await lazyRestore(m, lazy, started);
    await servePages(m);
    await verifyOnDestination(m);
  } catch (err) {
    return nonCancellable(async () => m.run.finish(await postcopyRollBack(m, started.restore), err));
  }
  await cleanUpAfterSuccess(m);
  return m.run.finish('migrated');
}

async function lazyDump(m: Migration): Promise<LazyDumpResult> {
  const lazy = await m.run.phase('checkpoint', () =>
    m.src.long.startLazyDump.executeWithOptions(
      { summary: `lazy dump of ${m.what} on ${m.req.source}: frozen, memory served from there` },
      [m.step],
    ),
  );
  m.run.freezesSeen++;
  m.run.result.pageServer = lazy.lazyServer;
  m.run.result.imageBytes = lazy.imageBytes;
  return lazy;
}

/** Whether the source runs again after its lazy dump was ended (CRIU resumes it on failure). */
const abortLazyDump = (m: Migration): Promise<boolean> =>
  m.src.quick.abortLazyDump(m.step).then(
    (r) => r.sourceRuns,
    () => false,
  );

async function afterFailedLazyDump(m: Migration, err: unknown): Promise<MigrationResult> {
  if (await abortLazyDump(m)) return endBeforeFreeze(m, err);
  await cleanUpDestinationBeforeFreeze(m);
  m.run.say(`${m.what} does not run on ${m.req.source} after its lazy dump failed. ${operatorHelp(m)}`);
  return m.run.finish('failed-needs-operator', err);
}

async function transferImages(m: Migration, lazy: LazyDumpResult): Promise<void> {
  const { req } = m;
  await m.run.phase('transfer', async () => {
    const sent = await m.src.long.transfer.executeWithOptions(
      {
        summary: `transfer ${mib(lazy.imageBytes)} MiB of images of ${m.what} (no memory): ${req.source} → ${req.destination}`,
      },
      [{ ...m.step, destination: req.destination }],
    );
    m.run.sent(sent.bytesSent);
  });
}

/** One attempt: a lazy restore that reached the source cannot be repeated. */
async function lazyRestore(m: Migration, lazy: LazyDumpResult, started: { restore: boolean }): Promise<void> {
  const restored = await m.run.phase('restore', () =>
    m.dst.once.restore
      .executeWithOptions(
        {
          summary: `lazy restore of ${m.what} on ${m.req.destination}, memory fetched from ${lazy.lazyServer.address}:${lazy.lazyServer.port}`,
        },
        [{ ...m.step, lazyPagesFrom: lazy.lazyServer }],
      )
      .catch((err: unknown) => {
        if (!neverStarted(err)) started.restore = true;
        throw err;
      }),
  );
  started.restore = true;
  m.run.result.criu.restore = restored.stats;
  m.run.result.downtimeMs = restored.runningAtMs - lazy.frozenAtMs;
}

/** Not cancellable: stopping half-way would lose the workload. */
async function servePages(m: Migration): Promise<void> {
  const served = await m.run.phase('postcopy', () =>
    nonCancellable(() =>
      m.src.long.awaitLazyDump.executeWithOptions(
        {
          summary: `serve the memory of ${m.what} from ${m.req.source} until ${m.req.destination} has all of it`,
        },
        [m.step],
      ),
    ),
  );
  m.run.result.postcopyMs = served.servedForMs;
}

/**
 * Whether the workload survives is decided by CRIU on the source: it resumes the frozen copy when
 * the page transfer fails before the end, and releases it once every page has moved. After the
 * destination started it, a failure that left the source released (or unreachable) lost it.
 */
function postcopyRollBack(m: Migration, restoreStarted: boolean): Promise<Outcome> {
  const { req, what, run } = m;
  return run.phase('rollback', async () => {
    run.say(`removing any copy of ${what} on ${req.destination}`);
    if (await succeeded(m.dst.quick.removeWorkload(m.ref)))
      await bestEffort(
        'remove the destination images',
        m.dst.quick.removeMigrationFiles({ migrationId: m.id }),
      );
    else await cleanUpDestinationLater(m);
    const sourceRuns = await abortLazyDump(m);
    await bestEffort('remove the source images', m.src.quick.removeMigrationFiles({ migrationId: m.id }));
    if (sourceRuns) {
      // A copy left on the destination cannot run on: its memory was never complete.
      run.say(`the page transfer ended before ${req.source} was released: ${what} runs there again`);
      return 'rolled-back';
    }
    if (restoreStarted) {
      run.say(
        `post-copy failed after ${req.destination} had started ${what}: its memory was split between the hosts and it is LOST on both (the request accepted this risk)`,
      );
      return 'failed-postcopy-lost';
    }
    run.say(`${what} does not run on ${req.source} after its lazy dump was ended. ${operatorHelp(m)}`);
    return 'failed-needs-operator';
  });
}
