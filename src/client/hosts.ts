// Hosts through the typed client: whose worker is up now (pollers first, then a probe of those
// that polled recently), what each says about itself, and the one refusal every request that
// needs a host's worker uses (migrations, evacuations, snapshots).
import { randomBytes } from 'node:crypto';
import { getCordon } from '../activities/control.js';
import {
  lastPollAgoS,
  PROBE_PICKUP_S,
  pollersRuleOut,
  probeDownReason,
  workerCommand,
  workerDownMessage,
  type PollerSeen,
} from '../domain/host-liveness.js';
import { hostTaskQueue, WORKFLOW_TASK_QUEUE } from '../domain/names.js';
import type { RuntimeName } from '../domain/names.js';
import type { HostProbeAnswer } from '../workflows/host-probe.js';
import { MigrationRequestError } from './errors.js';
import type { ClientContext } from './runs.js';

/** Whether a host's worker answered just now, and what it said. */
export interface WorkerLiveness {
  host: string;
  up: boolean;
  /** Why it is not up. */
  downBecause?: string;
  /** Seconds since its most recent poll of ferry-host-NAME; absent when no poller is listed. */
  lastPollAgoS?: number;
  info?: HostProbeAnswer['info'];
}

/** One configured host as `ferry hosts` (and GET /v1/hosts) shows it. */
export interface HostStatus {
  name: string;
  up: boolean;
  downBecause?: string;
  /** The command that starts its worker, when it is not up. */
  startWith?: string;
  lastPollAgoS?: number;
  address: string;
  stateDir: string;
  /** host.runc.root of the config: where its runc containers live. */
  runcRoot: string;
  ferryVersion?: string;
  criuVersion?: string;
  criuProblem?: string;
  kernel?: string;
  /** What its worker serves (the config's list when the worker is down). */
  runtimes: RuntimeName[];
  /** Free bytes in its state folder (from its worker). */
  freeBytes?: number;
  /** null: the cordon could not be read (no worker runs any workflow). */
  cordoned: boolean | null;
  cordonReason?: string;
}

/** Beyond the probe's own pick-up window: the workflow task before it and the answer after. */
const PROBE_DEADLINE_MS = (PROBE_PICKUP_S + 4) * 1000;

async function pollersOf(ctx: ClientContext, host: string): Promise<PollerSeen[]> {
  const res = await ctx.temporal.workflowService.describeTaskQueue({
    namespace: ctx.temporal.options.namespace,
    taskQueue: { name: hostTaskQueue(host) },
    taskQueueType: 2, // activity
  });
  return (res.pollers ?? []).map((p) => ({
    identity: p.identity ?? undefined,
    lastAccessMs: p.lastAccessTime
      ? Number(p.lastAccessTime.seconds ?? 0) * 1000 + Math.floor((p.lastAccessTime.nanos ?? 0) / 1e6)
      : undefined,
  }));
}

/** One hostProbe run for these hosts; when no worker runs it in time, all are down. */
async function probe(ctx: ClientContext, hosts: string[]): Promise<HostProbeAnswer[]> {
  const handle = await ctx.temporal.workflow.start('hostProbe', {
    workflowId: `host-probe-${Date.now()}-${randomBytes(3).toString('hex')}`,
    taskQueue: WORKFLOW_TASK_QUEUE,
    args: [{ hosts }],
    workflowExecutionTimeout: '1m',
    staticSummary: `is the worker of ${hosts.join(', ')} up?`,
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), PROBE_DEADLINE_MS);
  });
  try {
    const answers = (await Promise.race([handle.result(), late])) as HostProbeAnswer[] | undefined;
    if (answers) return answers;
    await handle.terminate('no worker ran the host probe in time').catch(() => undefined);
    return hosts.map((host) => ({ host, down: probeDownReason('no-workflow-worker') }));
  } finally {
    clearTimeout(timer);
  }
}

