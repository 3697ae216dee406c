import {
  ApplicationFailure,
  defineQuery,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { ControlActivities } from '../activities/control.js';
import { ErrorType } from '../domain/errors.js';
import { checkName, migrationWorkflowId, RUNTIMES, type RuntimeName } from '../domain/names.js';
import { globToRegExp, matchesLabels, planPlacement, type PlacementCandidate } from '../domain/placement.js';
import type { Outcome } from '../domain/types.js';
import { hostSteps } from './host-steps.js';
import { migrate } from './migrate/migrate.js';

/** Input of `evacuateHost` (docs/workflows.md). */
export interface EvacuateRequest {
  host: string;
  /** Where workloads may go: the client fills in every other configured host by default. */
  candidates: string[];
  /** Migrations at once (default 2). */
  concurrency?: number;
  /** ISO time (e.g. the reboot): no migration starts when it could not finish before. */
  deadline?: string;
  runtimes?: RuntimeName[];
  /** Shell-style name filter, e.g. "web-*". */
  namePattern?: string;
  /** Only workloads with all these labels. */
  labels?: Record<string, string>;
  allowStartFresh?: boolean;
}

export type EvacuationOutcome = Outcome | 'no-destination' | 'skipped-deadline' | 'not-started';

export interface EvacuationRow {
  workload: string;
  runtime: RuntimeName;
  destination?: string;
  outcome: EvacuationOutcome | 'pending' | 'migrating';
  downtimeMs?: number;
  cause?: string;
}

export interface EvacuationResult {
  host: string;
  rows: EvacuationRow[];
  moved: number;
  totalMs: number;
  excludedCandidates: { host: string; reason: string }[];
}

export const evacuationQuery = defineQuery<EvacuationResult>('evacuation');
export const evacuationWorkflowId = (host: string) => `evacuate-${host}`;

const DEFAULT_ESTIMATE_MS = 60_000;

/**
 * Moves every (matching) running workload off a host, as child migrate workflows with bounded
 * concurrency. Cordons the host first (and leaves it cordoned: it is about to go down).
 */
export async function evacuateHost(req: EvacuateRequest): Promise<EvacuationResult> {
  const deadlineMs = validate(req);
  const startedAt = Date.now();
  const result: EvacuationResult = { host: req.host, rows: [], moved: 0, totalMs: 0, excludedCandidates: [] };
  setHandler(evacuationQuery, () => result);
  const publish = () => setCurrentDetails(details(result));

  // 1. Cordon: nothing new lands here while it empties (it stays cordoned: it is going down).
  await control.setHostCordon({
    host: req.host,
    cordoned: true,
    reason: `evacuation ${workflowInfo().workflowId}`,
  });
  // 2. What runs here, and what can take it. 3. Placement.
  const queue = await place(req, result);
  publish();
  // 4. Migrate with bounded concurrency; one failure does not stop the others.
  await migrateAll(req, queue, deadlineMs, publish);
  result.moved = result.rows.filter((r) => r.outcome === 'migrated').length;
  result.totalMs = Date.now() - startedAt;
  publish();
  return result;
}

const control = proxyActivities<ControlActivities>({
  startToCloseTimeout: '1m',
  retry: { maximumAttempts: 5 },
});

/** Throws InvalidInput naming every problem; returns the deadline in ms when there is one. */
function validate(req: EvacuateRequest): number | undefined {
  const problems = [checkName('host', req.host), ...req.candidates.map((c) => checkName('host', c))].filter(
    Boolean,
  );
  if (req.candidates.includes(req.host)) problems.push(`${req.host} cannot be its own destination`);
  if (
    req.concurrency !== undefined &&
    (!Number.isInteger(req.concurrency) || req.concurrency < 1 || req.concurrency > 32)
  )
    problems.push('concurrency must be an integer from 1 to 32');
  const deadlineMs = req.deadline === undefined ? undefined : Date.parse(req.deadline);
  if (deadlineMs !== undefined && Number.isNaN(deadlineMs))
    problems.push(`deadline ${req.deadline} is not an ISO date`);
  for (const r of req.runtimes ?? []) if (!RUNTIMES.includes(r)) problems.push(`unknown runtime ${r}`);
  if (problems.length) throw ApplicationFailure.nonRetryable(problems.join('; '), ErrorType.InvalidInput);
  return deadlineMs;
}

/** Lists the selected workloads, asks every candidate for its facts, and places each workload. */
async function place(req: EvacuateRequest, result: EvacuationResult): Promise<EvacuationRow[]> {
  const source = hostSteps(req.host).quick;
  const [workloads, sourceFacts] = await Promise.all([
    source.listWorkloads({ runtimes: req.runtimes }),
    source.describeHost(),
  ]);
  const filter = req.namePattern ? globToRegExp(req.namePattern) : undefined;
  const selected = workloads.filter(
    (w) => (!filter || filter.test(w.name)) && matchesLabels(w.labels, req.labels),
  );
  const candidates = await candidateFacts(req.candidates, result);
  const plan = planPlacement(
    selected.map((w) => ({ name: w.name, runtime: w.runtime, rssBytes: w.rssBytes ?? 0 })),
    candidates,
    sourceFacts.criuVersion,
  );
  const queue = plan.assignments.map((a) => {
    const row: EvacuationRow = {
      workload: a.workload.name,
      runtime: a.workload.runtime,
      destination: a.destination,
      outcome: 'pending',
    };
    result.rows.push(row);
    return row;
  });
  for (const u of plan.unplaced)
    result.rows.push({
      workload: u.workload.name,
      runtime: u.workload.runtime,
      outcome: 'no-destination',
      cause: u.reason,
    });
  return queue;
}

/** Cordoned and unreachable candidates are left out, with the reason in the result. */
async function candidateFacts(hosts: string[], result: EvacuationResult): Promise<PlacementCandidate[]> {
  const cordons = await control.getHostCordons({ hosts });
  const candidates: PlacementCandidate[] = [];
  await Promise.all(
    hosts.map(async (host) => {
      const cordon = cordons.find((c) => c.host === host);
      if (cordon?.cordoned) {
        result.excludedCandidates.push({
          host,
          reason: `cordoned${cordon.reason ? ` (${cordon.reason})` : ''}`,
        });
        return;
      }
      try {
        // The client checked the workers a moment ago: a candidate that does not answer now is out.
        const facts = await hostSteps(host).probe.describeHost();
        candidates.push({
          host,
          freeMemoryBytes: facts.freeMemoryBytes,
          freeDiskBytes: facts.freeBytes,
          runtimes: facts.runtimes,
          criuVersion: facts.criuVersion,
        });
      } catch (err) {
        result.excludedCandidates.push({ host, reason: `unreachable: ${(err as Error).message}` });
      }
    }),
  );
  return candidates.sort((a, b) => a.host.localeCompare(b.host)); // deterministic order for placement
}

/** A deadline stops starting migrations that could not finish (estimate: the longest so far). */
async function migrateAll(
  req: EvacuateRequest,
  queue: EvacuationRow[],
  deadlineMs: number | undefined,
  publish: () => void,
): Promise<void> {
  const concurrency = req.concurrency ?? 2;
  const durations: number[] = [];
  const running = new Set<Promise<void>>();
  for (const row of queue) {
    while (running.size >= concurrency) await Promise.race(running);
    const estimate = durations.length ? Math.max(...durations) : DEFAULT_ESTIMATE_MS;
    if (deadlineMs !== undefined && Date.now() + estimate > deadlineMs) {
      row.outcome = 'skipped-deadline';
      row.cause = `less than the ${Math.round(estimate / 1000)} s a migration takes was left before ${req.deadline}`;
      continue;
    }
    const began = Date.now();
    const task = migrateOne(req, row, publish)
      .then(() => void durations.push(Date.now() - began))
      .finally(() => running.delete(task));
    running.add(task);
  }
  await Promise.all(running);
}

/** One child migration; its row carries the outcome, or why it did not start. */
async function migrateOne(req: EvacuateRequest, row: EvacuationRow, publish: () => void): Promise<void> {
  row.outcome = 'migrating';
  publish();
  try {
    const child = await startChild(migrate, {
      workflowId: migrationWorkflowId(row.runtime, req.host, row.workload),
      args: [
        {
          workload: row.workload,
          runtime: row.runtime,
          source: req.host,
          destination: row.destination!,
          allowStartFresh: req.allowStartFresh,
        },
      ],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      staticSummary: `migrate ${row.runtime}/${row.workload}: ${req.host} → ${row.destination} (evacuation)`,
    });
    const r = await child.result();
    row.outcome = r.outcome;
    row.downtimeMs = r.downtimeMs;
    if (r.cause) row.cause = `${r.cause.type}: ${r.cause.message}`;
  } catch (err) {
    row.outcome = 'not-started';
    row.cause = (err as Error).message;
  }
  publish();
}

function details(r: EvacuationResult): string {
  const rows = r.rows
    .map(
      (x) =>
        `| ${x.runtime}/${x.workload} | ${x.destination ?? '-'} | ${x.outcome} | ${x.downtimeMs ?? '-'} | ${x.cause ?? ''} |`,
    )
    .join('\n');
  const excluded = r.excludedCandidates.map((e) => `${e.host}: ${e.reason}`).join('; ');
  return `Evacuating **${r.host}**${excluded ? ` (not used: ${excluded})` : ''}\n\n| workload | destination | outcome | downtime ms | cause |\n|---|---|---|---|---|\n${rows}`;
}
