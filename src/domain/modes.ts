// The choice among migration modes. Pure and deterministic: used by the workflow.
import { canRun, type RuntimeCapabilities } from './capabilities.js';
import type { MigrationMode, RequestedMode } from './mode-names.js';

export { REQUESTED_MODES, isRequestedMode, type MigrationMode, type RequestedMode } from './mode-names.js';

/** Below this much memory, pre-copy rounds cost more than the freeze they save. */
export const PRECOPY_MIN_BYTES = 256 * 1024 * 1024;

/** Host facts the choice depends on, gathered by the preflight of both hosts. */
export interface ModeFacts {
  /** The workload's runtime: what it can do (src/runtimes/*-capabilities.ts). */
  capabilities: RuntimeCapabilities;
  /** Resident memory of the workload on the source. */
  rssBytes: number;
  /** The source kernel tracks dirty pages (`criu check --feature mem_dirty_track`). */
  dirtyTracking: boolean;
  /** CRIU's words when dirtyTracking is false. */
  dirtyTrackingReason?: string;
  /** Lazy migration works between these hosts; undefined when it does, else why not. */
  postcopyUnavailable?: string;
}

export type ModeChoice = { ok: true; mode: MigrationMode; reason: string } | { ok: false; reason: string };

/**
 * auto: pre-copy when the kernel tracks dirty pages and the workload is large enough to
 * benefit, else stop-and-copy (rsync; measured no slower than streaming on every size, see
 * docs/bench-downtime.md). Never post-copy unless asked: it can lose the workload.
 * A forced mode the hosts cannot run is refused with the reason, before anything is frozen.
 */
export function chooseMode(requested: RequestedMode, facts: ModeFacts): ModeChoice {
  const mib = Math.round(facts.rssBytes / 2 ** 20);
  const caps = facts.capabilities;
  const noTracking =
    facts.dirtyTrackingReason ??
    'the source kernel does not track dirty pages (criu check --feature mem_dirty_track)';
  const whyNot = (mode: MigrationMode) => {
    const v = caps.modes[mode];
    return v === true ? undefined : v;
  };
  if (requested !== 'auto') {
    const refused = whyNot(requested);
    if (refused)
      return { ok: false, reason: `${requested} cannot run for ${caps.runtime} workloads: ${refused}` };
  }
  switch (requested) {
    case 'auto':
      if (!canRun(caps, 'precopy'))
        return {
          ok: true,
          mode: 'stop-and-copy',
          reason: `pre-copy skipped: ${caps.runtime} checkpoints only stop-and-copy`,
        };
      if (!facts.dirtyTracking)
        return { ok: true, mode: 'stop-and-copy', reason: `pre-copy skipped: ${noTracking}` };
      if (facts.rssBytes < PRECOPY_MIN_BYTES)
        return {
          ok: true,
          mode: 'stop-and-copy',
          reason: `pre-copy skipped: ${mib} MiB is below ${PRECOPY_MIN_BYTES / 2 ** 20} MiB, where rounds cost more than they save`,
        };
      return { ok: true, mode: 'precopy', reason: `${mib} MiB and the kernel tracks dirty pages` };
    case 'precopy':
      return facts.dirtyTracking
        ? { ok: true, mode: 'precopy', reason: 'requested' }
        : { ok: false, reason: `precopy cannot run: ${noTracking}` };
    case 'postcopy':
      return facts.postcopyUnavailable
        ? { ok: false, reason: `postcopy cannot run: ${facts.postcopyUnavailable}` }
        : { ok: true, mode: 'postcopy', reason: 'requested, risk accepted' };
    default:
      return { ok: true, mode: requested, reason: 'requested' };
  }
}
