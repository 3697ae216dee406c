// ferry --help lists every command the command files declare, and every group's --help its
// subcommands: registration alone (no action runs) describes the whole CLI.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';

const COMMANDS_DIR = path.join(process.cwd(), 'src', 'cli', 'commands');

/** Every `.command('name')` in src/cli/commands/, as declared in the sources. */
function declaredCommands(): string[] {
  return readdirSync(COMMANDS_DIR)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) =>
      [...readFileSync(path.join(COMMANDS_DIR, f), 'utf8').matchAll(/\.command\('([a-z-]+)/g)].map(
        (m) => m[1]!,
      ),
    );
}

/** Each command's help, keyed by its path ("dev spawn"). */
function helps(cmd: Command, prefix = ''): Map<string, { help: string; sub: string[] }> {
  const out = new Map<string, { help: string; sub: string[] }>();
  out.set(prefix, { help: cmd.helpInformation(), sub: cmd.commands.map((c) => c.name()) });
  for (const c of cmd.commands) for (const [k, v] of helps(c, `${prefix} ${c.name()}`.trim())) out.set(k, v);
  return out;
}

describe('ferry --help', () => {
  const program = buildProgram(() => undefined);
  const all = helps(program);

  it('lists every command the command files declare, each under its group', () => {
    const declared = declaredCommands();
    expect(declared.length).toBeGreaterThan(20);
    expect(declared).toEqual(expect.arrayContaining(['migrate', 'hosts', 'worker', 'snapshot', 'dev']));
    for (const name of declared) {
      const parents = [...all.entries()].filter(([, v]) => v.sub.includes(name));
      expect({ name, listed: parents.length > 0 }).toEqual({ name, listed: true });
      for (const [, parent] of parents) expect(parent.help).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    }
  });

  it('describes ferry hosts with its options', () => {
    const hosts = all.get('hosts')!.help;
    expect(hosts).toContain('--json');
    expect(hosts).toContain('--config <file>');
    expect(all.get('')!.help).toMatch(/^ {2}hosts \[options\]\s+each configured host/m);
  });
});
