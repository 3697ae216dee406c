// The state of one migration run: progress (the query), result, figures and rollback notes.
// Every stage writes here; the UI details and search attributes follow from it.
import { CancellationScope, log, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { ErrorType } from '../../domain/errors.js';
import { describeCause } from '../../domain/failures.js';
import type { MigrationMode } from '../../domain/modes.js';
import type {
  MigrateRequest,
  MigrationHostRecord,
  MigrationProgress,
  MigrationResult,
  Outcome,
  Phase,
  PhaseTiming,
  ResolveSignal,
  WorkloadNeeds,
} from '../../domain/types.js';
import { recordMigrationMetrics } from '../metrics.js';
import { SA } from '../search-attributes.js';
import { outcomeHead, renderDetails } from './details.js';

/** The destination lacks the container's image and the request lets ferry ship it. */
export interface ImageToShip {
  image: string;
  imageId: string;
  /** Everything the workload needs there: checked again once the image has arrived. */
  needs: WorkloadNeeds;
}

/** How the run reads what a host recorded about the migration (freezes, kept CRIU logs). */
export interface HostRecordReaders {
  source(): Promise<MigrationHostRecord>;
  destination(): Promise<MigrationHostRecord>;
}

/** Outcomes that leave the workload without its state, or without a running copy. */
const LOUD: readonly Outcome[] = ['restarted-fresh', 'failed-needs-operator', 'failed-postcopy-lost'];

export class MigrationRun {
  readonly progress: MigrationProgress;
  readonly result: MigrationResult;
  readonly figures: Partial<Record<Phase, string>> = {};
  readonly rollbackNotes: string[] = [];
  mode: MigrationMode = 'stop-and-copy';
  /** Resident memory of the workload on the source, from its preflight. */
  memoryBytes = 0;
  /** Set by the preflight when the destination lacks only the image (shipImage). */
  imageToShip?: ImageToShip;
  /** The operator's word (`ferry resolve ID --destination-is-down`). */
  destinationDeclaredDown = false;
  /** Freezing steps that succeeded as the workflow saw them: the count when the source cannot tell. */
  freezesSeen = 0;
  private readonly startedAt = Date.now();

  constructor(
    private readonly req: MigrateRequest,
    migrationId: string,
    private readonly records?: HostRecordReaders,
  ) {
    const where = {
      workload: req.workload,
      runtime: req.runtime,
      source: req.source,
      destination: req.destination,
    };
    this.progress = { phase: 'validating', ...where, phases: [], bytesTransferred: 0 };
    this.result = {
      migrationId,
      ...where,
      outcome: 'failed-before-freeze',
      totalMs: 0,
      bytesTransferred: 0,
      phases: this.progress.phases,
      criu: {},
      criuVersions: {},
      freezes: 0,
      frozenMsTotal: 0,
    };
    upsertSearchAttributes([
      { key: SA.workload, value: req.workload },
      { key: SA.runtime, value: req.runtime },
      { key: SA.source, value: req.source },
      { key: SA.destination, value: req.destination },
    ]);
  }

  onResolve(s: ResolveSignal): void {
    if (!s.destinationIsDown) return;
    this.destinationDeclaredDown = true;
    log.warn('operator declared the destination down', { destination: this.req.destination });
  }

  /** Runs one phase: timed, shown in the UI and the search attributes. */
  async phase<T>(name: Phase, work: () => Promise<T>): Promise<T> {
    this.progress.phase = name;
    upsertSearchAttributes([{ key: SA.phase, value: name }]);
    const timing: PhaseTiming = { phase: name, startedAtMs: Date.now(), durationMs: 0 };
    this.progress.phases.push(timing);
    this.refresh();
    try {
      return await work();
    } finally {
      timing.durationMs = Date.now() - timing.startedAtMs;
      this.refresh();
    }
  }

  ran(phase: Phase): boolean {
    return this.progress.phases.some((p) => p.phase === phase);
  }

  sent(bytes: number): void {
    this.progress.bytesTransferred += bytes;
  }

  /** A rollback step, numbered in the UI and joined into the result. */
  say(note: string): void {
    this.progress.rollback = note;
    this.rollbackNotes.push(note);
    this.refresh();
  }

  refresh(head?: string): void {
    setCurrentDetails(
      renderDetails(
        {
          progress: this.progress,
          figures: this.figures,
          rollbackNotes: this.rollbackNotes,
          precopy: this.result.precopy,
          ...(head ? { result: this.result } : {}),
        },
        head,
      ),
    );
  }

  /**
   * The freezes as the source recorded them (each attempt, retried and crashed ones too), and
   * the CRIU logs kept on the source and, after a failed restore, on the destination. Only
   * read when a step that freezes ran; a host that does not answer leaves a lower bound.
   */
  private async readRecords(outcome: Outcome, cause: unknown): Promise<void> {
    const r = this.result;
    const froze = this.ran('checkpoint') || this.ran('precopy');
    // The destination kept a log only when its restore ran and failed (not when it never started).
    const restoreFailed =
      outcome !== 'migrated' &&
      cause !== undefined &&
      [ErrorType.RestoreFailed, ErrorType.RestorePidBusy].includes(describeCause(cause).type as never);
    if (!this.records || (!froze && !restoreFailed)) return;
    const records = this.records;
    await CancellationScope.nonCancellable(async () => {
      const [source, destination] = await Promise.allSettled([
        froze || this.ran('rollback') ? records.source() : Promise.resolve(undefined),
        restoreFailed ? records.destination() : Promise.resolve(undefined),
      ]);
      if (source.status === 'fulfilled' && source.value) {
        r.freezes = source.value.freezes;
        r.frozenMsTotal = source.value.frozenMsTotal;
        if (source.value.attempts.length) r.freezeAttempts = source.value.attempts;
      } else if (froze) {
        r.freezes = this.freezesSeen + (r.precopy?.rounds.length ?? 0);
        r.freezesUnknown = `${this.req.source} did not answer`;
        log.warn('could not read the freeze record of the source', { source: this.req.source });
      }
      const logs = [source, destination].flatMap((s) =>
        s.status === 'fulfilled' && s.value ? s.value.logs : [],
      );
      if (logs.length) r.criuLogs = logs;
    });
  }

  /** The end of every path: the outcome recorded everywhere it is read. */
  async finish(outcome: Outcome, cause?: unknown): Promise<MigrationResult> {
    await this.readRecords(outcome, cause);
    const r = this.result;
    r.outcome = outcome;
    if (cause !== undefined) r.cause = describeCause(cause);
    if (this.rollbackNotes.length) r.rollback = this.rollbackNotes.join(' → ');
    r.totalMs = Date.now() - this.startedAt;
    r.bytesTransferred = this.progress.bytesTransferred;
    this.progress.phase = outcome === 'migrated' ? 'done' : 'failed';
    upsertSearchAttributes([
      { key: SA.phase, value: this.progress.phase },
      { key: SA.outcome, value: outcome },
    ]);
    this.refresh(outcomeHead(r));
    const what = `${r.runtime}/${r.workload}`;
    if (LOUD.includes(outcome))
      log.error(`migration of ${what} ended ${outcome}`, {
        rollback: this.progress.rollback,
        cause: r.cause,
      });
    recordMigrationMetrics(r);
    log.info(`migration of ${what} ended ${outcome}`, {
      outcome,
      source: r.source,
      destination: r.destination,
      downtimeMs: r.downtimeMs,
      totalMs: r.totalMs,
      bytesTransferred: r.bytesTransferred,
      freezes: r.freezes,
      frozenMsTotal: r.frozenMsTotal,
      ...(r.cause ? { cause: r.cause.type } : {}),
    });
    return r;
  }
}
