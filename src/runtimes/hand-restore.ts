// The command an operator pastes on a host to restore a checkpoint ferry kept there
// (failed-needs-operator): absolute paths of that host, CRIU found the way the worker finds it
// (its PATH), the workload's output into its output.log through ferry-shim as ferry's own
// restore does, and the command's own words into a log file instead of the terminal.
import path from 'node:path';
import { shellLine } from '../exec/shell-line.js';
import { findOnPath } from '../exec/which.js';

export interface HandRestore {
  /** The restoring command (runc restore -d …, criu restore -d …). */
  argv: string[];
  /** Where the workload's stdout goes (ferry-shim's pump). */
  outputLog: string;
  /** Where the command's own output goes. */
  commandLog: string;
  env?: Record<string, string>;
}

/** Pure: the line, given where criu and ferry-shim are on this host. */
export function handRestoreLine(h: HandRestore, criu: string, shim: string): string {
  const env = Object.entries({ ...h.env }).map(([k, v]) => shellLine([`${k}=${v}`]));
  return [
    `PATH=${shellLine([path.dirname(criu)])}:"$PATH"`,
    ...env,
    shellLine([shim, '--wait', h.outputLog, '--', ...h.argv]),
    `>>${shellLine([h.commandLog])} 2>&1`,
  ].join(' ');
}

/** The line for this host, or undefined when its worker has no criu or ferry-shim on PATH. */
export async function handRestoreCommand(h: HandRestore): Promise<string | undefined> {
  const [criu, shim] = [await findOnPath('criu'), await findOnPath('ferry-shim')];
  return criu && shim ? handRestoreLine(h, criu, shim) : undefined;
}
