// After the freeze, anything that fails puts the workload back on the source
// (docs/failure-handling.md): first make sure no copy runs on the destination, then restore the
// source from its local checkpoint. Never two running copies, never zero without saying so.
import { CancellationScope, condition } from '@temporalio/workflow';
import { describeCause, isCancelled } from '../../domain/failures.js';
import { DEFAULT_VERIFY_WINDOW_MS, type Outcome } from '../../domain/types.js';
import { bestEffort, succeeded } from '../host-steps.js';
import { cleanUpDestinationLater } from './cleanup.js';
import type { Migration } from './context.js';

/** `restoreMayHaveRun`: some restore attempt started on the destination (fencing). */
export function rollBack(m: Migration, restoreMayHaveRun: boolean): Promise<Outcome> {
  const { req, what, run, dst } = m;
  return run.phase('rollback', async () => {
    run.say(`removing any copy of ${what} on ${req.destination}`);
    const removal = () =>
      (restoreMayHaveRun ? dst.fenced : dst.brief).removeWorkload.executeWithOptions(
        { summary: `rollback: remove any copy of ${what} on ${req.destination}` },
        [m.ref],
      );
    const answered = restoreMayHaveRun
      ? (await waitForDestinationOrOperator(m, removal)) === 'confirmed'
      : await succeeded(removal());
    if (answered) {
      if (!(await bringPagesBack(m))) return 'failed-needs-operator';
      await bestEffort(
        'remove the destination images',
        dst.quick.removeMigrationFiles({ migrationId: m.id }),
      );
    } else if (run.mode === 'streamed') {
      // The memory is there and nowhere else: keep it (no cleanup child) for a hand restore.
      run.say(
        `the streamed memory pages of ${what} are on ${req.destination}, which ${restoreMayHaveRun ? 'was declared down' : 'did not answer'}: ${what} cannot be restored on ${req.source} without them; they are kept there. ${operatorHelp(m)}`,
      );
      return 'failed-needs-operator';
    } else if (!restoreMayHaveRun) {
      run.say(
        `${req.destination} did not answer (no copy can run there: its restore never started); what the migration left there is removed when it is back (workflow cleanup-${m.id})`,
      );
      await cleanUpDestinationLater(m);
    } else await cleanUpDestinationLater(m);
    return restoreSource(m);
  });
}

/**
 * Resolves once the destination confirmed it runs no copy, or an operator declared it down
 * (`ferry resolve ID --destination-is-down`). Meanwhile the source stays stopped.
 */
async function waitForDestinationOrOperator(
  m: Migration,
  removal: () => Promise<void>,
): Promise<'confirmed' | 'declared-down'> {
  const { req, what, run } = m;
  run.say(
    `waiting for ${req.destination} to confirm that no copy of ${what} runs there before restarting it on ${req.source}. ` +
      `If ${req.destination} is down for good, run: ferry resolve ${m.workflowId} --destination-is-down`,
  );
  let removalFailed: unknown;
  const scope = new CancellationScope();
  let done = false;
  const removed = scope
    .run(removal)
    .then(() => true)
    .catch((err) => {
      if (!isCancelled(err)) removalFailed = err;
      return false;
    })
    .finally(() => (done = true));
  await condition(() => done || run.destinationDeclaredDown);
  if (done && (await removed)) return 'confirmed';
  if (!run.destinationDeclaredDown) {
    run.say(
      `${req.destination} failed to remove its copy of ${what} (${describeCause(removalFailed).message}); ` +
        `the source stays stopped to avoid two copies. Remove it there, then run: ferry resolve ${m.workflowId} --destination-is-down`,
    );
    await condition(() => run.destinationDeclaredDown);
  }
  scope.cancel();
  // Nothing more is asked of the host declared down: every step would wait for its worker.
  if (run.mode !== 'streamed')
    run.say(
      `the operator declared ${req.destination} down; restarting ${what} on ${req.source} without its confirmation (any copy there is removed when it is back: workflow cleanup-${m.id})`,
    );
  return 'declared-down';
}

/**
 * Streamed mode: the source's checkpoint has no pages (they went to the destination), so they
 * must come back first. False when they could not: the source cannot be restored.
 */
