import { mkdir, statfs } from 'node:fs/promises';
import os from 'node:os';
import { ErrorType } from '../domain/errors.js';
import type {
  CriuOptions,
  HostFacts,
  PreflightSourceResult,
  WorkloadInfo,
  WorkloadNeeds,
} from '../domain/types.js';
import type { RuntimeName } from '../domain/names.js';
import { criuFeature, criuVersionChecked, dirtyTrackingSupport } from '../criu/criu.js';
import { ferryFailure } from '../domain/failures.js';
import type { NameHolder, WorkloadRuntime } from '../runtimes/runtime.js';
import type { HostContext } from './host-context.js';
import type { PreflightDestinationInput, PreflightSourceInput, WorkloadRef } from './inputs.js';
import { lazyDumpUnavailable } from '../criu/lazy.js';
import { CRIU_FAILURE_RULES, fixFor } from '../criu/classify.js';
import { checkpointBlockers } from '../host/checkpoint-blockers.js';
import { checkPeerSsh } from '../transfer/ssh-check.js';
import { hostSshOptions } from './transfer.js';
import { hostCgroupLayout } from '../host/cgroup-layout.js';

export async function describeHost(ctx: HostContext): Promise<HostFacts> {
  await mkdir(ctx.paths.stateDir, { recursive: true, mode: 0o700 });
  const fs = await statfs(ctx.paths.stateDir);
  const criuVersion = await criuVersionChecked();
  const dirty = await dirtyTrackingSupport();
  return {
    host: ctx.host.name,
    criuVersion,
    kernel: os.release(),
    freeBytes: fs.bavail * fs.bsize,
    freeMemoryBytes: os.freemem(),
    runtimes: ctx.host.runtimes,
    dirtyTracking: dirty.supported,
    cgroupLayout: await hostCgroupLayout(),
    ...(dirty.reason ? { dirtyTrackingReason: dirty.reason } : {}),
  };
}

/** The transfer's SSH to the peer works (host key known and the same, key accepted), checked once. */
async function refuseUnreachablePeer(ctx: HostContext, peerName: string): Promise<void> {
  const peer = ctx.peer(peerName);
  const problem = await checkPeerSsh(peer.ssh, await hostSshOptions(ctx), {
    from: ctx.host.name,
    peer: peer.name,
  });
  // Not retried: another attempt a second later meets the same known_hosts and sshd.
  if (problem) throw ferryFailure(problem.type, problem.message, { nonRetryable: true });
}

