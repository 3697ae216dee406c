import { existsSync } from 'node:fs';
import { findHost, loadConfig, type FerryConfig, type HostConfig } from '../config/schema.js';
import { defaultDevDir, DevLayout } from '../dev/dev-layout.js';
import { FerryClient, MigrationRequestError } from '../client/ferry-client.js';
import { temporalConnectionOptions } from '../config/temporal-connection.js';

/** A failure the CLI reports as one clear line and a given exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Exit codes, documented in docs/cli.md. */
export const EXIT = {
  /** Done: migrated, or the command did what it says. */
  ok: 0,
  /** The migration failed; the workload was left or put back on the source (or started fresh). */
  failed: 1,
  /** Bad input or refused request: nothing was started or changed. */
  badInput: 2,
  /** Failed and needs an operator: the result says what to run. */
  needsOperator: 3,
  /** Temporal unreachable or lost while waiting, or an internal error: the outcome is unknown here. */
  unknown: 4,
} as const;

/** Writes a command's result: JSON on stdout with --json, else the human text. */
export function printResult(json: boolean | undefined, value: unknown, text: string): void {
  process.stdout.write(
    json ? `${JSON.stringify(value, null, 2)}\n` : text.endsWith('\n') ? text : `${text}\n`,
  );
}

/** --config, else $FERRY_CONFIG, else the dev environment's config. */
export function resolveConfigPath(explicit?: string): string {
  const file = explicit ?? process.env.FERRY_CONFIG ?? new DevLayout(defaultDevDir()).configFile;
  if (!existsSync(file))
    throw new CliError(
      explicit || process.env.FERRY_CONFIG
        ? `config file ${file} does not exist`
        : `no config: pass --config FILE, set FERRY_CONFIG, or start the dev environment with: ferry dev up`,
      EXIT.badInput,
    );
  return file;
}

export async function loadCliConfig(explicit?: string): Promise<FerryConfig> {
  return loadConfig(resolveConfigPath(explicit));
}

export function requireHost(config: FerryConfig, name: string): HostConfig {
  const host = findHost(config, name);
  if (!host)
    throw new CliError(
      `unknown host "${name}": the configuration has ${config.hosts.map((h) => h.name).join(', ')}`,
      EXIT.badInput,
    );
  return host;
}

export async function connectClient(config: FerryConfig): Promise<FerryClient> {
  const connection = await temporalConnectionOptions(config.temporal); // unreadable certificate: ConfigError
  try {
    return await FerryClient.connect({
      ...connection,
      namespace: config.temporal.namespace,
      knownHosts: config.hosts.map((h) => h.name),
    });
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${config.temporal.address}: ${(err as Error).message}. Is the server up (ferry dev up), and is temporal.address in the config right?`,
      EXIT.unknown,
    );
  }
}

/** Runs fn with a client for the configured cluster; request errors become exit code 2. */
export async function withClient<T>(
  configFile: string | undefined,
  fn: (client: FerryClient) => Promise<T>,
): Promise<T> {
  const client = await connectClient(await loadCliConfig(configFile));
  try {
    return await fn(client);
  } catch (err) {
    const name = (err as Error).name;
    if (err instanceof MigrationRequestError) throw new CliError(err.message, EXIT.badInput);
    if (name === 'WorkflowNotFoundError')
      throw new CliError(`no such workflow: ${(err as Error).message}`, EXIT.badInput);
    if (name === 'ScheduleAlreadyRunning')
      throw new CliError(
        'a schedule of that id exists already; see: ferry schedule list (delete it first to change it)',
        EXIT.badInput,
      );
    if (name === 'ScheduleNotFoundError')
      throw new CliError('no such schedule; see: ferry schedule list', EXIT.badInput);
    throw err;
  } finally {
    await client.close();
  }
}
