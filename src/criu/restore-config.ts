// The CRIU configuration every container restore gets (runc and podman, rollbacks included):
// ferry's action script, which brings the loopback of a restored network namespace up.
//
// runc always passes CRIU's empty network namespace option (checkpoint.go, setEmptyNsMask:
// "Runc doesn't manage network devices and their configuration"), so CRIU neither dumps nor
// restores the links of a network namespace runc created, and runc does nothing for its
// "loopback" on a restore (criu_linux.go, restoreNetwork). The restored namespace has lo DOWN:
// a TCP connection over the container's own loopback cannot be restored ("soccr: Can't connect
// inet socket back: Network is unreachable") and nothing inside reaches 127.0.0.1 any more.
// CRIU's answer for --empty-ns net is a setup-namespaces action script. docs/runtimes.md.
import { access, constants, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../exec/run.js';

/** bin/ferry-criu-action, shipped with ferry (from src/criu or dist/criu: two levels up). */
export const CRIU_ACTION_SCRIPT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'bin',
  'ferry-criu-action',
);

/**
 * Pure: the text of a CRIU configuration file that runs script as an action script. CRIU splits
 * a configuration line on white space, so the path must be absolute and have none.
 */
export function restoreConfigText(script: string, extra: readonly string[] = []): string {
  if (!path.isAbsolute(script) || /\s/.test(script) || path.normalize(script) !== script)
    throw new Error(
      `CRIU action script path must be absolute, normalised and without white space: ${JSON.stringify(script)}`,
    );
  return [`action-script ${script}`, ...extra].map((l) => `${l}\n`).join('');
}

/** Where a restore's CRIU configuration lives, and the environment that hands it to CRIU. */
export interface RestoreConfig {
  /** WORK/criu-restore.conf. */
  file: string;
  /** For a CRIU that inherits the caller's environment (runc restore): CRIU_CONFIG_FILE. */
  configFileEnv: Record<string, string>;
  /**
   * For podman: conmon passes runc only PATH, HOME, LC_*, CONTAINERS_CONF and a few of its own
   * (libpod configureConmonEnv), so CRIU_CONFIG_FILE never reaches CRIU. CRIU also reads
   * $HOME/.criu/default.conf: HOME names a folder of this restore that holds only that file.
   */
  homeEnv: Record<string, string>;
}

/** Pure: the files and environment of a restore's CRIU configuration in work. */
export function restoreConfigPaths(work: string): { file: string; home: string; homeFile: string } {
  const home = path.join(work, 'criu-home');
  return {
    file: path.join(work, 'criu-restore.conf'),
    home,
    homeFile: path.join(home, '.criu', 'default.conf'),
  };
}

/**
 * Writes the restore's CRIU configuration into work (private to the migration) and returns how
 * to hand it over. Fails, naming the file, when ferry's action script is missing.
 */
export async function writeRestoreConfig(
  work: string,
  opts: { script?: string; extra?: readonly string[] } = {},
): Promise<RestoreConfig> {
  const script = opts.script ?? CRIU_ACTION_SCRIPT;
  const text = restoreConfigText(script, opts.extra);
  await access(script, constants.X_OK).catch(() => {
    throw new Error(`ferry's CRIU action script ${script} is missing or not executable: reinstall ferry`);
  });
  const p = restoreConfigPaths(work);
  await mkdir(path.dirname(p.homeFile), { recursive: true, mode: 0o700 });
  await writeFile(p.file, text, { mode: 0o600 });
  await writeFile(p.homeFile, text, { mode: 0o600 });
  return { file: p.file, configFileEnv: { CRIU_CONFIG_FILE: p.file }, homeEnv: { HOME: p.home } };
}

/**
 * Why this host cannot run the action script a container restore needs, or undefined: the
 * script itself, nsenter (util-linux) and ip (iproute2). Asked by the runc and podman
 * preflights on both hosts (a rollback restores on the source), before anything is frozen.
 */
export async function restoreScriptUnavailable(script = CRIU_ACTION_SCRIPT): Promise<string | undefined> {
  try {
    await access(script, constants.X_OK);
  } catch {
    return `ferry's CRIU action script ${script} is missing or not executable: reinstall ferry`;
  }
  for (const [program, args, pkg] of [
    ['nsenter', ['--version'], 'util-linux'],
    ['ip', ['-V'], 'iproute2'],
  ] as const) {
    try {
      await run(program, args, { timeoutMs: 10_000 });
    } catch (err) {
      return `${program} is missing (${(err as Error).message.split('\n')[0]}): install the Debian package ${pkg}; ferry's CRIU action script needs it to bring a restored container's loopback up`;
    }
  }
  return undefined;
}
