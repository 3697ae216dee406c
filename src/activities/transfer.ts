import { ErrorType } from '../domain/errors.js';
import type { TransferResult } from '../domain/types.js';
import { Context } from '@temporalio/activity';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { killCommands } from './stale-commands.js';
import { CommandError } from '../exec/run.js';
import { ensureSshControlDir } from '../transfer/ssh-control.js';
import { rsyncPush, type RsyncProgress, type SshOptions } from '../transfer/rsync.js';
import { ferryFailure } from './failure.js';
import { withHeartbeat } from './heartbeat.js';
import type { HostContext } from './host-context.js';
import type { TransferInput } from './inputs.js';

// Host-local files that must not travel: pid records and runc's own logs.
const WORKLOAD_EXCLUDES = ['*.pid', 'runc.log'];

export function transferActivities(ctx: HostContext) {
  async function sshOptions(): Promise<SshOptions> {
    return {
      identityFile: ctx.config.transfer.identityFile,
      knownHostsFile: ctx.config.transfer.knownHostsFile,
      bindAddress: ctx.config.transfer.bindToHostAddress ? ctx.host.ssh.address : undefined,
      controlDir: await ensureSshControlDir(ctx.paths.stateDir),
    };
  }

  async function push(input: TransferInput, withImages: boolean): Promise<TransferResult> {
    const started = Date.now();
    const dest = ctx.peer(input.destination);
    const relative = (dir: string) => path.relative(ctx.paths.stateDir, dir);
    const workloadPath = relative(ctx.paths.workloadDir(input.runtime, input.workload));
    const paths = [workloadPath];
    // Container runtimes keep their state themselves: the folder may not exist yet, but ferry
    // notes and logs may land in it on the destination, so it always travels (empty or not).
    await mkdir(ctx.paths.workloadDir(input.runtime, input.workload), { recursive: true, mode: 0o700 });
    if (withImages) paths.unshift(relative(ctx.paths.imagesDir(input.migrationId)));
    // An rsync an earlier attempt started may still run (its worker was killed): rsync
    // resumes, so stop it and start over from what arrived.
    await killCommands(`${ctx.paths.stateDir}/./${workloadPath}`);
    if (withImages) await ctx.faults.at('before-transfer', input.workload);
    let progress: RsyncProgress | undefined;
    try {
      // One rsync, one (reused) SSH connection; a retried transfer sends only what is missing.
      const { bytesSent } = await withHeartbeat(
        async () =>
          rsyncPush(
            {
              fromRoot: ctx.paths.stateDir,
              paths,
              to: dest.ssh,
              toRoot: dest.stateDir,
              excludes: WORKLOAD_EXCLUDES,
              deleteExtraneous: true,
              timeoutMs: 60 * 60_000,
            },
            await sshOptions(),
            (p) => (progress = p),
            Context.current().cancellationSignal,
          ),
        () => ({ phase: withImages ? 'transfer' : 'presync', ...progress }),
      );
      return { bytesSent, durationMs: Date.now() - started };
    } catch (err) {
      const message = `transfer from ${ctx.host.name} to ${dest.name}: ${(err as Error).message}`;
      // Retrying cannot make room: fail fast so the rollback starts at once.
      const stderr = err instanceof CommandError ? err.stderr : '';
      const full = /No space left on device[^\n]*/i.exec(stderr)?.[0];
      if (full || /No space left on device/i.test(message))
        throw ferryFailure(
          ErrorType.InsufficientSpace,
          `transfer from ${ctx.host.name} to ${dest.name}: ${full ?? message}`,
        );
      throw ferryFailure(ErrorType.TransferFailed, message);
    }
  }

  return {
    /** While the workload still runs: copy its bundle/rootfs so the final sync sends only changes. */
    presync: (input: TransferInput) => push(input, false),
    /** After the final dump: the images plus the workload's files (bundle, rootfs changes, log). */
    transfer: (input: TransferInput) => push(input, true),
  };
}
