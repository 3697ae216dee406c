// Named API tokens with scopes (docs/api.md#tokens): the tokens file's format, and looking a
// bearer secret up among the tokens. Only each token's SHA-256 is kept, in the file and here.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { TokenError } from './auth.js';
import { SCOPES, type Scope } from './scopes.js';

export interface ApiToken {
  name: string;
  scopes: readonly Scope[];
  /** SHA-256 of the secret, 32 bytes. */
  sha256: Buffer;
}

export const sha256 = (secret: string): Buffer => createHash('sha256').update(secret).digest();

/** One token with every scope: $FERRY_API_TOKEN or the single secret of --token-file. */
export const allScopes = (name: string, secret: string): ApiToken => ({
  name,
  scopes: SCOPES,
  sha256: sha256(secret),
});

/** The token whose hash the secret has; every token is compared, in constant time each. */
export function findToken(tokens: readonly ApiToken[], secret: string): ApiToken | undefined {
  const digest = sha256(secret);
  let found: ApiToken | undefined;
  for (const t of tokens) if (timingSafeEqual(t.sha256, digest) && !found) found = t;
  return found;
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const fileSchema = z.strictObject({
  tokens: z.array(
    z.strictObject({
      name: z.string().regex(NAME_RE, 'a name is 1-63 lower-case letters, digits, ".", "_" or "-"'),
      sha256: z
        .string()
        .regex(/^[0-9a-f]{64}$/, 'sha256 is the 64 hex digits of: printf %s "$TOKEN" | sha256sum'),
      scopes: z.array(z.enum(SCOPES)).min(1, `scopes lists at least one of ${SCOPES.join(', ')}`),
    }),
  ),
});

/** Parses a tokens file (YAML); throws TokenError naming the file and every problem. */
export function parseTokensFile(text: string, file: string): ApiToken[] {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new TokenError(`the tokens file ${file} is not valid YAML: ${(err as Error).message}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success)
    throw new TokenError(
      `the tokens file ${file} is invalid: ${parsed.error.issues
        .map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`)
        .join('; ')} (format: docs/api.md#tokens)`,
    );
  const names = parsed.data.tokens.map((t) => t.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new TokenError(`the tokens file ${file} names token "${dup}" twice`);
  const hashes = parsed.data.tokens.map((t) => t.sha256);
  const same = hashes.findIndex((h, i) => hashes.indexOf(h) !== i);
  if (same >= 0)
    throw new TokenError(`the tokens file ${file} gives token "${names[same]}" the hash of another token`);
  return parsed.data.tokens.map((t) => ({
    name: t.name,
    scopes: [...new Set(t.scopes)],
    sha256: Buffer.from(t.sha256, 'hex'),
  }));
}

/** Reads a tokens file: 0600 or stricter (like an SSH key), else refused. */
export async function loadTokensFile(file: string): Promise<ApiToken[]> {
  const info = await stat(file).catch((err: Error) => {
    throw new TokenError(`cannot read the tokens file ${file}: ${err.message}`);
  });
  if (info.mode & 0o077)
    throw new TokenError(
      `the tokens file ${file} can be read by other users (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${file}`,
    );
  return parseTokensFile(await readFile(file, 'utf8'), file);
}
