import { DefaultLogger, type LogEntry, type LogLevel, type Logger } from '@temporalio/worker';

export type LogFormat = 'json' | 'text';

/** JSON-safe copy of log metadata: bigints as strings, errors as {type, message}. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error)
    return { type: (value as Error & { type?: string }).type ?? value.name, message: value.message };
  return value;
}

/** One log line: a JSON object (ts, level, msg, then the metadata) or plain text. */
export function formatLogEntry(entry: LogEntry, format: LogFormat, base: Record<string, unknown>): string {
  const ts = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  // The SDK adds each activity's task token: it can complete the activity, so it stays out of logs.
  const meta: Record<string, unknown> = { ...base, ...(entry.meta ?? {}) };
  delete meta.taskToken;
  if (format === 'text') {
    const rest = Object.entries(meta)
      .map(([k, v]) => `${k}=${JSON.stringify(plain(v))}`)
      .join(' ');
    return `${ts} ${entry.level} ${entry.message}${rest ? ` ${rest}` : ''}`;
  }
  return JSON.stringify({ ts, level: entry.level, msg: entry.message, ...meta }, (_k, v: unknown) =>
    plain(v),
  );
}

/**
 * The worker's logger: the SDK's own lines, workflow and activity `log` calls (with their
 * workflowId, activityType, ... metadata) and ferry's lines all come out the same way on stdout.
 */
export function createWorkerLogger(
  format: LogFormat,
  level: LogLevel,
  base: Record<string, unknown>,
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
): Logger {
  return new DefaultLogger(level, (entry) => write(formatLogEntry(entry, format, base)));
}
