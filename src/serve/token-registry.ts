// The tokens ferry serve accepts now: the tokens file's (re-read when it changes, or on SIGHUP)
// plus the fixed one of $FERRY_API_TOKEN / --token-file. A file that fails to load keeps the
// tokens it had, and says why.
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { findToken, loadTokensFile, type ApiToken } from './tokens.js';

export interface TokenLog {
  info: (obj: object, msg: string) => void;
  error: (obj: object, msg: string) => void;
}

export class TokenRegistry {
  private fromFile: ApiToken[] = [];
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private readonly onHup = () => void this.reload('SIGHUP');

  constructor(
    private readonly fixed: readonly ApiToken[],
    private readonly file?: string,
  ) {}

  /** A registry of fixed tokens only (tests, $FERRY_API_TOKEN alone). */
  static of(...tokens: ApiToken[]): TokenRegistry {
    return new TokenRegistry(tokens);
  }

  get tokens(): readonly ApiToken[] {
    return [...this.fixed, ...this.fromFile];
  }

  find(secret: string): ApiToken | undefined {
    return findToken(this.tokens, secret);
  }

  /** The first load: throws (a TokenError) when the file is missing, readable by others or invalid. */
  async load(): Promise<void> {
    if (this.file) this.fromFile = await loadTokensFile(this.file);
  }

  /** Re-reads the file; on failure keeps the previous tokens. Resolves true when it loaded. */
  async reload(why: string, log: TokenLog = this.log): Promise<boolean> {
    if (!this.file) return false;
    try {
      this.fromFile = await loadTokensFile(this.file);
      log.info({ why, tokens: this.fromFile.map((t) => t.name) }, `tokens file ${this.file} reloaded`);
      return true;
    } catch (err) {
      log.error(
        { why, err: (err as Error).message },
        `tokens file ${this.file} not reloaded, keeping the previous tokens: ${(err as Error).message}`,
      );
      return false;
    }
  }

  private log: TokenLog = { info: () => undefined, error: () => undefined };

  /**
   * Reloads when the file changes and on SIGHUP. Watches the folder, not the file: editors and
   * config managers replace a file by renaming a new one over it, which ends a watch on the file.
   */
  watch(log: TokenLog): void {
    this.log = log;
    if (!this.file) return;
    const base = path.basename(this.file);
    this.watcher = watch(path.dirname(this.file), (_event, name) => {
      if (name !== null && name.toString() !== base) return;
      // One save is several events (truncate, write, rename): read once they settle.
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload('file changed'), 100);
    });
    process.on('SIGHUP', this.onHup);
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
    process.off('SIGHUP', this.onHup);
  }
}
