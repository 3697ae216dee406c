import { ErrorType } from '../domain/errors.js';
import type { TransferResult } from '../domain/types.js';
import { Context } from '@temporalio/activity';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { access, mkdir } from 'node:fs/promises';
import { killCommands } from '../host/stale-commands.js';
import { CommandError } from '../exec/run.js';
import { currentSshSettings, ensureSshControlDir, sshSettingsKey } from '../transfer/ssh-control.js';
import { rsyncPush, type RsyncJob, type RsyncProgress, type SshOptions } from '../transfer/rsync.js';
import { ferryFailure } from '../domain/failures.js';
import { heartbeat, withHeartbeat } from './heartbeat.js';
import type { HostContext } from './host-context.js';
import { withSlot } from './slots.js';
import type { TransferInput } from './inputs.js';
import { USER_BUNDLE_RECORD } from '../runtimes/runc-bundle.js';

// Host-local files that must not travel: pid records, runc's own logs, where a user's bundle is.
const WORKLOAD_EXCLUDES = ['*.pid', 'runc.log', USER_BUNDLE_RECORD];
// Streamed pages already sit in the destination's images folder: never send nor delete them.
const STREAMED_EXCLUDES = ['pages-*.img', 'pagemap-*.img'];

/** How this host reaches its peers: its key, known hosts, address, and its SSH control masters. */
export async function hostSshOptions(ctx: HostContext): Promise<SshOptions> {
  const base = {
    identityFile: ctx.config.transfer.identityFile,
    knownHostsFile: ctx.config.transfer.knownHostsFile,
    bindAddress: ctx.config.transfer.bindToHostAddress ? ctx.host.ssh.address : undefined,
  };
  // Read each time: a known_hosts edited while the worker runs opens new masters.
  const controlKey = sshSettingsKey(await currentSshSettings(base));
  return { ...base, controlKey, controlDir: await ensureSshControlDir(ctx.paths.stateDir, controlKey) };
}

export function transferActivities(ctx: HostContext) {
  const sshOptions = () => hostSshOptions(ctx);

  type What = 'presync' | 'transfer' | 'precopy';
  async function push(input: TransferInput, what: What): Promise<TransferResult> {
    const started = Date.now();
    const dest = ctx.peer(input.destination);
    const relative = (dir: string) => path.relative(ctx.paths.stateDir, dir);
    const workloadPath = relative(ctx.paths.workloadDir(input.runtime, input.workload));
    const roundsPath = relative(ctx.paths.roundsDir(input.migrationId));
    const hasRounds = await access(ctx.paths.roundsDir(input.migrationId)).then(
      () => true,
      () => false,
    );
    // Pre-copy rounds travel as they are made (their parent links are relative symlinks, which
    // rsync -a copies as links); the final transfer sends the images and only what changed.
    const paths =
      what === 'precopy'
        ? [roundsPath]
        : what === 'transfer'
          ? [
              relative(ctx.paths.imagesDir(input.migrationId)),
              ...(hasRounds ? [roundsPath] : []),
              workloadPath,
            ]
          : [workloadPath];
    // Container runtimes keep their state themselves: the folder may not exist yet, but ferry
    // notes and logs may land in it on the destination, so it always travels (empty or not).
    await mkdir(ctx.paths.workloadDir(input.runtime, input.workload), { recursive: true, mode: 0o700 });
    // An rsync an earlier attempt started may still run (its worker was killed): rsync
    // resumes, so stop it and start over from what arrived.
    await killCommands(`${ctx.paths.stateDir}/./${paths[paths.length - 1]}`);
    if (what === 'transfer') await ctx.faults.at('before-transfer', input.workload);
    // A user's bundle (runc run --bundle DIR) lands in the destination's workload folder: the
    // folder's own rsync leaves it alone (an excluded path is not deleted) and a second one fills it.
    const userBundle =
      what === 'precopy' ? undefined : await ctx.runtime(input.runtime).carriedBundle?.(input.workload);
    const bundleCopy = `/${workloadPath}/bundle`;
    let progress: RsyncProgress | undefined;
    const details = () => ({ phase: what, ...progress });
    const send = async (job: Pick<RsyncJob, 'fromRoot' | 'paths' | 'toRoot' | 'excludes'>) =>
      rsyncPush(
        { ...job, to: dest.ssh, deleteExtraneous: true, timeoutMs: 60 * 60_000 },
        await sshOptions(),
        (p) => {
          progress = p;
          // Every rsync update goes to Temporal (the worker throttles to one a second), so
          // `ferry migrate` shows bytes moving during the copy, not only after it.
          heartbeat(details());
        },
        Context.current().cancellationSignal,
      );
    try {
      // One rsync, one (reused) SSH connection; a retried transfer sends only what is missing.
      // A transfer slot of this host; the one after the freeze goes ahead of presyncs.
      const { bytesSent } = await withSlot(
        ctx,
        'transfer',
        () =>
          withHeartbeat(async () => {
            const excludes = [
              ...WORKLOAD_EXCLUDES,
              ...(input.pagesStreamed ? STREAMED_EXCLUDES : []),
              ...(userBundle ? [bundleCopy] : []),
            ];
            const state = await send({
              fromRoot: ctx.paths.stateDir,
              paths,
              toRoot: dest.stateDir,
              excludes,
            });
            if (!userBundle) return state;
            const bundle = await send({
              fromRoot: userBundle,
              paths: ['.'],
              toRoot: path.join(dest.stateDir, bundleCopy),
            });
            return { bytesSent: state.bytesSent + bundle.bytesSent };
          }, details),
        { urgent: what === 'transfer' },
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
    presync: (input: TransferInput) => push(input, 'presync'),
    /** After each pre-copy round: the rounds so far (rsync sends only the new one). */
    shipPrecopyRounds: (input: TransferInput) => push(input, 'precopy'),
    /** After the final dump: the images plus the workload's files (bundle, rootfs changes, log). */
    transfer: (input: TransferInput) => push(input, 'transfer'),

    /**
     * Rollback of a streamed migration, on the destination: the source's checkpoint lacks its
     * pages (they were streamed here), so they go back before the source is restored.
     */
    async returnImages(input: TransferInput): Promise<TransferResult> {
      const started = Date.now();
      const to = ctx.peer(input.destination);
      // Only the pages: the rest of the source's own checkpoint is intact and authoritative.
      const images = ctx.paths.imagesDir(input.migrationId);
      const pages = (await readdir(images).catch(() => [] as string[]))
        .filter((f) => /^(pages|pagemap)-\d+\.img$/.test(f))
        .map((f) => path.relative(ctx.paths.stateDir, path.join(images, f)));
      if (!pages.length)
        throw ferryFailure(
          ErrorType.TransferFailed,
          `no streamed pages of ${input.migrationId} on ${ctx.host.name}`,
        );
      try {
        const { bytesSent } = await withHeartbeat(async () =>
          rsyncPush(
            {
              fromRoot: ctx.paths.stateDir,
              paths: pages,
              to: to.ssh,
              toRoot: to.stateDir,
              timeoutMs: 60 * 60_000,
            },
            await sshOptions(),
            () => undefined,
            Context.current().cancellationSignal,
          ),
        );
        return { bytesSent, durationMs: Date.now() - started };
      } catch (err) {
        throw ferryFailure(
          ErrorType.TransferFailed,
          `returning images from ${ctx.host.name} to ${to.name}: ${(err as Error).message}`,
        );
      }
    },
  };
}
