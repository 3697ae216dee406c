import {
  makeTelemetryFilterString,
  Runtime,
  type LogLevel,
  type LogMetadata,
  type Logger,
} from '@temporalio/worker';
import type { FerryConfig, HostConfig } from '../config/schema.js';
import { DOWNTIME_BUCKETS_MS, DURATION_BUCKETS_MS, METRIC } from '../domain/metric-names.js';
import { createWorkerLogger } from './logging.js';

/**
 * Installs the SDK runtime of a worker process before any connection exists: its logger
 * (structured lines, Core's own lines forwarded into it) and, when the host config asks, a
 * Prometheus endpoint that serves the SDK's metrics and ferry's (docs/observability.md).
 */
export function installWorkerRuntime(config: FerryConfig, host: HostConfig): Logger {
  const logger = explainingExpectedWarnings(
    createWorkerLogger(config.logging.format, config.logging.level, { host: host.name }),
  );
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

/** What the SDK says at every start for a worker with activities only. */
export const NO_WORKFLOWS_WARNING = 'No workflows registered, not polling for workflow tasks';

/**
 * The activity worker on ferry-host-NAME has no workflows by design (they run on the shared
 * queue `ferry`, docs/architecture.md), so the SDK's warning about it says nothing is wrong:
 * it becomes a DEBUG line that says why. Every other line passes as it is.
 */
export function explainingExpectedWarnings(logger: Logger): Logger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    if (level === 'WARN' && message === NO_WORKFLOWS_WARNING)
      return logger.log(
        'DEBUG',
        `${message} (expected: this host's queue carries only its activities; workflows run on the shared queue)`,
        meta,
      );
    logger.log(level, message, meta);
  };
  return {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
  };
}
