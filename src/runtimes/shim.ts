import { CommandError, run } from '../exec/run.js';

export interface ShimStarted {
  pumpPid: number;
  childPid: number;
}

/**
 * Starts argv under ferry-shim (native/ferry-shim.c): its stdout/stderr become a pipe pumped
 * into logFile by a detached process. With wait, returns once the command has exited
 * (for `runc run -d`, `runc restore -d`, `criu restore -d`) and fails if it failed.
 */
export async function startUnderShim(
  logFile: string,
  argv: string[],
  opts: { wait: boolean; timeoutMs?: number; logPath?: string; env?: Record<string, string> },
): Promise<ShimStarted> {
  const args = [...(opts.wait ? ['--wait'] : []), logFile, '--', ...argv];
  try {
    const { stdout } = await run('ferry-shim', args, {
      timeoutMs: opts.timeoutMs,
      logPath: opts.logPath,
      env: opts.env,
    });
    return parseShimOutput(stdout);
  } catch (err) {
    // A command that hung (e.g. a CRIU restore spinning on a damaged image) outlives the
    // shim: kill its whole process group, which it leads (the shim starts it with setsid).
    const child = err instanceof CommandError ? /^child (\d+)$/m.exec(err.stdout)?.[1] : undefined;
    if (child) {
      try {
        process.kill(-Number(child), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    throw err;
  }
}

export function parseShimOutput(stdout: string): ShimStarted {
  const pump = /^pump (\d+)$/m.exec(stdout);
  const child = /^child (\d+)$/m.exec(stdout);
  if (!pump || !child) throw new Error(`unexpected ferry-shim output: ${JSON.stringify(stdout)}`);
  return { pumpPid: Number(pump[1]), childPid: Number(child[1]) };
}