/** Each host's worker: up only when it polled recently and answered the probe just now. */
export async function workerLiveness(ctx: ClientContext, hosts: string[]): Promise<WorkerLiveness[]> {
  const now = Date.now();
  const polled = await Promise.all(
    hosts.map(async (host) => ({ host, agoS: lastPollAgoS(await pollersOf(ctx, host), now) })),
  );
  const toProbe = polled.filter((p) => !pollersRuleOut(p.agoS, p.host)).map((p) => p.host);
  const answers = toProbe.length ? await probe(ctx, toProbe) : [];
  return polled.map(({ host, agoS }) => {
    const seen = agoS === undefined ? {} : { lastPollAgoS: agoS };
    const ruledOut = pollersRuleOut(agoS, host);
    if (ruledOut) return { host, up: false, downBecause: ruledOut, ...seen };
    const answer = answers.find((a) => a.host === host);
    if (answer?.info) return { host, up: true, ...seen, info: answer.info };
    return { host, up: false, downBecause: answer?.down ?? probeDownReason('failed'), ...seen };
  });
}

export async function hasWorker(ctx: ClientContext, host: string): Promise<boolean> {
  return (await workerLiveness(ctx, [host]))[0]!.up;
}

/**
 * Refuses (MigrationRequestError, no-worker) a request that needs these hosts when any of their
 * workers is down, naming each such host and the command that starts its worker. `known`: the
 * liveness the caller has already read (no second probe).
 */
export async function requireWorkers(
  ctx: ClientContext,
  needed: { role: string; host: string }[],
  known?: WorkerLiveness[],
): Promise<void> {
  const hosts = [...new Set(needed.map((n) => n.host))];
  const liveness = known ?? (await workerLiveness(ctx, hosts));
  const down = liveness.filter((l) => hosts.includes(l.host) && !l.up);
  if (!down.length) return;
  throw new MigrationRequestError(
    down
      .map((d) =>
        workerDownMessage(
          needed.find((n) => n.host === d.host)!.role,
          d.host,
          d.downBecause ?? 'it did not answer',
          ctx.configFile,
        ),
      )
      .join('\n'),
    'no-worker',
  );
}

/** Every configured host: its worker's liveness and answer, its cordon, its config. */
export async function describeHosts(ctx: ClientContext): Promise<HostStatus[]> {
  const names = ctx.hosts?.map((h) => h.name) ?? ctx.knownHosts ?? [];
  const [liveness, cordons] = await Promise.all([
    workerLiveness(ctx, names),
    Promise.all(
      names.map((h) => withDeadline(getCordon(ctx.temporal, h), PROBE_DEADLINE_MS).catch(() => undefined)),
    ),
  ]);
  return names.map((name, i): HostStatus => {
    const l = liveness[i]!;
    const c = cordons[i];
    const config = ctx.hosts?.find((h) => h.name === name);
    return {
      name,
      up: l.up,
      ...(l.up ? {} : { downBecause: l.downBecause, startWith: workerCommand(name, ctx.configFile) }),
      ...(l.lastPollAgoS === undefined ? {} : { lastPollAgoS: l.lastPollAgoS }),
      address: config ? `${config.ssh.address}:${config.ssh.port}` : '',
      stateDir: l.info?.stateDir ?? config?.stateDir ?? '',
      runcRoot: config?.runc?.root ?? '/run/runc',
      ...(l.info
        ? {
            ferryVersion: l.info.ferryVersion,
            ...(l.info.criuVersion ? { criuVersion: l.info.criuVersion } : {}),
            ...(l.info.criuProblem ? { criuProblem: l.info.criuProblem } : {}),
            kernel: l.info.kernel,
            freeBytes: l.info.freeBytes,
          }
        : {}),
      runtimes: l.info?.runtimes ?? config?.runtimes ?? [],
      cordoned: c ? c.cordoned : null,
      ...(c?.reason && c.cordoned ? { cordonReason: c.reason } : {}),
    };
  });
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Refuses to start a workflow no worker would run: nothing polls the workflow queue. */
export async function requireWorkflowWorker(ctx: ClientContext): Promise<void> {
  const res = await ctx.temporal.workflowService.describeTaskQueue({
    namespace: ctx.temporal.options.namespace,
    taskQueue: { name: WORKFLOW_TASK_QUEUE },
    taskQueueType: 1, // workflow
  });
  if (!res.pollers?.length)
    throw new MigrationRequestError(
      `no ferry worker is running (task queue ${WORKFLOW_TASK_QUEUE} has no pollers): start one with ferry worker --host NAME`,
      'no-worker',
    );
}
