// Activity options, defined once per kind of step: every workflow reaches a host's activities
// through hostSteps(host), and call sites pass only what differs (the summary, a window).
import { ActivityCancellationType, log, proxyActivities } from '@temporalio/workflow';
import type { ActivityOptions, RetryPolicy } from '@temporalio/common';
import type { HostActivities } from '../activities/index.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import { withHostNamed } from '../domain/failures.js';
import { PROBE_PICKUP_S } from '../domain/host-liveness.js';
import { hostTaskQueue } from '../domain/names.js';

/** Infinity: retry for as long as it takes (fencing); the SDK refuses 0. */
const retry = (maximumAttempts: number, maximumInterval = '20s'): RetryPolicy => ({
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval,
  maximumAttempts,
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
});

// A host whose worker is down has no poller: scheduleToStart turns that into a clear failure
// (and proves the step never started there) instead of a step that waits forever.
const quick: ActivityOptions = {
  startToCloseTimeout: '2m',
  scheduleToStartTimeout: '30s',
  retry: retry(3),
};
// Long steps heartbeat every 2 s: a killed worker is noticed in 10 s and the step retried.
// WAIT_CANCELLATION_COMPLETED: on cancel, know whether a dump or restore really happened.
const long: ActivityOptions = {
  startToCloseTimeout: '60m',
  scheduleToStartTimeout: '30s',
  heartbeatTimeout: '10s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: retry(5),
};

export const STEP_KINDS = {
  quick,
  long,
  /** One attempt: the workflow decides about another (restore attempts, verify, lazy restore). */
  once: { ...long, retry: retry(1) },
  /** Cleanup after success: worth many tries, never worth failing the migration for. */
  cleanup: { ...quick, retry: retry(10) },
  /** Fencing: a copy may run there, so wait for the host as long as it takes. */
  fenced: { ...quick, scheduleToStartTimeout: '3650d', retry: retry(Number.POSITIVE_INFINITY, '30s') },
  /** No copy can run there: ask briefly, clean up later if it does not answer. */
  brief: { ...quick, scheduleToStartTimeout: '10s', retry: retry(5, '30s') },
  /** Is the host's worker up now? One attempt, a few seconds to be picked up (docs/hosts.md). */
  probe: {
    startToCloseTimeout: '1m',
    scheduleToStartTimeout: `${PROBE_PICKUP_S}s`,
    retry: retry(1),
  },
  /** Left for when the host is back (abandoned cleanup workflows). */
  whenBack: {
    scheduleToStartTimeout: '30d',
    startToCloseTimeout: '5m',
    retry: { initialInterval: '5s', maximumInterval: '5m', backoffCoefficient: 2 },
  },
} as const satisfies Record<string, ActivityOptions>;

export type StepKind = keyof typeof STEP_KINDS;
type Proxy = ReturnType<typeof proxyActivities<HostActivities>>;
export type HostSteps = { readonly host: string; readonly taskQueue: string } & Readonly<
  Record<StepKind, Proxy>
>;

/** The activities of one host, by kind of step, all on that host's own task queue. */
export function hostSteps(host: string): HostSteps {
  const taskQueue = hostTaskQueue(host);
  const kinds = Object.fromEntries(
    Object.entries(STEP_KINDS).map(([kind, opts]) => [
      kind,
      namingHost(host, proxyActivities<HostActivities>({ ...opts, taskQueue })),
    ]),
  ) as Record<StepKind, Proxy>;
  return { host, taskQueue, ...kinds };
}

type Step = ((...args: unknown[]) => Promise<unknown>) & {
  executeWithOptions: (opts: unknown, args: unknown[]) => Promise<unknown>;
};

/** The proxy's steps, each failing with its timeouts worded with the host (withHostNamed). */
function namingHost(host: string, proxy: Proxy): Proxy {
  const rename = (err: unknown) => {
    throw withHostNamed(err, host);
  };
  return new globalThis.Proxy(proxy, {
    get(target, name) {
      const step = Reflect.get(target, name) as Step;
      if (typeof step !== 'function') return step;
      const named = (...args: unknown[]) => step(...args).catch(rename);
      named.executeWithOptions = (opts: unknown, args: unknown[]) =>
        step.executeWithOptions(opts, args).catch(rename);
      return named;
    },
  });
}

/** Waits for a step whose failure changes nothing (a cleanup, a stop); logs why it failed. */
export async function bestEffort(what: string, step: Promise<unknown>): Promise<void> {
  await step.then(
    () => undefined,
    (err: unknown) => log.warn(`${what} failed (best effort, going on)`, { error: String(err) }),
  );
}

/** Whether a step succeeded; its failure is the answer, not an error. */
export function succeeded(step: Promise<unknown>): Promise<boolean> {
  return step.then(
    () => true,
    () => false,
  );
}
