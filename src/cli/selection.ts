// Which of a host's workloads a command takes: --runtime, --name, --label, as evacuate,
// hibernate and their schedules read them (docs/evacuation.md, docs/hibernation.md).
import type { Command } from 'commander';
import { isRuntimeName, RUNTIMES, type RuntimeName } from '../domain/names.js';
import { parseLabels } from '../domain/placement.js';
import { collect } from './command-helpers.js';
import { CliError, EXIT } from './context.js';

export interface SelectionOptions {
  runtime?: string;
  name?: string;
  label?: string[];
}

export interface Selection {
  runtimes?: RuntimeName[];
  namePattern?: string;
  labels?: Record<string, string>;
}

export function selectionOptions(cmd: Command, example = 'web-*'): Command {
  return cmd
    .option('--runtime <runtimes>', 'only these runtimes, comma-separated')
    .option('--name <glob>', `only workloads whose name matches, e.g. "${example}"`)
    .option('--label <key=value>', 'only workloads with this label (repeatable)', collect, []);
}

/** Comma-separated values, trimmed, empty ones dropped. */
export const commaList = (v?: string) =>
  v
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The selection from the command line; bad values exit 2 before anything starts. */
export function parseSelection(opts: SelectionOptions): Selection {
  const runtimes = commaList(opts.runtime);
  for (const r of runtimes ?? [])
    if (!isRuntimeName(r))
      throw new CliError(`unknown runtime "${r}": use one of ${RUNTIMES.join(', ')}`, EXIT.badInput);
  try {
    return {
      runtimes: runtimes as RuntimeName[] | undefined,
      namePattern: opts.name,
      labels: opts.label?.length ? parseLabels(opts.label) : undefined,
    };
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.badInput);
  }
}
