// Each outcome's description must be true of every run that ends with it: a failed dump attempt
// freezes the workload and CRIU resumes it, so "before the freeze" endings may not claim that
// nothing was frozen.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUTCOMES } from '../../src/domain/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (page: string) => readFileSync(path.join(ROOT, page), 'utf8');
const pages = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

describe('outcome descriptions', () => {
  it('failure-handling.md describes every outcome in its table', () => {
    const rows = read('docs/failure-handling.md')
      .split('\n')
      .filter((l) => l.startsWith('| `'));
    for (const o of OUTCOMES) expect(rows.some((r) => r.startsWith(`| \`${o}\``))).toBe(true);
  });

  it('no page says a failure before the final freeze froze nothing', () => {
    for (const page of pages)
      expect([page, read(page).match(/nothing (was|is) frozen|nothing was ever frozen/gi)]).toEqual([
        page,
        null,
      ]);
  });

  it('the endings before the final freeze point at the freeze count', () => {
    const row = read('docs/failure-handling.md')
      .split('\n')
      .find((l) => l.startsWith('| `failed-before-freeze`'))!;
    expect(row).toContain('`freezes`');
    expect(read('docs/workflows.md')).toMatch(/`failed-before-freeze` \([^)]*`freezes`/);
  });
});
