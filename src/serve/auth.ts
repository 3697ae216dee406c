import { readFile, stat } from 'node:fs/promises';

export class TokenError extends Error {
  override name = 'TokenError';
}

const MIN_TOKEN_LENGTH = 16;

/**
 * The API token, from a file (0600 or stricter, like an SSH key) or $FERRY_API_TOKEN; never
 * from the command line, where every local user could read it in the process list.
 */
export async function loadToken(opts: { tokenFile?: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  let token: string | undefined;
  let from: string;
  if (opts.tokenFile) {
    from = opts.tokenFile;
    const info = await stat(opts.tokenFile).catch((err: Error) => {
      throw new TokenError(`cannot read the token file ${opts.tokenFile}: ${err.message}`);
    });
    if (info.mode & 0o077)
      throw new TokenError(
        `the token file ${opts.tokenFile} can be read by other users (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${opts.tokenFile}`,
      );
    token = (await readFile(opts.tokenFile, 'utf8')).trim();
  } else {
    from = '$FERRY_API_TOKEN';
    token = (opts.env ?? process.env).FERRY_API_TOKEN?.trim();
  }
  if (!token)
    throw new TokenError(
      'no API token: pass --tokens-file FILE or --token-file FILE (mode 0600), or set FERRY_API_TOKEN; generate one with: openssl rand -hex 32',
    );
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))
    throw new TokenError(
      `the API token from ${from} must be at least ${MIN_TOKEN_LENGTH} characters without white space; generate one with: openssl rand -hex 32`,
    );
  return token;
}

/** The secret of an Authorization header; tokens.ts finds whose it is. */
export function bearerSecret(header: string | undefined): 'missing' | 'malformed' | { secret: string } {
  if (!header) return 'missing';
  const m = /^Bearer ([^\s]+)$/i.exec(header.trim());
  if (!m) return 'malformed';
  return { secret: m[1]! };
}
