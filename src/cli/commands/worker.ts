import { Option, type Command } from 'commander';
import { resolveConfigPath } from '../context.js';

/** `ferry worker`: runs until stopped, so it sets no exit code of its own. */
export function register(program: Command): void {
  program
    .command('worker')
    .description('run the host worker of one host (polls ferry-host-<host> and the workflow queue)')
    .requiredOption('--host <host>', 'this host, as named in the config')
    .requiredOption('--config <file>', 'ferry config file (YAML, docs/configuration.md)')
    .addOption(
      new Option('--fault-injection', 'obey STATE/fault-injection.json (fault tests only)').hideHelp(),
    )
    .addHelpText('after', '\nExample:\n  ferry worker --host node-a --config /etc/ferry/ferry.yaml')
    .action(async (opts) => {
      const { runHostWorker } = await import('../../workers/host-worker.js');
      await runHostWorker({
        host: opts.host,
        configFile: resolveConfigPath(opts.config),
        faultInjection: !!opts.faultInjection,
      });
    });
}
