// Which process an adoption request names, on the source host: a pid, a pid file, or the main
// process of a systemd service. The parsers and the unit's judgement are pure.
import { readFile } from 'node:fs/promises';
import { ErrorType } from '../domain/errors.js';
import { ferryFailure } from '../domain/failures.js';
import type { AdoptTarget } from '../domain/types.js';
import { CommandError, run } from '../exec/run.js';

export interface ResolvedTarget {
  pid: number;
  /** How it was found, for messages and the workload's record ("pid file /run/app.pid"). */
  how: string;
}

/** A pid file holds the pid as its first word (daemons add a newline, some more lines). */
export function parsePidFile(text: string): number | undefined {
  const word = text.trim().split(/\s+/)[0] ?? '';
  return /^\d+$/.test(word) && Number(word) > 1 ? Number(word) : undefined;
}

/** `systemctl show -p A -p B UNIT` prints A=... lines. */
export function parseSystemctlShow(text: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) props[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return props;
}

export type UnitVerdict =
  | { ok: true; pid: number }
  | { ok: false; type: 'WorkloadNotFound' | 'WorkloadNotRunning' | 'NotMovable'; message: string };

/**
 * A service can hand its main process over only when systemd will not start it again on the
 * source once CRIU's dump has ended it there (two copies), and when it has one.
 */
export function judgeUnit(unit: string, host: string, props: Record<string, string>): UnitVerdict {
  if (props.LoadState === 'not-found' || !props.LoadState)
    return { ok: false, type: 'WorkloadNotFound', message: `no systemd unit ${unit} on ${host}` };
  const pid = Number(props.MainPID);
  if (props.ActiveState !== 'active' || !Number.isInteger(pid) || pid < 2)
    return {
      ok: false,
      type: 'WorkloadNotRunning',
      message: `${unit} on ${host} is ${props.ActiveState ?? 'not active'}${props.SubState ? ` (${props.SubState})` : ''} with no main process: nothing to migrate`,
    };
  if (props.Restart && props.Restart !== 'no')
    return {
      ok: false,
      type: 'NotMovable',
      message:
        `${unit} on ${host} has Restart=${props.Restart}: systemd would start it again on ${host} once the dump has ` +
        `stopped its main process, and two copies would run. Set Restart=no first (systemctl edit ${unit}), or give --pid`,
    };
  return { ok: true, pid };
}

export async function resolveAdoptTarget(target: AdoptTarget, host: string): Promise<ResolvedTarget> {
  if (target.pid !== undefined) return { pid: target.pid, how: `pid ${target.pid}` };
  if (target.pidFile !== undefined) {
    const file = target.pidFile;
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw ferryFailure(
        ErrorType.WorkloadNotFound,
        `cannot read the pid file ${file} on ${host} (${err.code ?? err.message}): is the daemon running there?`,
      );
    });
    const pid = parsePidFile(text);
    if (pid === undefined)
      throw ferryFailure(
        ErrorType.InvalidInput,
        `the pid file ${file} on ${host} does not start with a process id (it holds ${JSON.stringify(text.slice(0, 40))})`,
      );
    return { pid, how: `pid file ${file}` };
  }
  const unit = target.unit!;
  const shown = await run('systemctl', [
    'show',
    '--property=LoadState,ActiveState,SubState,MainPID,Restart',
    unit,
  ]).catch((err: unknown) => {
    const why = err instanceof CommandError ? err.stderr.trim() || err.message : (err as Error).message;
    throw ferryFailure(
      ErrorType.WorkloadNotFound,
      `cannot ask systemd on ${host} about ${unit} (${why.split('\n')[0]}): give the process with --pid or --pidfile`,
    );
  });
  const verdict = judgeUnit(unit, host, parseSystemctlShow(shown.stdout));
  if (!verdict.ok) throw ferryFailure(ErrorType[verdict.type], verdict.message);
  return { pid: verdict.pid, how: `unit ${unit}` };
}
