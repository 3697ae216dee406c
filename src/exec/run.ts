import { execa, type Options } from 'execa';

/** An external program failed. Carries its stderr (and CRIU log, when known) for the error. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    message: string,
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
    readonly logPath?: string,
    readonly stdout = '',
  ) {
    super(message);
  }
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** CRIU/runc log to point at when the command fails. */
  logPath?: string;
  input?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a program with an argument array (never a shell) and returns its output. */
export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const options: Options = {
    cwd: opts.cwd,
    env: opts.env,
    timeout: opts.timeoutMs,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
    reject: false,
    stripFinalNewline: true,
  };
  const result = await execa(file, args, options);
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  if (result.failed) {
    const why = result.timedOut
      ? `timed out after ${opts.timeoutMs} ms`
      : result.exitCode !== undefined
        ? `exited with ${result.exitCode}`
        : `failed: ${result.shortMessage}`;
    const tail = stderr.trim().split('\n').slice(-5).join('\n');
    throw new CommandError(
      `${file} ${why}${tail ? `: ${tail}` : ''}${opts.logPath ? ` (log: ${opts.logPath})` : ''}`,
      [file, ...args].join(' '),
      result.exitCode,
      stderr,
      opts.logPath,
      stdout,
    );
  }
  return { stdout, stderr };
}
