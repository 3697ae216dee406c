// What the commands share. Kept cheap to load: the config schema (zod) and the Temporal client
// are imported when a command first needs them, so that `ferry --help` loads neither.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FerryConfig, HostConfig } from '../config/schema.js';
import { defaultDevDir, DevLayout } from '../dev/dev-layout.js';
import type { FerryClient } from '../client/ferry-client.js';

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

const configFiles = new WeakMap<FerryConfig, string>();

/** The file a config loaded by loadCliConfig came from. */
export function configFileOf(config: FerryConfig): string | undefined {
  return configFiles.get(config);
}

export async function loadCliConfig(explicit?: string): Promise<FerryConfig> {
  const { loadConfig } = await import('../config/schema.js');
  const file = resolveConfigPath(explicit);
  const config = await loadConfig(file);
  configFiles.set(config, path.resolve(file));
  return config;
}

export function requireHost(config: FerryConfig, name: string): HostConfig {
  const host = config.hosts.find((h) => h.name === name);
  if (!host)
    throw new CliError(
      `unknown host "${name}": the configuration has ${config.hosts.map((h) => h.name).join(', ')}`,
      EXIT.badInput,
    );
  return host;
}

/** A client for the configured cluster; configFile is named in the worker command of refusals. */
export async function connectClient(config: FerryConfig, configFile?: string): Promise<FerryClient> {
  const [{ temporalConnectionOptions }, { FerryClient }] = await Promise.all([
    import('../config/temporal-connection.js'),
    import('../client/ferry-client.js'),
  ]);
  const connection = await temporalConnectionOptions(config.temporal); // unreadable certificate: ConfigError
  try {
    return await FerryClient.connect({
      ...connection,
      namespace: config.temporal.namespace,
      hosts: config.hosts,
      configFile: configFile ?? configFileOf(config),
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
    if (name === 'MigrationRequestError') throw new CliError((err as Error).message, EXIT.badInput);
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
