import { execa } from 'execa';
import { createWriteStream, openSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';

const STATUS_POLL_MS = 10;
import { createServer } from 'node:net';

/** A port the kernel just gave out on address. Another process may take it first: callers retry. */
export async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: address, port: 0, exclusive: true }, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface DetachedStart {
  ready: boolean;
  /** Set when the command ended before it said it was ready. */
  exitCode?: number;
  stderr?: string;
}

/**
 * Starts a long-lived CRIU (or runc) command detached from this worker, under `timeout` so that
 * it never outlives deadlineS even if the worker dies, and resolves once it writes to its
 * status fd (fd 3: `--status-fd 3`), or when it ends without doing so. It is found again later
 * by a path unique to the migration in its command line (src/host/stale-commands.ts).
 *
 * stdout and stderr go to stderrFile, never to a pipe that dies with this worker (runc would
 * get SIGPIPE and take its CRIU along).
 */
export async function startUntilReady(
  file: string,
  args: readonly string[],
  opts: { deadlineS: number; stderrFile: string; env?: Record<string, string> },
): Promise<DetachedStart> {
  const statusFile = `${opts.stderrFile}.status`;
  await rm(statusFile, { force: true });
  // Files opened here and passed as fds: execa would pump a { file } through this process,
  // and the command would die of SIGPIPE with this worker.
  const log = createWriteStream('', { fd: openSync(opts.stderrFile, 'a', 0o600) });
  // runc wants the status fd opened write-only (its check is flags & O_WRONLY): a file we open.
  const status = createWriteStream('', { fd: openSync(statusFile, 'w', 0o600) });
  const child = execa('timeout', ['--kill-after=5', String(opts.deadlineS), file, ...args], {
    detached: true,
    cleanup: false, // it must outlive this worker: the source of a post-copy serves pages on
    env: opts.env,
    stdio: ['ignore', log, log, status],
    reject: false,
    buffer: false,
  });
  status.destroy();
  log.destroy();
  let ended = false;
  const done = child.then((r) => {
    ended = true;
    return r;
  });
  // The command writes one byte when ready; a file is polled (runc refuses the socket Node
  // would give as fd 3: "not writable").
  let ready = false;
  while (!ended) {
    if (((await stat(statusFile).catch(() => undefined))?.size ?? 0) > 0) {
      ready = true;
      break;
    }
    await new Promise((r) => setTimeout(r, STATUS_POLL_MS));
  }
  await rm(statusFile, { force: true });
  if (ready) {
    child.unref();
    return { ready: true };
  }
  const exit = await done;
  const stderr = await readFile(opts.stderrFile, 'utf8').catch(() => '');
  return { ready: false, exitCode: exit.exitCode, stderr: stderr.trim().slice(-2000) };
}

/**
 * Starts a listening CRIU command on a free port of address (CRIU refuses port 0): the port
 * comes from the kernel and the start is retried when another process took it meanwhile.
 */
export async function startListening(
  address: string,
  start: (port: number) => Promise<DetachedStart>,
  describe: string,
  why: () => string,
  attempts = 5,
): Promise<{ address: string; port: number }> {
  let last: DetachedStart | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = await freePort(address);
    const started = await start(port);
    if (started.ready) return { address, port };
    last = started;
  }
  const stderr = last?.stderr ? `: ${last.stderr.split('\n').slice(-3).join(' ')}` : '';
  throw new Error(
    `${describe} on ${address} did not start after ${attempts} attempts (exit ${last?.exitCode}${stderr}; ${why()})`,
  );
}
