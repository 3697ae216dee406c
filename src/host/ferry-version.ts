import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// src/host/ or dist/host/: package.json is two folders up either way.
const PACKAGE_JSON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');

/** ferry's version from package.json: what `ferry serve`, `ferry hosts` and docs/openapi.json report. */
export function ferryVersion(): string {
  return (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;
}
