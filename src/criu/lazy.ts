// Post-copy (lazy pages) with CRIU: what a host needs, and the destination's lazy-pages daemon.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startUntilReady } from './ready-command.js';
import type { PageServerAddress } from '../domain/page-server.js';

/**
 * CRIU's lazy page server sizes its tee pipe with F_SETPIPE_SZ to PIPE_MAX_SIZE pages
 * (8 pages of 40-byte pipe_buffers = 819 pages, rounded up by the kernel to 4 MiB); criu
 * pipe_read_dest_init() in page-pipe.c. Above fs.pipe-max-size that needs CAP_SYS_RESOURCE,
 * and CRIU ignores the failure: the sink fd stays -1 and the first page request fails with
 * "page-pipe: splice: -1: Bad file descriptor". docs/migration-modes.md.
 */
export const LAZY_PIPE_BYTES = 4 * 1024 * 1024;
const CAP_SYS_RESOURCE = 24;

/** Pure: why a lazy dump cannot serve pages with these facts, or undefined. */
export function lazyDumpProblem(pipeMaxSize: number, capEff: bigint, host: string): string | undefined {
  if ((capEff >> BigInt(CAP_SYS_RESOURCE)) & 1n) return undefined;
  if (pipeMaxSize >= LAZY_PIPE_BYTES) return undefined;
  return (
    `${host} has fs.pipe-max-size ${pipeMaxSize} and no CAP_SYS_RESOURCE: CRIU's lazy page server cannot size its ` +
    `${LAZY_PIPE_BYTES}-byte pipe and fails on the first page ("page-pipe: splice: -1: Bad file descriptor"). ` +
    `Fix: sysctl -w fs.pipe-max-size=${LAZY_PIPE_BYTES} (docs/migration-modes.md)`
  );
}

/** Live probe of this host (the source of a post-copy migration). */
export async function lazyDumpUnavailable(host: string): Promise<string | undefined> {
  const pipeMax = Number((await readFile('/proc/sys/fs/pipe-max-size', 'utf8')).trim());
  const status = await readFile('/proc/self/status', 'utf8');
  const capEff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1] ?? '0'}`);
  return lazyDumpProblem(pipeMax, capEff, host);
}

/**
 * CRIU's RPC mode (how runc drives it) drops the page server address when lazy_pages is set
 * (criu/cr-service.c, setup_opts_from_req) and would listen on every address. A config file
 * named by CRIU_CONFIG_FILE is applied before the RPC options and survives: bind to address.
 */
export async function writeLazyAddressConfig(workDir: string, address: string): Promise<string> {
  const file = path.join(workDir, 'criu-lazy.conf');
  await writeFile(file, `address ${address}\n`, { mode: 0o600 });
  return file;
}

/** A lazy-pages daemon never outlives this, even if its worker dies. */
const LAZY_DAEMON_DEADLINE_S = 60 * 60;

/**
 * Destination: `criu lazy-pages` fetching from the source's lazy page server into the restore
 * that follows (they meet on lazy-pages.socket in workDir). Resolves once it is ready.
 */
export async function startLazyPagesDaemon(
  source: PageServerAddress,
  imagesDir: string,
  workDir: string,
): Promise<void> {
  const started = await startUntilReady(
    'criu',
    [
      'lazy-pages',
      '--page-server',
      '--address',
      source.address,
      '--port',
      String(source.port),
      '--images-dir',
      imagesDir,
      '--work-dir',
      workDir,
      '--log-file',
      'lazy-pages.log',
      '-v4',
      '--status-fd',
      '3',
    ],
    { deadlineS: LAZY_DAEMON_DEADLINE_S, stderrFile: path.join(workDir, 'lazy-pages.stderr') },
  );
  if (!started.ready)
    throw new Error(
      `criu lazy-pages did not start (exit ${started.exitCode}; see ${path.join(workDir, 'lazy-pages.log')})`,
    );
}

/** What the source's lazy dump log says about the page transfer. */
export function lazyDumpState(log: string): 'serving' | 'finished' | 'failed' {
  if (/Lazy pages transfer finished successfully/.test(log)) return 'finished';
  if (/Lazy pages transfer FAILED|Dumping FAILED/.test(log)) return 'failed';
  return 'serving';
}
