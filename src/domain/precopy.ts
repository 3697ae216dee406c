// Pre-copy rounds and the rule that stops them (docs/precopy.md). Pure: used by the migrate
// workflow, the guest proof and unit tests alike.

/** Figures of one pre-dump round, read from CRIU's stats-dump image and the round's folder. */
export interface PrecopyRound {
  /** 1, 2, ... */
  round: number;
  /** Pages CRIU wrote into this round's images (dirtied since the previous round). */
  pagesWritten: number;
  /** Pages CRIU skipped because the parent round already holds them unchanged. */
  pagesSkipped: number;
  pagesScanned: number;
  /** Size of this round's image folder. */
  imageBytes: number;
  /** rsync's bytes over the wire shipping this round to the destination. */
  bytesSent: number;
  dumpMs: number;
  shipMs: number;
}

export interface PrecopyPolicy {
  /** Never more rounds than this. */
  maxRounds: number;
  /** A round that wrote at most this many pages has converged: the final dump will be as small. */
  fewPages: number;
  /** Rounds stop shrinking when one writes more than this share of the previous one's pages. */
  shrinkRatio: number;
  /** Stop as soon as the predicted final dump + ship fits this budget (ms). */
  downtimeBudgetMs?: number;
}

export const DEFAULT_PRECOPY_POLICY: PrecopyPolicy = {
  maxRounds: 5,
  fewPages: 256, // 1 MiB of 4 KiB pages
  shrinkRatio: 0.8,
};

export type PrecopyStopReason = 'few-pages' | 'fits-downtime-budget' | 'not-shrinking' | 'round-limit';

export type PrecopyDecision =
  { stop: false; detail: string } | { stop: true; reason: PrecopyStopReason; detail: string };

/**
 * Pages the final dump will write, predicted from the rounds so far: rounds shrink roughly
 * geometrically while the workload's dirty rate is steady, so the next one is the last one
 * scaled by the last shrink factor (capped at 1: a round never predicts more than it wrote).
 */
export function predictNextPages(rounds: readonly PrecopyRound[]): number {
  const last = rounds[rounds.length - 1];
  if (!last) return 0;
  const prev = rounds[rounds.length - 2];
  if (!prev || prev.pagesWritten === 0) return last.pagesWritten;
  return Math.round(last.pagesWritten * Math.min(1, last.pagesWritten / prev.pagesWritten));
}

/** Milliseconds the final dump + ship would take at the last round's pace per page. */
export function predictFinalMs(rounds: readonly PrecopyRound[]): number {
  const last = rounds[rounds.length - 1];
  if (!last) return 0;
  const msPerPage = (last.dumpMs + last.shipMs) / Math.max(1, last.pagesWritten);
  return Math.round(predictNextPages(rounds) * msPerPage);
}

/**
 * After each round: stop, or run another one. Checked in this order (first match wins):
 *  1. few-pages: the last round wrote <= fewPages pages;
 *  2. fits-downtime-budget: a budget is set and the predicted final dump + ship fits it;
 *  3. not-shrinking: the last round wrote more than shrinkRatio x the previous round's pages
 *     (the workload dirties memory as fast as we copy it: more rounds only cost time);
 *  4. round-limit: maxRounds rounds ran.
 */
export function precopyDecision(
  rounds: readonly PrecopyRound[],
  policy: PrecopyPolicy = DEFAULT_PRECOPY_POLICY,
): PrecopyDecision {
  const last = rounds[rounds.length - 1];
  if (!last) return { stop: false, detail: 'no round yet' };
  const prev = rounds[rounds.length - 2];
  if (last.pagesWritten <= policy.fewPages)
    return {
      stop: true,
      reason: 'few-pages',
      detail: `round ${last.round} wrote ${last.pagesWritten} pages (<= ${policy.fewPages})`,
    };
  if (policy.downtimeBudgetMs !== undefined) {
    const predicted = predictFinalMs(rounds);
    if (predicted <= policy.downtimeBudgetMs)
      return {
        stop: true,
        reason: 'fits-downtime-budget',
        detail: `predicted final dump + ship ${predicted} ms (<= budget ${policy.downtimeBudgetMs} ms)`,
      };
  }
  if (prev && last.pagesWritten > policy.shrinkRatio * prev.pagesWritten)
    return {
      stop: true,
      reason: 'not-shrinking',
      detail: `round ${last.round} wrote ${last.pagesWritten} pages, more than ${policy.shrinkRatio} x round ${prev.round}'s ${prev.pagesWritten}`,
    };
  if (rounds.length >= policy.maxRounds)
    return {
      stop: true,
      reason: 'round-limit',
      detail: `${rounds.length} rounds ran (limit ${policy.maxRounds})`,
    };
  return {
    stop: false,
    detail: `round ${last.round} wrote ${last.pagesWritten} pages; another round`,
  };
}

/**
 * The request's pre-copy tuning (docs/precopy.md). Whether rounds run is the mode's business
 * (docs/migration-modes.md): auto picks precopy when the source tracks dirty pages.
 */
export interface PrecopyRequest {
  maxRounds?: number;
  fewPages?: number;
  shrinkRatio?: number;
  downtimeBudgetMs?: number;
}

export function precopyPolicy(req: PrecopyRequest = {}): PrecopyPolicy {
  return {
    maxRounds: req.maxRounds ?? DEFAULT_PRECOPY_POLICY.maxRounds,
    fewPages: req.fewPages ?? DEFAULT_PRECOPY_POLICY.fewPages,
    shrinkRatio: req.shrinkRatio ?? DEFAULT_PRECOPY_POLICY.shrinkRatio,
    downtimeBudgetMs: req.downtimeBudgetMs,
  };
}

/** What pre-copy did in a migration (part of its result). */
export interface PrecopySummary {
  rounds: PrecopyRound[];
  stopReason?: PrecopyStopReason;
  stopDetail?: string;
  /** Round the final dump uses as its parent (none when no round or a failed round). */
  finalParentRound?: number;
  /**
   * A round failed: pre-copy ended there and the final dump is a full one (a failed round may
   * already have reset the dirty bits, so an earlier round is no safe parent).
   */
  failed?: string;
}

/** Folder of round n below migrations/<id>/rounds/. */
export const precopyRoundDirName = (round: number) => `round-${round}`;

/**
 * CRIU's parent link of a dump, relative to its own images folder, so that it still points
 * at the right round after rsync has copied both to the destination: a round's parent is the
 * previous round; the final dump (in migrations/<id>/images) points into rounds/.
 */
export function precopyParentLink(parentRound: number, from: 'round' | 'final'): string {
  return `${from === 'round' ? '..' : '../rounds'}/${precopyRoundDirName(parentRound)}`;
}

/** Markdown table of the rounds (Temporal UI current details, CLI, docs). */
export function precopyTable(summary: PrecopySummary): string {
  const kib = (b: number) => Math.round(b / 1024);
  const rows = summary.rounds.map(
    (r) =>
      `| ${r.round} | ${r.pagesWritten} | ${r.pagesSkipped} | ${kib(r.imageBytes)} | ${kib(r.bytesSent)} | ${r.dumpMs} | ${r.shipMs} |`,
  );
  const end = summary.stopReason
    ? `\n\nstopped: ${summary.stopReason} (${summary.stopDetail})`
    : summary.failed
      ? `\n\npre-copy ended early: ${summary.failed}`
      : '';
  return `| round | pages written | pages skipped | image KiB | sent KiB | dump ms | ship ms |\n|---|---|---|---|---|---|---|\n${rows.join('\n')}${end}`;
}
