import { metricMeter } from '@temporalio/workflow';
import type { MigrationResult } from '../domain/types.js';
import { METRIC } from '../domain/metric-names.js';

// Through the SDK's meter so that one Prometheus endpoint per worker serves the SDK's metrics
// and ferry's; workflow metrics are not emitted again on replay. Names: docs/observability.md.

/** Called once when a migration reaches its outcome. */
export function recordMigrationMetrics(r: MigrationResult): void {
  const tags = { runtime: r.runtime, source: r.source, destination: r.destination };
  metricMeter
    .createCounter(METRIC.migrations, 'migrations', 'migrations that reached an outcome')
    .add(1, { ...tags, outcome: r.outcome });
  metricMeter
    .createHistogram(METRIC.duration, 'int', 'ms', 'start to outcome of a migration')
    .record(r.totalMs, { ...tags, outcome: r.outcome });
  if (r.downtimeMs !== undefined)
    metricMeter
      .createHistogram(METRIC.downtime, 'int', 'ms', 'freeze to running again on the destination')
      .record(r.downtimeMs, tags);
  metricMeter
    .createCounter(METRIC.bytes, 'bytes', 'bytes rsync sent for migrations (images and workload files)')
    .add(r.bytesTransferred, tags);
}
