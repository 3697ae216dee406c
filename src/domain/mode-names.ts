// The migration modes a request may ask for and a migration runs. Pure.

/** What a request may ask for (docs/migration-modes.md). */
export const REQUESTED_MODES = ['auto', 'stop-and-copy', 'streamed', 'precopy', 'postcopy'] as const;
export type RequestedMode = (typeof REQUESTED_MODES)[number];
/** What a migration runs. */
export type MigrationMode = Exclude<RequestedMode, 'auto'>;

export const isRequestedMode = (v: unknown): v is RequestedMode =>
  typeof v === 'string' && (REQUESTED_MODES as readonly string[]).includes(v);
