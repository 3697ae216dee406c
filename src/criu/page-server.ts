import path from 'node:path';
import type { PageServerAddress } from '../domain/page-server.js';
import { killCommands } from '../host/stale-commands.js';
import { startListening, startUntilReady } from './ready-command.js';

/** A page server never outlives this, even if its worker dies (the dump takes seconds). */
const PAGE_SERVER_DEADLINE_S = 30 * 60;

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
  return startListening(
    address,
    (port) =>
      startUntilReady(
        'criu',
        [
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
        { deadlineS: PAGE_SERVER_DEADLINE_S, stderrFile: path.join(workDir, 'page-server.stderr') },
      ),
    'criu page-server',
    () => `see ${path.join(workDir, 'page-server.log')}`,
  );
}

/** Ends the page server of imagesDir if it still runs (idempotent). */
export async function stopPageServer(imagesDir: string): Promise<void> {
  await killCommands(imagesDir);
}
