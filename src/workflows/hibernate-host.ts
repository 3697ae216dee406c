import {
  CancellationScope,
  proxyActivities,
  condition,
  isCancellation,
  continueAsNew,
  defineQuery,
  defineSignal,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { ControlActivities } from '../activities/control.js';
import { describeCause } from '../domain/failures.js';
import {
  fallbackAssignments,
  HIBERNATION_QUERY,
  hibernationDetails,
  hibernationOutcome,
  HOST_BACK_SIGNAL,
  rebootedSince,
  retryCommand,
  type HibernateRequest,
  type HibernationPhase,
  type HibernationResult,
  type HibernationRow,
  type HostBoot,
} from '../domain/hibernation.js';
import { checkName, RUNTIMES } from '../domain/names.js';
import { globToRegExp, matchesLabels } from '../domain/placement.js';
import { snapshotId } from '../domain/snapshots.js';
import { forEachBounded } from './bounded.js';
import { hostSteps } from './host-steps.js';
import { SA } from './search-attributes.js';
import { findSnapshot, refuseBadInput } from './snapshots/catalog-steps.js';
import { copyTo } from './snapshots/copy.js';
import { takeSnapshot } from './snapshots/create.js';
import { removeSnapshot } from './snapshots/remove.js';
import { snapshotRestore } from './snapshots/restore.js';

export const hibernationQuery = defineQuery<HibernationResult>(HIBERNATION_QUERY);
export const hostBackSignal = defineSignal<[HostBoot]>(HOST_BACK_SIGNAL);

/** How often the wait asks the host itself (a missed signal costs at most this much). */
const FIRST_PROBE_MS = 5_000;
const MAX_PROBE_MS = 60_000;

/**
 * ferry hibernate HOST (docs/hibernation.md): cordon, checkpoint the selected workloads into the
 * host's own store and stop them, "ready to reboot"; then wait (durably, across continue-as-new)
 * for the host's worker to come back with a new boot id, restore and verify each workload, and
 * uncordon. A checkpoint that fails leaves its workload running; a restore that fails keeps the
 * snapshot and gives the command that retries it. Completes with the per-workload report.
 */
export async function hibernateHost(req: HibernateRequest): Promise<HibernationResult> {
  const r: HibernationResult = req.resume ?? {
    host: req.host,
    phase: 'checking',
    rows: [],
    startedAtMs: Date.now(),
    notes: [],
  };
  let announced: HostBoot | undefined;
  setHandler(hibernationQuery, () => r);
  setHandler(hostBackSignal, (boot) => {
    if (boot.host === req.host) announced = boot;
  });
  const phase = (p: HibernationPhase) => {
    r.phase = p;
    upsertSearchAttributes([{ key: SA.phase, value: p }]);
    setCurrentDetails(hibernationDetails(r));
  };
  const publish = () => setCurrentDetails(hibernationDetails(r));
  try {
    return await hibernate(req, r, () => announced, phase, publish);
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled (ferry cancel hibernate-HOST): whatever was stopped for the reboot comes back
    // now, on the host as it is; the snapshots stay for any that cannot.
    return CancellationScope.nonCancellable(async () => {
      r.notes.push('cancelled: the hibernated workloads are restored on the host now');
      phase('restoring');
      await restoreHere(req, r, publish).catch((e: unknown) =>
        r.notes.push(
          `the restores after the cancel failed (${describeCause(e, req.host).message}): the snapshots are kept; the rows give each retry command`,
        ),
      );
      for (const row of r.rows) if (row.state === 'restored') await forget(row, r);
      for (const row of r.rows)
        if (row.snapshotId && row.state !== 'restored')
          Object.assign(row, {
            state: 'restore-failed',
            retryCommand: retryCommand(row.snapshotId, req.host),
          });
      r.outcome = 'cancelled';
      if (r.wasCordoned === false) await control.setHostCordon({ host: req.host, cordoned: false });
      r.doneAtMs = Date.now();
      phase('done');
      return r;
    });
  }
}

async function hibernate(
  req: HibernateRequest,
  r: HibernationResult,
  announced: () => HostBoot | undefined,
  phase: (p: HibernationPhase) => void,
  publish: () => void,
): Promise<HibernationResult> {
  const host = hostSteps(req.host);

  if (!req.resume) {
    validate(req);
    phase('checking');
    try {
      await host.quick.checkDurableStore.executeWithOptions(
        { summary: `check that the snapshot store of ${req.host} survives a reboot` },
        [],
      );
      r.bootIdBefore = (
        await host.quick.hostBoot.executeWithOptions({ summary: `read the boot id of ${req.host}` }, [])
      ).bootId;
    } catch (err) {
      r.cause = describeCause(err, req.host);
      r.outcome = 'refused';
      r.doneAtMs = Date.now();
      phase('done');
      return r;
    }
    const cordon = (await control.getHostCordons({ hosts: [req.host] }))[0];
    r.wasCordoned = !!cordon?.cordoned;
    await control.setHostCordon({
      host: req.host,
      cordoned: true,
      reason: `hibernation ${workflowInfo().workflowId}`,
    });
    phase('checkpointing');
    await checkpointAll(req, r, publish);
    if (req.fallbackHosts?.length) {
      phase('copying');
      await copyToFallbacks(req, r, publish);
    }
    r.readyAtMs = Date.now();
    r.readyMs = r.readyAtMs - r.startedAtMs;
    phase('ready-to-reboot');
  }

  // Wait for the host to come back from its reboot (or the deadline, with fallback hosts).
  const back = await waitForReboot(req, r, announced, phase);
  if (back === 'continue') return await continueAsNew<typeof hibernateHost>({ ...req, resume: r });
  if (back === 'deadline') {
    phase('restoring-elsewhere');
    await restoreElsewhere(req, r, publish);
    r.outcome = hibernationOutcome(r.rows, true);
  } else {
    r.bootIdAfter = back.bootId;
    // From the worker's own word that it is up (its signal), else from when a probe found it.
    r.backAtMs = Math.min(back.atMs ?? Date.now(), Date.now());
    phase('restoring');
    await restoreHere(req, r, publish);
    r.resumeMs = Date.now() - r.backAtMs;
    // Only now that every workload runs again do the snapshots that carried them go.
    for (const row of r.rows) if (row.state === 'restored') await forget(row, r);
    r.outcome = hibernationOutcome(r.rows, false);
    if (!r.wasCordoned) await control.setHostCordon({ host: req.host, cordoned: false });
  }
  r.doneAtMs = Date.now();
  phase('done');
  return r;
}

const control = proxyActivities<ControlActivities>({
  startToCloseTimeout: '1m',
  retry: { maximumAttempts: 5 },
});

function validate(req: HibernateRequest): void {
  const problems = [
    checkName('host', req.host),
    ...(req.fallbackHosts ?? []).map((h) => checkName('host', h)),
  ];
  if (req.fallbackHosts?.includes(req.host)) problems.push(`${req.host} cannot be its own fallback host`);
  if (req.deadline !== undefined && Number.isNaN(Date.parse(req.deadline)))
    problems.push(`deadline ${req.deadline} is not an ISO date`);
  if (
    req.concurrency !== undefined &&
    (!Number.isInteger(req.concurrency) || req.concurrency < 1 || req.concurrency > 16)
  )
    problems.push('concurrency must be an integer from 1 to 16');
  for (const rt of req.runtimes ?? []) if (!RUNTIMES.includes(rt)) problems.push(`unknown runtime ${rt}`);
  refuseBadInput(problems);
}

/** Snapshot (and stop) each selected workload; one failure does not stop the others. */
async function checkpointAll(
  req: HibernateRequest,
  r: HibernationResult,
  publish: () => void,
): Promise<void> {
  const host = hostSteps(req.host);
  const filter = req.namePattern ? globToRegExp(req.namePattern) : undefined;
  const workloads = (await host.quick.listWorkloads({ runtimes: req.runtimes })).filter(
    (w) => (!filter || filter.test(w.name)) && matchesLabels(w.labels, req.labels),
  );
  r.rows = workloads.map((w) => ({ workload: w.name, runtime: w.runtime, state: 'pending' }));
  publish();
  await forEachBounded(r.rows, req.concurrency ?? 2, async (row) => {
    row.state = 'checkpointing';
    publish();
    const began = Date.now();
    try {
      const s = await takeSnapshot({
        workload: row.workload,
        runtime: row.runtime,
        host: req.host,
        stop: true,
        note: `hibernation of ${req.host} (${workflowInfo().workflowId})`,
        snapshotId: snapshotId(row.workload, Date.now(), uuid4()),
      });
      Object.assign(row, { state: 'hibernated', snapshotId: s.id, frozenMs: s.frozenMs });
    } catch (err) {
      const cause = describeCause(err, req.host);
      Object.assign(row, { state: 'checkpoint-failed', cause: `${cause.type}: ${cause.message}` });
    }
    row.checkpointMs = Date.now() - began;
    publish();
  });
  const failed = r.rows.filter((x) => x.state === 'checkpoint-failed');
  if (failed.length) {
    // Say whether each still runs (CRIU resumes what it could not dump): the operator decides.
    const running = await host.quick.listWorkloads({ runtimes: req.runtimes });
    for (const row of failed)
      row.running = running.some((w) => w.name === row.workload && w.runtime === row.runtime);
    r.notes.push(
      `${failed.length} workload(s) could not be checkpointed and ${failed.every((x) => x.running) ? 'keep running' : 'may not all be running (see the rows)'}: a reboot now loses their state; decide before rebooting`,
    );
  }
}

/** Opt-in: each snapshot gets a copy on a fallback host, for a host that does not come back. */
async function copyToFallbacks(
  req: HibernateRequest,
  r: HibernationResult,
  publish: () => void,
): Promise<void> {
  const rows = r.rows.filter((x) => x.snapshotId);
  const where = fallbackAssignments(
    rows.map((x) => x.workload),
    req.fallbackHosts ?? [],
  );
  await forEachBounded(rows, req.concurrency ?? 2, async (row) => {
    const to = where.get(row.workload)!;
    try {
      await copyTo(await findSnapshot(row.snapshotId!), to);
      row.copiedTo = to;
    } catch (err) {
      const cause = describeCause(err, to);
      r.notes.push(
        `the fallback copy of ${row.workload} to ${to} failed (${cause.message}): it can only come back on ${req.host}`,
      );
    }
    publish();
  });
}

/**
 * Resolves with the host's new boot once its worker is back after a reboot; 'deadline' when the
 * deadline passed and there are fallback copies; 'continue' when the history should start anew.
 * The worker's own signal wakes it at once; between signals it asks the host (briefly: a down
 * host does not answer), less often the longer it waits.
 */
async function waitForReboot(
  req: HibernateRequest,
  r: HibernationResult,
  announced: () => HostBoot | undefined,
  phase: (p: HibernationPhase) => void,
): Promise<HostBoot | 'deadline' | 'continue'> {
  const deadlineMs = req.deadline ? Date.parse(req.deadline) : undefined;
  const fallback = r.rows.some((x) => x.copiedTo);
  const rebooted = () => rebootedSince(r.bootIdBefore, announced()?.bootId);
  let probeMs = FIRST_PROBE_MS;
  for (;;) {
    if (rebooted()) return announced()!;
    const left = deadlineMs === undefined ? undefined : deadlineMs - Date.now();
    if (left !== undefined && left <= 0 && r.phase !== 'overdue') {
      if (fallback) return 'deadline';
      r.notes.push(`not back by the deadline ${req.deadline}: still waiting (no fallback hosts were given)`);
      phase('overdue');
    }
    const wait = left !== undefined && left > 0 ? Math.min(probeMs, left) : probeMs;
    if (await condition(rebooted, wait)) continue;
    // A probe taken by the worker the reboot killed only ends at its timeout: the signal of the
    // new worker must not wait for it.
    const probe = hostSteps(req.host)
      .probe.hostBoot.executeWithOptions(
        { summary: `is ${req.host} back after its reboot? (its boot id)` },
        [],
      )
      .then(
        (boot) => (rebootedSince(r.bootIdBefore, boot.bootId) ? boot : undefined),
        () => undefined, // down (or rebooting): the next signal or probe tells
      );
    // The wait for the signal ends with the round (cancelled), so that none piles up.
    const round = new CancellationScope();
    const signalled = round
      .run(() => condition(rebooted))
      .then(
        () => announced(),
        () => undefined,
      );
    const found = await Promise.race([probe, signalled]);
    round.cancel();
    if (found && rebootedSince(r.bootIdBefore, found.bootId)) return found;
    probeMs = Math.min(probeMs * 2, MAX_PROBE_MS);
    if (workflowInfo().continueAsNewSuggested) return 'continue';
  }
}

/** Back on the same host: each hibernated workload from its snapshot, then the snapshot goes. */
async function restoreHere(req: HibernateRequest, r: HibernationResult, publish: () => void): Promise<void> {
  const rows = r.rows.filter((x) => x.state === 'hibernated' || x.state === 'restoring');
  const running = await hostSteps(req.host).quick.listWorkloads({});
  await forEachBounded(rows, req.concurrency ?? 2, async (row) => {
    // Something runs under the name again (started by hand?): it is not replaced.
    if (running.some((w) => w.name === row.workload && w.runtime === row.runtime)) {
      Object.assign(row, {
        state: 'restore-failed',
        cause: `${row.runtime}/${row.workload} already runs on ${req.host} again: left alone, snapshot kept`,
        retryCommand: retryCommand(row.snapshotId!, req.host),
      });
      return;
    }
    row.state = 'restoring';
    publish();
    // replace: a stopped container the hibernation's checkpoint left under the name goes.
    await restoreRow(row, req.host, 'restored', true);
    publish();
  });
}

/** The host did not come back: each workload on the host its snapshot was copied to. */
async function restoreElsewhere(
  req: HibernateRequest,
  r: HibernationResult,
  publish: () => void,
): Promise<void> {
  const rows = r.rows.filter((x) => x.snapshotId && (x.state === 'hibernated' || x.state === 'restoring'));
  await forEachBounded(rows, req.concurrency ?? 2, async (row) => {
    if (!row.copiedTo) {
      Object.assign(row, {
        state: 'restore-failed',
        cause: `no fallback copy: it can only come back on ${req.host}`,
        retryCommand: retryCommand(row.snapshotId!, req.host),
      });
      return;
    }
    row.state = 'restoring';
    publish();
    await restoreRow(row, row.copiedTo, 'restored-elsewhere', false);
    publish();
  });
  r.notes.push(
    `${req.host} was not back by ${req.deadline}: it stays cordoned, and the snapshots stay in the catalog (the copies on ${req.host} cannot be removed while it is down: ferry snapshot rm ID once it is back)`,
  );
}

/** One workload from its snapshot on `host`; the row says how it went. */
async function restoreRow(
  row: HibernationRow,
  host: string,
  done: 'restored' | 'restored-elsewhere',
  replace: boolean,
): Promise<void> {
  const res = await snapshotRestore({ snapshotId: row.snapshotId!, host, replace });
  if (res.outcome === 'restored')
    Object.assign(row, {
      state: done,
      restoredOn: host,
      restoreMs: res.restoreMs,
      criuRestoreMs: res.criuRestoreMs,
    });
  else
    Object.assign(row, {
      state: 'restore-failed',
      cause: res.cause ? `${res.cause.type}: ${res.cause.message}` : 'restore failed',
      retryCommand: retryCommand(row.snapshotId!, host),
    });
}

/** The workload runs again: its snapshot (every copy) is no longer needed. */
async function forget(row: HibernationRow, r: HibernationResult): Promise<void> {
  try {
    await removeSnapshot(await findSnapshot(row.snapshotId!));
  } catch (err) {
    r.notes.push(
      `snapshot ${row.snapshotId} of ${row.workload} could not be removed (${describeCause(err).message}): ferry snapshot rm ${row.snapshotId}`,
    );
  }
}
