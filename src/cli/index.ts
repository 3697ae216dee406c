import { CommanderError } from 'commander';
import { toolsPath } from '../dev/dev-layout.js';
import { CliError, EXIT } from './context.js';
import { buildProgram } from './program.js';

// ferry's private tools (criu wrapper, ferry-shim, temporal) come first for every child.
process.env.PATH = toolsPath();

let exitCode: number = EXIT.ok;
const setExit = (code: number) => {
  exitCode = code;
};

const program = buildProgram(setExit);

/** One clear line on stderr; with --json also {"error": …} on stdout for scripts. */
function fail(message: string, code: number): never {
  process.stderr.write(`ferry: ${message}\n`);
  if (process.argv.includes('--json'))
    process.stdout.write(`${JSON.stringify({ error: { message, exitCode: code } }, null, 2)}\n`);
  process.exit(code);
}

try {
  await program.parseAsync(process.argv);
  process.exit(exitCode);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and --version are not errors; commander already printed the usage problem.
    if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.help')
      process.exit(EXIT.ok);
    process.exit(EXIT.badInput);
  }
  if (err instanceof CliError) fail(err.message, err.exitCode);
  // The config schema's ConfigError, by name: its module is loaded only by commands that read it.
  if ((err as Error).name === 'ConfigError') fail((err as Error).message, EXIT.badInput);
  fail(
    `internal error (a bug in ferry: please report it with the command you ran): ${(err as Error).stack ?? String(err)}\nA migration this command started may still run: check with ferry ls --running`,
    EXIT.unknown,
  );
}
