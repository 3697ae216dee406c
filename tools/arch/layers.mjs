// The layer order of src/, lowest first (docs/architecture.md). A folder may import its own
// layer and those below it, never one above: ESLint (eslint.config.js) and
// test/unit/architecture.test.ts both read this table.
export const LAYERS = [
  ['domain'],
  ['exec', 'config', 'observability', 'host'],
  ['criu', 'transfer'],
  ['runtimes'],
  ['activities'],
  ['workflows'],
  ['client', 'workers'],
  ['dev'],
  ['serve'],
  ['cli', 'bench', 'precopy-proof'],
];

export function layerOf(folder) {
  const i = LAYERS.findIndex((l) => l.includes(folder));
  return i < 0 ? undefined : i;
}

/** The folders a folder may not import. */
export function foldersAbove(folder) {
  const i = layerOf(folder);
  return i === undefined ? [] : LAYERS.slice(i + 1).flat();
}
