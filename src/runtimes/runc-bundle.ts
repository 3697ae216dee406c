// Where a runc container's bundle is and what a restore of it needs (docs/runtimes.md#runc).
// A container ferry started has its bundle in its workload folder; one a user started with
// `runc run --bundle DIR` keeps it in DIR, which ferry reads but never writes: the destination
// gets a copy in its own workload folder. The parsers and judgements here are pure.
import path from 'node:path';

/** The parts of an OCI config.json that decide whether and how a container can move. */
export interface BundleConfig {
  process?: { terminal?: boolean };
  root?: { path?: string };
  mounts?: { destination?: string; type?: string; source?: string; options?: string[] }[];
}

/** Its root filesystem: root.path, relative to the bundle unless absolute. */
export function rootfsOf(bundle: string, config: BundleConfig): string {
  const p = config.root?.path ?? 'rootfs';
  return path.isAbsolute(p) ? path.normalize(p) : path.join(bundle, p);
}

/** Host paths it bind-mounts: they must exist on the destination (ferry does not copy them). */
export function bindSources(config: BundleConfig): string[] {
  const binds = (config.mounts ?? []).filter(
    (m) => m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind'),
  );
  return [
    ...new Set(binds.map((m) => m.source).filter((s): s is string => !!s && path.isAbsolute(s))),
  ].sort();
}

const inside = (dir: string, p: string) => p === dir || p.startsWith(dir + path.sep);

/** What about a bundle keeps its container from moving; empty when nothing does. */
export function bundleProblems(bundle: string, config: BundleConfig): string[] {
  const problems: string[] = [];
  if (config.process?.terminal)
    problems.push(
      `its config.json (${path.join(bundle, 'config.json')}) gives it a terminal ("process.terminal": true), which runc cannot checkpoint: set it to false and start it again`,
    );
  const rootfs = rootfsOf(bundle, config);
  if (!inside(bundle, rootfs))
    problems.push(
      `its root filesystem ${rootfs} is outside its bundle ${bundle}, and ferry carries the bundle only: move the rootfs into the bundle and make root.path relative`,
    );
  return problems;
}

/**
 * The stdio of the container's first process, from /proc/PID/fd/{0,1,2}: its target, and
 * whether it is a regular file outside the container's own mounts. CRIU cannot dump such a
 * file (measured: "Can't lookup mount=27 for fd=1 path=/var/log/web.log"), nor a terminal.
 */
export function stdioProblems(fds: { fd: number; target: string; outside: boolean }[]): string[] {
  const problems: string[] = [];
  for (const f of fds) {
    if (/^\/dev\/(pts\/|tty|console)/.test(f.target))
      problems.push(
        `its fd ${f.fd} is the terminal ${f.target}, which cannot move: start it with runc run -d and its stdio on /dev/null or a pipe`,
      );
    else if (f.outside)
      problems.push(
        `its fd ${f.fd} is the file ${f.target} of this host, outside the container, which CRIU cannot dump: ` +
          `start it with its stdio on /dev/null or a pipe (runc run -d … </dev/null >/dev/null 2>&1, or | logger), ` +
          `or have it write its log inside its rootfs`,
      );
  }
  return problems;
}

/** STATE/workloads/runc/NAME/user-bundle.json: the bundle of a container a user started here. */
export interface UserBundleRecord {
  /** The host it was written on: the record never applies on another host. */
  host: string;
  bundle: string;
}

export const USER_BUNDLE_RECORD = 'user-bundle.json';