export async function bringPagesBack(m: Migration): Promise<boolean> {
  const { req, what, run } = m;
  if (run.mode !== 'streamed') return true;
  run.say(`bringing the streamed memory pages of ${what} back from ${req.destination}`);
  return m.dst.long.returnImages
    .executeWithOptions({ summary: `rollback: return the streamed pages of ${what} to ${req.source}` }, [
      { ...m.step, destination: req.source },
    ])
    .then(
      () => true,
      (err) => {
        run.say(
          `the pages of ${what} could not be brought back from ${req.destination} (${describeCause(err).message}); they are kept there. ${operatorHelp(m)}`,
        );
        return false;
      },
    );
}

/** Puts the source back from its local checkpoint; the last resort is a fresh start. */
export async function restoreSource(m: Migration): Promise<Outcome> {
  const { req, what, run, src } = m;
  run.say(`restoring ${what} on ${req.source} from its local checkpoint`);
  try {
    await src.long.restore.executeWithOptions(
      { summary: `rollback: restore ${what} on ${req.source} from its checkpoint` },
      [m.step],
    );
    await verifySource(m);
  } catch (err) {
    const why = describeCause(err).message;
    if (!req.allowStartFresh) {
      run.say(
        `restoring the checkpoint on ${req.source} failed (${why}); ${what} is stopped. ${await operatorHelpFromSource(m)}`,
      );
      return 'failed-needs-operator';
    }
    run.say(
      `restoring the checkpoint on ${req.source} failed (${why}); STARTING ${what} FRESH: its in-memory state is LOST`,
    );
    return startFresh(m);
  }
  run.say(`${what} runs again on ${req.source} from its checkpoint`);
  await bestEffort('remove the source images', src.quick.removeMigrationFiles({ migrationId: m.id }));
  return 'rolled-back';
}

/** Only when the request allows it: the workload runs again, without its in-memory state. */
async function startFresh(m: Migration): Promise<Outcome> {
  const { req, what, src } = m;
  try {
    await src.long.startFresh.executeWithOptions(
      { summary: `rollback: start ${what} fresh on ${req.source} (state lost)` },
      [m.ref],
    );
    await verifySource(m);
  } catch (err) {
    m.run.say(
      `starting ${what} fresh on ${req.source} failed too (${describeCause(err).message}); ${await operatorHelpFromSource(m)}`,
    );
    return 'failed-needs-operator';
  }
  await bestEffort('remove the source images', src.quick.removeMigrationFiles({ migrationId: m.id }));
  return 'restarted-fresh';
}

async function verifySource(m: Migration): Promise<void> {
  await m.src.once.verify.executeWithOptions(
    { summary: `rollback: verify ${m.what} runs on ${m.req.source}` },
    [{ ...m.ref, windowMs: DEFAULT_VERIFY_WINDOW_MS }],
  );
}

/**
 * Where the kept checkpoint is and how to restore it by hand: the source's own command line
 * when it gave one (its paths, CRIU on PATH, output into a log), else the runtime's record.
 */
export function operatorHelp(m: Migration, hostCommand?: string): string {
  const { req } = m;
  const imagesDir = `STATE/migrations/${m.id}/images`;
  const pages =
    m.run.mode === 'streamed'
      ? ` Its memory pages were streamed to ${req.destination}: first copy ${imagesDir}/pagemap-*.img and pages-*.img from ${req.destination} into the same folder on ${req.source}.`
      : '';
  // The host's own line stands alone on its line, to be pasted as it is.
  const how = hostCommand
    ? `To restore by hand there, run this line as root on ${req.source}:\n${hostCommand}\nor start it fresh.`
    : `To restore by hand there: ${m.caps.manualRestore({ workload: req.workload, imagesDir })}; or start it fresh.`;
  return `The images are kept in ${imagesDir} on ${req.source} (STATE = its stateDir).${pages} ${how} See docs/failure-handling.md.`;
}

/** The source just answered: it says how to restore its checkpoint by hand, in its own paths. */
async function operatorHelpFromSource(m: Migration): Promise<string> {
  const command = await m.src.brief.handRestore
    .executeWithOptions({ summary: `the command that restores ${m.what} on ${m.req.source} by hand` }, [
      m.step,
    ])
    .then(
      (r) => r.command,
      () => undefined,
    );
  return operatorHelp(m, command);
}
