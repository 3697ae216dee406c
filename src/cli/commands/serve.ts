import type { Command } from 'commander';
import { loadToken, TokenError } from '../../serve/auth.js';
import { ferryVersion } from '../../host/ferry-version.js';
import { TokenRegistry } from '../../serve/token-registry.js';
import { allScopes, type ApiToken } from '../../serve/tokens.js';
import type { SetExit } from '../command-helpers.js';
import { CliError, connectClient, EXIT, loadCliConfig } from '../context.js';

export interface ServeCliOptions {
  listen: string;
  tokenFile?: string;
  tokensFile?: string;
  config?: string;
}

export function register(program: Command, exit: SetExit): void {
  program
    .command('serve')
    .description('HTTP API for services without a Temporal SDK: start and follow migrations and evacuations')
    .option('--listen <address:port>', 'where to listen (loopback by default)', '127.0.0.1:8470')
    .option('--token-file <file>', 'one bearer token with every scope (mode 0600); default: $FERRY_API_TOKEN')
    .option(
      '--tokens-file <file>',
      'named tokens with scopes (YAML, mode 0600; reloaded when it changes and on SIGHUP): docs/api.md#tokens',
    )
    .option('--config <file>', 'ferry config (default: $FERRY_CONFIG or the dev environment)')
    .addHelpText(
      'after',
      '\nExample:\n  ferry serve --listen 127.0.0.1:8470 --tokens-file /etc/ferry/api-tokens.yaml --config /etc/ferry/ferry.yaml\nAPI: docs/api.md, GET /openapi.json',
    )
    .action(async (opts) => exit(await serveCommand(opts)));
}

/** Parses ADDRESS:PORT ([v6]:PORT too); loopback by default (docs/api.md). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535)
    throw new CliError(`--listen must be ADDRESS:PORT, e.g. 127.0.0.1:8470 (got ${listen})`, EXIT.badInput);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** Runs the HTTP API until SIGTERM or SIGINT. */
export async function serveCommand(opts: ServeCliOptions): Promise<number> {
  const { host, port } = parseListen(opts.listen);
  const tokens = await loadTokens(opts);
  const client = await connectClient(await loadCliConfig(opts.config));
  // Loaded on use: the HTTP framework stays out of every other command's start-up.
  const { buildServer } = await import('../../serve/server.js');
  const app = buildServer({ client, tokens, version: ferryVersion() });
  tokens.watch(app.log);
  app.log.info({ tokens: tokens.tokens.map((t) => t.name) }, 'API tokens loaded');
  try {
    await app.listen({ host, port });
  } catch (err) {
    await client.close();
    throw new CliError(
      `cannot listen on ${opts.listen}: ${(err as Error).message}; pick a free address with --listen`,
      EXIT.badInput,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  tokens.close();
  await app.close();
  await client.close();
  return EXIT.ok;
}

/**
 * The tokens file's named tokens, plus one with every scope from --token-file ("token-file")
 * or $FERRY_API_TOKEN ("env"); at least one of them.
 */
export async function loadTokens(
  opts: Pick<ServeCliOptions, 'tokenFile' | 'tokensFile'>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<TokenRegistry> {
  try {
    const fixed: ApiToken[] = [];
    if (opts.tokenFile || env.FERRY_API_TOKEN || !opts.tokensFile)
      fixed.push(
        allScopes(opts.tokenFile ? 'token-file' : 'env', await loadToken({ tokenFile: opts.tokenFile, env })),
      );
    const registry = new TokenRegistry(fixed, opts.tokensFile);
    await registry.load();
    return registry;
  } catch (err) {
    if (err instanceof TokenError) throw new CliError(err.message, EXIT.badInput);
    throw err;
  }
}
