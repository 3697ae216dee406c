import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../dev/dev-layout.js';

/** ferry's version from package.json: what `ferry serve` and docs/openapi.json report. */
export function ferryVersion(): string {
  return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
}
