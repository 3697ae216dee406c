// Writes docs/openapi.json from the schemas ferry serve validates with (npm run openapi);
// test/unit/serve.test.ts fails when the committed copy is stale.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../dev/dev-layout.js';
import { openApiDocument } from './openapi.js';
import { ferryVersion } from '../host/ferry-version.js';

export const OPENAPI_FILE = path.join(REPO_ROOT, 'docs', 'openapi.json');

await writeFile(OPENAPI_FILE, JSON.stringify(openApiDocument(ferryVersion()), null, 2) + '\n');
console.log(`wrote ${OPENAPI_FILE}`);