export function preflightActivities(ctx: HostContext) {
  return {
    describeHost: () => describeHost(ctx),

    /** Running workloads of the runtimes this host has (or of those asked for). */
    async listWorkloads(input: { runtimes?: RuntimeName[] }): Promise<WorkloadInfo[]> {
      const runtimes = ctx.host.runtimes.filter((r) => !input.runtimes || input.runtimes.includes(r));
      // A runtime the config enables but this host does not have (yet) holds no workloads.
      const lists = await Promise.all(
        runtimes.map(async (r) => {
          const rt = ctx.runtime(r);
          return (await rt.unavailableReason()) ? [] : rt.list();
        }),
      );
      return lists.flat().filter((w) => w.running);
    },

    /** Source: CRIU works, runtime present, the workload exists and runs. Changes nothing. */
    async preflightSource(ref: PreflightSourceInput): Promise<PreflightSourceResult> {
      const runtime = ctx.runtime(ref.runtime);
      const missing = await runtime.unavailableReason();
      if (missing) throw ferryFailure(ErrorType.RuntimeUnavailable, `on ${ctx.host.name}: ${missing}`);
      const facts = await describeHost(ctx);
      if (ref.peer) await refuseUnreachablePeer(ctx, ref.peer);
      if (ref.adopt) await adopt(runtime, ref);
      const info = await runtime.inspect(ref.workload);
      if (!info) {
        const known = (await runtime.list()).map((w) => w.name);
        throw ferryFailure(
          ErrorType.WorkloadNotFound,
          `no ${ref.runtime} workload "${ref.workload}" on host ${ctx.host.name}` +
            (known.length ? ` (it has: ${known.join(', ')})` : ` (it has no ${ref.runtime} workloads)`),
        );
      }
      if (!info.running)
        throw ferryFailure(
          ErrorType.WorkloadNotRunning,
          `${ref.runtime} workload "${ref.workload}" exists on ${ctx.host.name} but is not running: nothing to migrate`,
        );
      const problems = await runtime.notMovable(ref.workload);
      if (problems.length)
        throw ferryFailure(
          ErrorType.NotMovable,
          `${ref.runtime}/${ref.workload} on ${ctx.host.name} cannot be migrated: ${problems.join('; ')}`,
        );
      if (ref.checkpointable && info.pid)
        await refuseUncheckpointable(
          `${ref.runtime}/${ref.workload}`,
          ctx.host.name,
          runtime,
          info.pid,
          ref.checkpointable,
        );
      if (ref.mode === 'postcopy')
        facts.postcopyUnavailable = await postcopyRefused(runtime, () => lazyDumpUnavailable(ctx.host.name));
      return { facts, workload: info };
    },

    /** Destination, once the source said what the workload needs: image, bind-mounted paths. */
    async checkDestinationFit(input: WorkloadRef & { needs: WorkloadNeeds }): Promise<void> {
      const unfit = await ctx.runtime(input.runtime).unfitFor(input.needs);
      if (unfit.length)
        throw ferryFailure(
          unfit[0]!.type,
          `${input.runtime}/${input.workload} cannot run on ${ctx.host.name}: ${unfit.map((u) => u.message).join('; ')}`,
        );
    },

    /**
     * Destination: CRIU works, runtime present, nothing holds the workload's name (for container
     * engines: no container of that name in any state, unless replaceStopped lets a stopped one
     * go). Its free space comes back in the facts; the workflow checks it against the source's
     * memory (imageSpaceNeeded).
     */
    async preflightDestination(input: PreflightDestinationInput): Promise<PreflightDestinationResult> {
      const runtime = ctx.runtime(input.runtime);
      const missing = await runtime.unavailableReason();
      if (missing) throw ferryFailure(ErrorType.RuntimeUnavailable, `on ${ctx.host.name}: ${missing}`);
      const facts: PreflightDestinationResult = await describeHost(ctx);
      const holder = await runtime.nameHolder?.(input.workload);
      if (holder) refuseUnlessReplaceable(input, ctx.host.name, holder);
      else if ((await runtime.inspect(input.workload))?.running)
        throw ferryFailure(
          ErrorType.WorkloadAlreadyOnDestination,
          `a ${input.runtime} workload "${input.workload}" already runs on ${ctx.host.name}; remove it there or pick another destination`,
        );
      // Images hold process memory: their folders are private from the start.
      await mkdir(ctx.paths.migrationsRoot(), { recursive: true, mode: 0o700 });
      await mkdir(ctx.paths.migrationDir(input.migrationId), { recursive: true, mode: 0o700 });
      if (holder) {
        await runtime.allowReplacing!(input.workload, input.migrationId, holder);
        facts.replacing = {
          id: holder.id,
          state: holder.state,
          note: `replaceStopped: the stopped ${input.runtime} container ${input.workload} on ${ctx.host.name} (state ${holder.state}, id ${holder.id.slice(0, 12)}) is removed just before the restore; it stays if the migration ends earlier`,
        };
      }
      if (input.mode === 'postcopy')
        facts.postcopyUnavailable = await postcopyRefused(runtime, () => postcopyUnavailable(facts));
      return facts;
    },
  };
}

/** What the destination preflight says back: its facts, and what the restore will replace. */
export interface PreflightDestinationResult extends HostFacts {
  /** replaceStopped: the stopped same-name container the restore removes (note: for the result). */
  replacing?: { id: string; state: string; note: string };
}

