import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { checkName, isRuntimeName, RUNTIMES, type RuntimeName } from '../../domain/names.js';
import { CliError, EXIT, loadCliConfig, requireHost } from '../context.js';
import { configOption, examples, type SetExit } from '../command-helpers.js';

export function register(program: Command, exit: SetExit): void {
  examples(
    program
      .command('logs')
      .description("print a workload's captured stdout/stderr on a host")
      .argument('<workload>', 'workload name')
      .requiredOption('--host <host>', 'host the workload is on')
      .option('--runtime <runtime>', 'runc | process | podman | docker (default: whichever has it)')
      .option('-f, --follow', 'keep printing new output')
      .addOption(configOption())
      .action(async (workload, opts) => exit(await logsCommand(workload, opts))),
    'ferry logs web --host node-b',
    'ferry logs web --host node-b --follow',
  );
}

/** Finds a workload's captured output on a (local or simulated) host. */
export async function workloadLogPath(
  name: string,
  hostName: string,
  runtime?: string,
  configFile?: string,
): Promise<string> {
  const problem = checkName('workload', name);
  if (problem) throw new CliError(problem, EXIT.badInput);
  if (runtime !== undefined && !isRuntimeName(runtime))
    throw new CliError(`unknown runtime "${runtime}": use one of ${RUNTIMES.join(', ')}`, EXIT.badInput);
  const host = requireHost(await loadCliConfig(configFile), hostName);
  const { HostPaths } = await import('../../host/host-paths.js');
  const paths = new HostPaths(host.stateDir);
  const candidates = (runtime ? [runtime as RuntimeName] : [...RUNTIMES]).map((r) =>
    paths.outputLog(r, name),
  );
  const found = candidates.find((c) => existsSync(c));
  if (!found)
    throw new CliError(
      `no workload "${name}" on host ${hostName} (looked for ${candidates.join(', ')})`,
      EXIT.badInput,
    );
  return found;
}

/** podman and docker keep a container's output themselves (it moves inside their checkpoint). */
async function containerOutput(
  name: string,
  opts: { host: string; runtime?: string; config?: string },
): Promise<string | undefined> {
  const config = await loadCliConfig(opts.config);
  const host = requireHost(config, opts.host);
  // The runtimes' adapters load only here: ferry logs of a process workload needs none.
  const { HostContext } = await import('../../activities/host-context.js');
  const ctx = new HostContext(config, host);
  for (const r of ['podman', 'docker'] as const) {
    if ((opts.runtime && opts.runtime !== r) || !host.runtimes.includes(r)) continue;
    const rt = ctx.runtime(r);
    if ((await rt.unavailableReason()) === undefined && (await rt.inspect(name))) return rt.output(name);
  }
  return undefined;
}

export async function logsCommand(
  name: string,
  opts: { host: string; runtime?: string; follow?: boolean; config?: string },
): Promise<number> {
  if (!opts.runtime || opts.runtime === 'podman' || opts.runtime === 'docker') {
    const text = await containerOutput(name, opts);
    if (text !== undefined) {
      process.stdout.write(text.endsWith('\n') || !text ? text : `${text}\n`);
      return EXIT.ok;
    }
  }
  const file = await workloadLogPath(name, opts.host, opts.runtime, opts.config);
  let offset = 0;
  const pump = async () => {
    const size = (await stat(file).catch(() => ({ size: offset }))).size;
    if (size > offset) {
      await new Promise<void>((resolve, reject) => {
        const s = createReadStream(file, { start: offset, end: size - 1 });
        s.on('error', reject);
        s.on('end', resolve);
        s.pipe(process.stdout, { end: false });
      });
      offset = size;
    }
  };
  await pump();
  if (!opts.follow) return EXIT.ok;
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    await pump();
  }
}
