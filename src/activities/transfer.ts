import { ErrorType } from '../domain/errors.js';
import type { TransferResult } from '../domain/types.js';
import { HostPaths } from '../runtimes/host-paths.js';
import { rsyncPush, type RsyncProgress, type SshOptions } from '../transfer/rsync.js';
import { ferryFailure } from './failure.js';
import { withHeartbeat } from './heartbeat.js';
import type { HostContext } from './host-context.js';
import type { TransferInput } from './inputs.js';

// Host-local files that must not travel: pid records and runc's own logs.
const WORKLOAD_EXCLUDES = ['*.pid', 'runc.log'];

export function transferActivities(ctx: HostContext) {
  function sshOptions(): SshOptions {
    return {
      identityFile: ctx.config.transfer.identityFile,
      knownHostsFile: ctx.config.transfer.knownHostsFile,
      bindAddress: ctx.config.transfer.bindToHostAddress ? ctx.host.ssh.address : undefined,
    };
  }

  async function pushWorkloadFiles(input: TransferInput, withImages: boolean): Promise<TransferResult> {
    const started = Date.now();
    const dest = ctx.peer(input.destination);
    const destPaths = new HostPaths(dest.stateDir);
    let progress: RsyncProgress | undefined;
    let bytesSent = 0;
    const onProgress = (p: RsyncProgress) => (progress = p);
    try {
      await withHeartbeat(
        async () => {
          // rsync resumes: a retried transfer only sends what is missing or changed.
          const files = await rsyncPush(
            {
              from: ctx.paths.workloadDir(input.runtime, input.workload),
              to: dest.ssh,
              toDir: destPaths.workloadDir(input.runtime, input.workload),
              excludes: WORKLOAD_EXCLUDES,
              deleteExtraneous: true,
              timeoutMs: 60 * 60_000,
            },
            sshOptions(),
            onProgress,
          );
          bytesSent += files.bytesSent;
          if (!withImages) return;
          const images = await rsyncPush(
            {
              from: ctx.paths.imagesDir(input.migrationId),
              to: dest.ssh,
              toDir: destPaths.imagesDir(input.migrationId),
              chmod: 'D0700,F0600',
              timeoutMs: 60 * 60_000,
            },
            sshOptions(),
            onProgress,
          );
          bytesSent += images.bytesSent;
        },
        () => ({ phase: withImages ? 'transfer' : 'presync', ...progress }),
      );
    } catch (err) {
      throw ferryFailure(
        ErrorType.TransferFailed,
        `transfer from ${ctx.host.name} to ${dest.name}: ${(err as Error).message}`,
      );
    }
    return { bytesSent, durationMs: Date.now() - started };
  }

  return {
    /** While the workload still runs: copy its bundle/rootfs so the final sync sends only changes. */
    presync: (input: TransferInput) => pushWorkloadFiles(input, false),
    /** After the final dump: images plus the workload's files (bundle, rootfs changes, log). */
    transfer: (input: TransferInput) => pushWorkloadFiles(input, true),
  };
}
