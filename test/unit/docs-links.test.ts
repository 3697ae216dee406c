// Every relative link in the README and docs/ points at a file that exists, and every source
// path the docs name (`src/...`) is still there: docs that point nowhere are a defect.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pages = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

function brokenLinks(page: string): string[] {
  const text = readFileSync(path.join(ROOT, page), 'utf8');
  const broken: string[] = [];
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target!) || target!.startsWith('#')) continue;
    const file = target!.split('#')[0]!;
    if (!existsSync(path.resolve(ROOT, path.dirname(page), file))) broken.push(`${page}: link ${target}`);
  }
  for (const [, src] of text.matchAll(/(?<![\w/.])(src\/[\w./-]+\.(?:ts|mjs|js))/g))
    if (!existsSync(path.join(ROOT, src!))) broken.push(`${page}: names ${src}`);
  return broken;
}

describe('docs', () => {
  it('has pages to check', () => expect(pages.length).toBeGreaterThan(10));
  it.each(pages)('%s links only to what exists', (page) => {
    expect(brokenLinks(page)).toEqual([]);
  });
});
