import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';

/**
 * Test-only pauses at fixed points of the host activities, so that a fault test can produce a
 * real fault (corrupt an image, cut traffic, kill a worker, restart the server) at a precise
 * moment. Off unless the worker was started with --fault-injection; even then it only reads
 * STATE/fault-injection.json on its own host. No migration request can turn it on.
 * Each pause happens once: the worker removes it from the file when it takes it.
 *
 *   { "pauseMs": { "before-transfer": 8000, "after-restore:web": 8000 } }
 * A key "point:workload" pauses only the steps of that workload.
 */
export type FaultPoint =
  | 'before-checkpoint'
  | 'before-transfer'
  | 'before-restore'
  | 'after-restore'
  /** Destination: a shipped container image is loaded and named, the step not yet done. */
  | 'after-load-image';

interface FaultSpec {
  pauseMs?: Record<string, number>;
}

export class FaultInjection {
  constructor(
    private readonly enabled: boolean,
    private readonly stateDir: string,
  ) {}

  static file(stateDir: string): string {
    return path.join(stateDir, 'fault-injection.json');
  }

  async at(point: FaultPoint, workload?: string): Promise<void> {
    if (!this.enabled) return;
    const text = await readFile(FaultInjection.file(this.stateDir), 'utf8').catch(() => undefined);
    if (!text) return;
    const spec = JSON.parse(text) as FaultSpec;
    const key = [workload && `${point}:${workload}`, point].find(
      (k): k is string => !!k && !!spec.pauseMs?.[k],
    );
    if (!key) return;
    const ms = spec.pauseMs![key]!;
    delete spec.pauseMs![key];
    await writeFile(FaultInjection.file(this.stateDir), JSON.stringify(spec));
    // Heartbeats keep flowing (the step is alive) and a cancel ends the pause.
    const ctx = Context.current();
    ctx.log.warn(`fault injection: pausing ${ms} ms at ${point}`, { faultPoint: point, pauseMs: ms });
    const timer = setInterval(() => ctx.heartbeat({ pausedAt: point }), 1_000);
    try {
      await Promise.race([new Promise((r) => setTimeout(r, ms)), ctx.cancelled]);
    } finally {
      clearInterval(timer);
    }
  }
}