/**
 * A container holds the name on the destination. Running: always refused. Stopped: refused
 * unless the request says replaceStopped. Either message names its state, id and how to remove it.
 */
export function refuseUnlessReplaceable(
  input: PreflightDestinationInput,
  host: string,
  holder: NameHolder,
): void {
  const what = `a ${input.runtime} container named "${input.workload}"`;
  const id = holder.id.slice(0, 12);
  if (holder.running)
    throw ferryFailure(
      ErrorType.WorkloadAlreadyOnDestination,
      `${what} already runs on ${host} (state ${holder.state}, id ${id}); ferry never replaces a running container. Stop and remove it there if it is not needed (${holder.removeCommand}), or pick another destination`,
    );
  if (!input.replaceStopped)
    throw ferryFailure(
      ErrorType.NameTakenOnDestination,
      `${what} already exists on ${host} (state ${holder.state}, id ${id}) and ferry did not create it, so it is left alone. Remove it there (${holder.removeCommand}), or let the migration replace a stopped container of that name (replaceStopped: true; CLI --replace-stopped)`,
    );
}

/**
 * A process tree ferry did not start becomes the workload, here on the source, before anything
 * else looks for it; the runtime refuses (typed, with the fix) what CRIU could not move.
 */
async function adopt(runtime: WorkloadRuntime, ref: PreflightSourceInput): Promise<void> {
  if (!runtime.adopt)
    throw ferryFailure(
      ErrorType.InvalidInput,
      `the ${ref.runtime} runtime cannot adopt a running process (--pid, --pidfile, --unit): a ${ref.runtime} ` +
        `workload is migrated by its name alone; a process tree that ferry did not start moves with --runtime process`,
    );
  await runtime.adopt(ref.workload, ref.adopt!, ref.criu ?? {});
}

/**
 * Refuses, before any freeze, what CRIU would refuse about the workload with these options
 * (src/host/checkpoint-blockers.ts); the fix is the one CRIU's own refusal would get. There is no
 * CRIU dry run: CRIU 4.2 has no `dump --check-only`, and `dump --leave-running` freezes the
 * workload as long as the real dump (docs/failure-handling.md).
 */
async function refuseUncheckpointable(
  what: string,
  host: string,
  runtime: WorkloadRuntime,
  pid: number,
  criu: CriuOptions,
): Promise<void> {
  const blockers = await checkpointBlockers(pid, criu);
  if (!blockers.length) return;
  const fixes = blockers.map((b) => {
    const rule = CRIU_FAILURE_RULES.find((r) => r.id === b.rule)!;
    return fixFor({ fix: rule.fix, option: b.option }, runtime.capabilities);
  });
  throw ferryFailure(
    ErrorType.NotCheckpointable,
    `${what} cannot be checkpointed on ${host}: ${blockers.map((b) => b.problem).join('; ')}. Fix: ${[...new Set(fixes)].join('; ')}. Found before any freeze: the workload was not frozen and runs on as before.`,
    { details: [{ rules: blockers.map((b) => b.rule) }] },
  );
}

/**
 * Why post-copy cannot run here for this runtime, or undefined. The record answers first: where
 * it says no, no host probe can change that (and chooseMode refuses with the record's reason).
 */
async function postcopyRefused(
  runtime: WorkloadRuntime,
  probe: () => Promise<string | undefined>,
): Promise<string | undefined> {
  const mode = runtime.capabilities.modes.postcopy;
  return mode === true ? probe() : mode;
}

/** Why this host cannot restore lazily (post-copy), or undefined: a live probe. */
async function postcopyUnavailable(facts: HostFacts): Promise<string | undefined> {
  if (!(await criuFeature('uffd-noncoop')))
    return `${facts.host} has no non-cooperative userfaultfd (criu check --feature uffd-noncoop fails)`;
  return undefined;
}
