// CRIU logs of failed steps outlive their migration: the migration folder is removed when the
// migration ends, and an error that names a log must name a file that exists. They are kept in
// STATE/logs/<migrationId>/ (0700/0600: they list the workload's files and sockets) until the
// retention rule removes them.
import { chmod, copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { HostPaths } from './host-paths.js';

export interface LogRetention {
  /** Folders older than this go (by their last change). */
  maxAgeMs: number;
  /** And beyond the newest this many migrations' folders. */
  keepLast: number;
}

/** docs/failure-handling.md: 7 days, at most the last 50 migrations; applied by the worker. */
export const LOG_RETENTION: LogRetention = { maxAgeMs: 7 * 24 * 3600_000, keepLast: 50 };

/**
 * Copies a CRIU log into the migration's kept-logs folder as name (e.g. "checkpoint-2.log") and
 * returns the copy's path; undefined when there is no such log (the step failed before CRIU
 * wrote one). A log already kept there is returned as it is.
 */
export async function keepLog(
  paths: HostPaths,
  migrationId: string,
  name: string,
  source: string,
): Promise<string | undefined> {
  const dir = paths.logsDir(migrationId);
  if (path.dirname(source) === dir) return source;
  const exists = await stat(source).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!exists) return undefined;
  await mkdir(paths.logsRoot(), { recursive: true, mode: 0o700 });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const kept = path.join(dir, name);
  await copyFile(source, kept);
  await chmod(kept, 0o600);
  return kept;
}

/** A free name "<stem>-N.log" in the migration's kept-logs folder (N from 1). */
export async function nextLogName(paths: HostPaths, migrationId: string, stem: string): Promise<string> {
  const taken = new Set(await readdir(paths.logsDir(migrationId)).catch(() => [] as string[]));
  for (let n = 1; ; n++) if (!taken.has(`${stem}-${n}.log`)) return `${stem}-${n}.log`;
}

/** The CRIU logs kept for a migration on this host, oldest name first. */
export async function keptLogs(paths: HostPaths, migrationId: string): Promise<string[]> {
  const names = await readdir(paths.logsDir(migrationId)).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith('.log'))
    .sort()
    .map((n) => path.join(paths.logsDir(migrationId), n));
}

export interface KeptFolder {
  migrationId: string;
  mtimeMs: number;
  /** Its migration still has a folder on this host (it may still run): never removed. */
  active: boolean;
}

/** Pure: the folders the rule removes (too old, or beyond the newest keepLast). */
export function retentionVictims(
  folders: readonly KeptFolder[],
  rule: LogRetention,
  nowMs: number,
): string[] {
  const newestFirst = [...folders].sort((a, b) => b.mtimeMs - a.mtimeMs);
  return newestFirst
    .filter((f, i) => !f.active && (nowMs - f.mtimeMs > rule.maxAgeMs || i >= rule.keepLast))
    .map((f) => f.migrationId);
}

/** Applies the rule to this host's STATE/logs; returns the migrations whose logs went. */
export async function applyLogRetention(
  paths: HostPaths,
  rule: LogRetention = LOG_RETENTION,
  nowMs = Date.now(),
): Promise<string[]> {
  const names = await readdir(paths.logsRoot()).catch(() => [] as string[]);
  const folders: KeptFolder[] = [];
  for (const migrationId of names) {
    const dir = paths.logsDir(migrationId);
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    // Its newest file: appending to the freeze record does not touch the folder itself.
    let mtimeMs = st.mtimeMs;
    for (const f of await readdir(dir).catch(() => [] as string[]))
      mtimeMs = Math.max(mtimeMs, (await stat(path.join(dir, f)).catch(() => st)).mtimeMs);
    const active = await stat(paths.migrationDir(migrationId)).then(
      () => true,
      () => false,
    );
    folders.push({ migrationId, mtimeMs, active });
  }
  const victims = retentionVictims(folders, rule, nowMs);
  for (const id of victims) await rm(paths.logsDir(id), { recursive: true, force: true });
  return victims;
}
