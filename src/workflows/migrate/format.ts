// Figures as people read them in summaries and the Temporal UI. Pure.

/** Whole MiB, with one decimal below 10 MiB so that small images do not read as 0. */
export const mib = (bytes: number): string => {
  const v = bytes / 1024 / 1024;
  return v < 10 ? v.toFixed(1) : String(Math.round(v));
};
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
export const rate = (bytes: number, ms: number): string =>
  ms > 0 ? ` at ${(bytes / 1024 / 1024 / (ms / 1000)).toFixed(1)} MiB/s` : '';
