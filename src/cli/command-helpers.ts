// What every file in commands/ uses to declare its commands, so that options shared by many
// commands read and behave the same everywhere.
import { Option, type Command } from 'commander';

/** Hands a command's exit code to index.ts, which exits with it once the action has finished. */
export type SetExit = (code: number) => void;

/**
 * What each file in commands/ exports as `register`: it declares its commands on `program`
 * (arguments, options, help text, examples, action); actions report their exit code via `exit`.
 */
export type Register = (program: Command, exit: SetExit) => void;

/** --config and --json, which most commands take. */
export interface CommonOptions {
  config?: string;
  json?: boolean;
}

/** For repeatable options (--label a=1 --label b=2): commander calls it once per use. */
export const collect = (value: string, previous: string[]) => [...previous, value];

/** Appends an "Examples:" block to a command's --help. */
export const examples = (cmd: Command, ...lines: string[]) =>
  cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`);

export const jsonOption = () => new Option('--json', 'print the result as JSON on stdout');

export const configOption = () => new Option('--config <file>', 'ferry config');
