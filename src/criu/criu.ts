import { readFile } from 'node:fs/promises';
import { ErrorType } from '../domain/errors.js';
import { CommandError, run } from '../exec/run.js';
import { criuLogExcerpt, criuLogPathsIn, criuRootCause, parseCriuVersion } from './log.js';
import { classifyCriuFailure, type CriuVerdict } from './classify.js';
import { ferryFailure } from '../domain/failures.js';

/** Version of the criu found on PATH, after checking that `criu check` passes. */
export async function criuVersionChecked(): Promise<string> {
  try {
    const { stdout } = await run('criu', ['--version'], { timeoutMs: 10_000 });
    const version = parseCriuVersion(stdout);
    await run('criu', ['check'], { timeoutMs: 30_000 });
    if (!version) throw new Error(`cannot read a version from "criu --version": ${stdout}`);
    return version;
  } catch (err) {
    throw ferryFailure(
      ErrorType.CriuUnavailable,
      `CRIU is not usable on this host: ${(err as Error).message}. Install CRIU >= 4.2 (scripts/setup/install-criu.sh) and put it first on PATH.`,
    );
  }
}

/**
 * The criu on PATH's version without `criu check` (which takes a second or more): for reports
 * such as ferry hosts, not for deciding that CRIU works. Undefined, with why, when there is none.
 */
export async function criuVersionQuick(): Promise<{ version?: string; problem?: string }> {
  try {
    const { stdout } = await run('criu', ['--version'], { timeoutMs: 5_000 });
    const version = parseCriuVersion(stdout);
    return version ? { version } : { problem: `cannot read a version from "criu --version": ${stdout}` };
  } catch (err) {
    return { problem: `no usable criu on the worker's PATH: ${(err as Error).message}` };
  }
}

export async function criuFeature(feature: string): Promise<boolean> {
  try {
    await run('criu', ['check', '--feature', feature], { timeoutMs: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether this kernel tracks dirty pages (soft-dirty), which pre-copy rounds need; when not,
 * CRIU's own explanation (e.g. "Dirty tracking is OFF").
 */
export async function dirtyTrackingSupport(): Promise<{ supported: boolean; reason?: string }> {
  try {
    await run('criu', ['check', '--feature', 'mem_dirty_track'], { timeoutMs: 30_000 });
    return { supported: true };
  } catch (err) {
    const said = err instanceof CommandError ? `${err.stdout}\n${err.stderr}` : String(err);
    const line = said
      .split('\n')
      .map((l) => l.trim())
      .find((l) => /dirty|track|soft/i.test(l) && !/RLIMIT/.test(l))
      ?.replace(/^(Warn|Error)\s*\([^)]*\):\s*/, '');
    return {
      supported: false,
      reason: `the kernel of this host does not track dirty pages (criu check --feature mem_dirty_track: ${line ?? 'failed'})`,
    };
  }
}

/**
 * The root cause quoted from a CRIU log, or the command's own message. The log is the one ferry
 * asked for, else the one the runtime's message names (podman, runc and containerd print only
 * its path); a log that cannot be read leaves the runtime's own words.
 */
export async function explainCriuFailure(err: unknown, logPath?: string): Promise<string> {
  const base = err instanceof CommandError ? err.message : err instanceof Error ? err.message : String(err);
  const text = err instanceof CommandError ? `${err.stderr}\n${err.stdout}\n${base}` : base;
  const candidates = [...(logPath ? [logPath] : []), ...criuLogPathsIn(text)];
  for (const file of candidates) {
    const cause = criuRootCause(await readFile(file, 'utf8').catch(() => ''));
    if (cause) return `${cause} (CRIU log: ${file})`;
  }
  return base;
}

/**
 * A kept CRIU log read on its host (`ferry show` there, or `ferry logs`): its telling lines
 * (criuLogExcerpt) and the verdict of the classifier; `exists: false` once retention removed it.
 */
export async function keptCriuLogLines(
  file: string,
  max = 30,
): Promise<{ path: string; exists: boolean; lines: string[]; verdict?: CriuVerdict }> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return { path: file, exists: false, lines: [] };
  const verdict = classifyCriuFailure(text);
  return { path: file, exists: true, lines: criuLogExcerpt(text, { max }), ...(verdict ? { verdict } : {}) };
}
