// ferry's own metric names (docs/observability.md). Pure: shared by workflows and the worker.
export const METRIC = {
  migrations: 'ferry_migrations',
  downtime: 'ferry_migration_downtime_ms',
  duration: 'ferry_migration_duration_ms',
  bytes: 'ferry_migration_bytes_transferred',
} as const;

/** Downtime buckets, milliseconds: sub-second restores up to a minute-long freeze. */
export const DOWNTIME_BUCKETS_MS = [50, 100, 250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000];
/** Whole-migration buckets, milliseconds: seconds to an hour. */
export const DURATION_BUCKETS_MS = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000];
