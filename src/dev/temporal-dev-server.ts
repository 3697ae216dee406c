import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_NAMES } from '../workflows/search-attributes.js';
import { TOOLS_BIN } from './dev-layout.js';
import { spawnDetached, waitFor } from './processes.js';

/** $TEMPORAL_CLI, else `temporal` on PATH, else the copy scripts/setup.sh built. */
export async function findTemporalCli(): Promise<string> {
  const candidates = [
    process.env.TEMPORAL_CLI,
    ...(process.env.PATH ?? '')
      .split(':')
      .filter(Boolean)
      .map((d) => path.join(d, 'temporal')),
    path.join(TOOLS_BIN, 'temporal'),
  ].filter((c): c is string => !!c);
  for (const c of candidates) {
    if (
      await access(c, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return c;
  }
  throw new Error(
    'Temporal CLI not found: set TEMPORAL_CLI, put `temporal` on PATH, or run scripts/setup.sh',
  );
}

export interface TemporalDevServerOptions {
  port: number;
  uiPort: number;
  dbFile: string;
  logFile: string;
}

export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<number> {
  const cli = await findTemporalCli();
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--ui-port',
    String(opts.uiPort),
    '--db-filename',
    opts.dbFile,
    '--log-level',
    'warn',
    ...SEARCH_ATTRIBUTE_NAMES.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
  ];
  const pid = spawnDetached(cli, args, opts.logFile);
  await waitFor(
    `the Temporal dev server on 127.0.0.1:${opts.port}`,
    () => temporalReady(`127.0.0.1:${opts.port}`),
    60_000,
    `see ${opts.logFile}`,
  );
  return pid;
}

export async function temporalReady(address: string): Promise<boolean> {
  try {
    const conn = await Connection.connect({ address, connectTimeout: '1s' });
    try {
      await conn.workflowService.getSystemInfo({});
      return true;
    } finally {
      await conn.close();
    }
  } catch {
    return false;
  }
}
