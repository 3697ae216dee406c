import { makeTelemetryFilterString, Runtime, type Logger } from '@temporalio/worker';
import type { FerryConfig, HostConfig } from '../config/schema.js';
import { DOWNTIME_BUCKETS_MS, DURATION_BUCKETS_MS, METRIC } from '../domain/metric-names.js';
import { createWorkerLogger } from './logging.js';

/**
 * Installs the SDK runtime of a worker process before any connection exists: its logger
 * (structured lines, Core's own lines forwarded into it) and, when the host config asks, a
 * Prometheus endpoint that serves the SDK's metrics and ferry's (docs/observability.md).
 */
export function installWorkerRuntime(config: FerryConfig, host: HostConfig): Logger {
  const logger = createWorkerLogger(config.logging.format, config.logging.level, { host: host.name });
  const bindAddress = host.metrics?.bindAddress;
  Runtime.install({
    logger,
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) },
      ...(bindAddress
        ? {
            metrics: {
              prometheus: {
                bindAddress,
                countersTotalSuffix: true,
                histogramBucketOverrides: {
                  [METRIC.downtime]: DOWNTIME_BUCKETS_MS,
                  [METRIC.duration]: DURATION_BUCKETS_MS,
                },
              },
              globalTags: { ferry_host: host.name },
            },
          }
        : {}),
    },
  });
  return logger;
}
