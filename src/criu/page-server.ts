import { execa } from 'execa';
import { createServer } from 'node:net';
import path from 'node:path';
import type { PageServerAddress } from '../runtimes/runtime.js';
import { killCommands } from '../activities/stale-commands.js';

/** A page server never outlives this, even if its worker dies (the dump takes seconds). */
const PAGE_SERVER_DEADLINE_S = 30 * 60;
const START_ATTEMPTS = 5;

/** A port the kernel just gave out on address. Another process may take it first: callers retry. */
async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: address, port: 0, exclusive: true }, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `criu page-server` bound to address (this host's own), writing pages into imagesDir.
 * Resolves once it listens (CRIU writes to its status fd). CRIU refuses port 0, so a free
 * port is taken from the kernel and the start retried if another process grabbed it meanwhile.
 * It serves one dump and exits; `timeout` ends it after PAGE_SERVER_DEADLINE_S regardless.
 */
export async function startPageServer(
  address: string,
  imagesDir: string,
  workDir: string,
): Promise<PageServerAddress> {
  let lastError = '';
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const port = await freePort(address);
    const child = execa(
      'timeout',
      [
        '--kill-after=5',
        String(PAGE_SERVER_DEADLINE_S),
        'criu',
        'page-server',
        '--address',
        address,
        '--port',
        String(port),
        '--images-dir',
        imagesDir,
        '--work-dir',
        workDir,
        '--log-file',
        'page-server.log',
        '-v4',
        '--status-fd',
        '3',
      ],
      { detached: true, stdio: ['ignore', 'ignore', 'pipe', 'pipe'], reject: false, buffer: false },
    );
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
      return { address, port };
    }
    const done = await child;
    lastError = `exit ${done.exitCode}; see ${path.join(workDir, 'page-server.log')}`;
  }
  throw new Error(
    `criu page-server on ${address} did not start after ${START_ATTEMPTS} attempts (${lastError})`,
  );
}

/** Ends the page server of imagesDir if it still runs (idempotent). */
export async function stopPageServer(imagesDir: string): Promise<void> {
  await killCommands(imagesDir);
}
