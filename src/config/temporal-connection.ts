import { readFile } from 'node:fs/promises';
import type { TLSConfig } from '@temporalio/client';
import type { TemporalConfig } from './schema.js';
import { ConfigError } from './schema.js';

/** Address and TLS settings for both the client and the worker's native connection. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
}

async function readPem(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

/** Reads the certificate files named by temporal.tls (docs/deploy.md). */
export async function temporalConnectionOptions(cfg: TemporalConfig): Promise<TemporalConnectionOptions> {
  const t = cfg.tls;
  if (!t) return { address: cfg.address };
  const tls: TLSConfig = {};
  if (t.serverName) tls.serverNameOverride = t.serverName;
  if (t.serverCaFile)
    tls.serverRootCACertificate = await readPem(t.serverCaFile, 'temporal.tls.serverCaFile');
  if (t.clientCertFile && t.clientKeyFile)
    tls.clientCertPair = {
      crt: await readPem(t.clientCertFile, 'temporal.tls.clientCertFile'),
      key: await readPem(t.clientKeyFile, 'temporal.tls.clientKeyFile'),
    };
  return { address: cfg.address, tls };
}
