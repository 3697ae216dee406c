/** A command line as a user pastes it into a POSIX shell (words quoted only where needed). */
export function shellLine(words: readonly string[]): string {
  return words
    .map((w) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
