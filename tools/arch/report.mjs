// Architecture figures for src/: file and function sizes, import cycles (type-only imports
// included) and imports that point up the layer order (docs/architecture.md). Used by
// test/unit/architecture.test.ts and, with --print, for the before/after figures of a change.
import ts from 'typescript';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';

/**
 * The layer order, lowest first: a folder may import its own layer and the ones below it.
 * Same-rank folders may import each other only where listed in SAME_RANK_ALLOWED.
 */
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

function listTs(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listTs(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function resolveImport(fromFile, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(fromFile), spec);
  for (const c of [base.replace(/\.js$/, '.ts'), base + '.ts', join(base, 'index.ts')])
    if (existsSync(c)) return c;
  return undefined;
}

const FUNCTION_KINDS = new Set([
  ts.SyntaxKind.FunctionDeclaration,
  ts.SyntaxKind.FunctionExpression,
  ts.SyntaxKind.ArrowFunction,
  ts.SyntaxKind.MethodDeclaration,
  ts.SyntaxKind.Constructor,
  ts.SyntaxKind.GetAccessor,
  ts.SyntaxKind.SetAccessor,
]);

function functionName(node, sf) {
  if (node.name) return node.name.getText(sf);
  const p = node.parent;
  if (p && ts.isVariableDeclaration(p)) return p.name.getText(sf);
  if (p && ts.isPropertyAssignment(p)) return p.name.getText(sf);
  return '(anonymous)';
}

/** Everything the report and the test need, for the src/ folder under root. */
export function analyse(root) {
  const srcDir = join(root, 'src');
  const files = listTs(srcDir);
  const edges = new Map(files.map((f) => [f, []]));
  const fileLines = [];
  const functions = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    fileLines.push({
      file: relative(root, file),
      lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0),
    });
    const visit = (node) => {
      let spec;
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier)
        spec = node.moduleSpecifier.text;
      else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
        spec =
          node.arguments[0] && ts.isStringLiteral(node.arguments[0]) ? node.arguments[0].text : undefined;
      else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
        spec = node.argument.literal.text;
      if (spec) {
        const target = resolveImport(file, spec);
        if (target) edges.get(file).push(target);
      }
      if (FUNCTION_KINDS.has(node.kind) && node.body) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.end).line;
        functions.push({ file: relative(root, file), name: functionName(node, sf), lines: end - start + 1 });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  const folderOf = (f) => relative(srcDir, f).split(sep)[0];
  const upward = [];
  for (const [from, tos] of edges)
    for (const to of tos) {
      const a = layerOf(folderOf(from));
      const b = layerOf(folderOf(to));
      if (a !== undefined && b !== undefined && b > a)
        upward.push(`${relative(root, from)} -> ${relative(root, to)}`);
    }
  const unlayered = [
    ...new Set(files.map(folderOf).filter((f) => !f.endsWith('.ts') && layerOf(f) === undefined)),
  ];
  return {
    files: fileLines.sort((a, b) => b.lines - a.lines),
    functions: functions.sort((a, b) => b.lines - a.lines),
    cycles: stronglyConnected(edges).map((c) => c.map((f) => relative(root, f))),
    upward: [...new Set(upward)].sort(),
    unlayered,
  };
}

/** Tarjan: every group of files that import each other, directly or not (self-imports too). */
function stronglyConnected(edges) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const c = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(c.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) strong(v);
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
};

if (process.argv.includes('--print')) {
  const r = analyse(resolve(dirname(new URL(import.meta.url).pathname), '../..'));
  console.log(`files: ${r.files.length}, median ${median(r.files.map((f) => f.lines))} lines; largest:`);
  for (const f of r.files.slice(0, 5)) console.log(`  ${f.lines}  ${f.file}`);
  console.log(
    `functions: ${r.functions.length}, median ${median(r.functions.map((f) => f.lines))} lines; longest:`,
  );
  for (const f of r.functions.slice(0, 5)) console.log(`  ${f.lines}  ${f.file} ${f.name}`);
  console.log(`import cycles (type-only included): ${r.cycles.length}`);
  for (const c of r.cycles) console.log(`  ${c.join(' <-> ')}`);
  console.log(`upward imports: ${r.upward.length}`);
  for (const u of r.upward) console.log(`  ${u}`);
  if (r.unlayered.length) console.log(`folders with no layer: ${r.unlayered.join(', ')}`);
}
