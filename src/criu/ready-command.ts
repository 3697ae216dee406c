import { execa } from 'execa';
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
}

/**
 * Starts a long-lived CRIU (or runc) command detached from this worker, under `timeout` so that
 * it never outlives deadlineS even if the worker dies, and resolves once it writes to its
 * status fd (fd 3: `--status-fd 3`), or when it ends without doing so. It is found again later
 * by a path unique to the migration in its command line (stale-commands.ts).
 */
export async function startUntilReady(
  file: string,
  args: readonly string[],
  opts: { deadlineS: number; env?: Record<string, string> },
): Promise<DetachedStart> {
  const child = execa('timeout', ['--kill-after=5', String(opts.deadlineS), file, ...args], {
    detached: true,
    env: opts.env,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    reject: false,
    buffer: false,
  });
  const status = child.stdio[3]!;
  const ready = await new Promise<boolean>((resolve) => {
    status.once('data', () => resolve(true));
    status.once('end', () => resolve(false));
    status.once('error', () => resolve(false));
  });
  if (ready) {
    status.destroy();
    child.stderr?.destroy();
    child.unref();
    return { ready: true };
  }
  const done = await child;
  return { ready: false, exitCode: done.exitCode };
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
  let lastExit: number | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = await freePort(address);
    const started = await start(port);
    if (started.ready) return { address, port };
    lastExit = started.exitCode;
  }
  throw new Error(
    `${describe} on ${address} did not start after ${attempts} attempts (exit ${lastExit}; ${why()})`,
  );
}
