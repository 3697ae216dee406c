import type { Command } from 'commander';
import type {
  SnapshotCopyResult,
  SnapshotCreateResult,
  SnapshotRecord,
  SnapshotRemoveResult,
  SnapshotRestoreResult,
} from '../../domain/snapshots.js';
import { isRuntimeName, RUNTIMES } from '../../domain/names.js';
import { configOption, examples, jsonOption, type CommonOptions, type SetExit } from '../command-helpers.js';
import { CliError, EXIT, loadCliConfig, printResult, withClient } from '../context.js';

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** refused: nothing was started or changed (2); failed (1); done (0). */
function exitFor(outcome: string): number {
  return outcome === 'refused' ? EXIT.badInput : outcome === 'failed' ? EXIT.failed : EXIT.ok;
}

function causeLine(r: { outcome: string; cause?: { type: string; message: string } }): string {
  return r.cause ? `${r.outcome}: ${r.cause.message} [${r.cause.type}]` : r.outcome;
}

export function describeSnapshot(s: SnapshotRecord): string {
  return [
    `snapshot ${s.id}`,
    `  workload   ${s.runtime}/${s.workload}, taken on ${s.host} at ${new Date(s.createdAtMs).toISOString()} (${s.leftRunning ? 'left running' : 'stopped'})`,
    `  size       ${mib(s.sizeBytes)}${s.frozenMs !== undefined ? `, frozen ${s.frozenMs} ms to take it` : ''}`,
    `  copies     ${s.copies.join(', ')}`,
    `  parent     ${s.parent ?? `none (full${s.fullBecause ? `: ${s.fullBecause}` : ''})`}`,
    `  criu       ${s.criuVersion ?? '?'} on kernel ${s.kernel ?? '?'}`,
    ...(s.imageId ? [`  image      ${s.image ?? ''} ${s.imageId}`] : []),
    ...(s.criu
      ? [
          `  options    ${Object.keys(s.criu)
            .filter((k) => s.criu?.[k as keyof typeof s.criu])
            .join(', ')}`,
        ]
      : []),
    ...(s.series ? [`  series     ${s.series}`] : []),
    ...(s.note ? [`  note       ${s.note}`] : []),
    `  checksum   sha256:${s.checksum}`,
  ].join('\n');
}

function createText(r: SnapshotCreateResult): string {
  if (r.outcome !== 'created' || !r.snapshot) return `snapshot ${r.id}: ${causeLine(r)}`;
  const s = r.snapshot;
  return `snapshot ${s.id} of ${s.runtime}/${s.workload} on ${s.host}: ${mib(s.sizeBytes)}, frozen ${s.frozenMs ?? '?'} ms, ${s.leftRunning ? 'it keeps running' : 'it is stopped'} (${r.durationMs} ms in all)`;
}

function restoreText(r: SnapshotRestoreResult): string {
  if (r.outcome !== 'restored')
    return [`restore of ${r.id} on ${r.host}: ${causeLine(r)}`, ...(r.notes ?? [])].join('\n');
  return [
    `${r.runtime}/${r.workload} runs on ${r.host} from snapshot ${r.id} (pid ${r.pid ?? '?'}, restore ${r.restoreMs ?? '?'} ms${r.copiedFrom ? `, copied from ${r.copiedFrom} first` : ''})`,
    ...(r.keptSnapshot ? [`its state before the revert is snapshot ${r.keptSnapshot}`] : []),
    ...(r.paused ? [`paused: let it go on with: ${r.resumeCommand}`] : []),
    ...(r.notes ?? []),
  ].join('\n');
}

interface CreateOptions extends CommonOptions {
  runtime: string;
  host: string;
  stop?: boolean;
  tcpEstablished?: boolean;
  fileLocks?: boolean;
  note?: string;
}

export async function snapshotCreateCommand(name: string, opts: CreateOptions): Promise<number> {
  if (!isRuntimeName(opts.runtime))
    throw new CliError(`--runtime must be one of ${RUNTIMES.join(', ')}`, EXIT.badInput);
  const runtime = opts.runtime;
  const criu = { tcpEstablished: !!opts.tcpEstablished, fileLocks: !!opts.fileLocks };
  const r = await withClient(opts.config, (c) =>
    c.createSnapshot({ workload: name, runtime, host: opts.host, stop: opts.stop, note: opts.note, criu }),
  );
  printResult(opts.json, r, createText(r));
  return exitFor(r.outcome);
}

export async function restoreCommand(
  id: string,
  opts: CommonOptions & {
    host: string;
    as?: string;
    replace?: boolean;
    paused?: boolean;
    discardCurrent?: boolean;
  },
): Promise<number> {
  const r = await withClient(opts.config, (c) =>
    c.restoreSnapshot({
      snapshotId: id,
      host: opts.host,
      as: opts.as,
      replace: opts.replace,
      paused: opts.paused,
      discardCurrent: opts.discardCurrent,
    }),
  );
  printResult(opts.json, r, restoreText(r));
  return exitFor(r.outcome);
}

export function register(program: Command, exit: SetExit): void {
  const snapshot = program
    .command('snapshot')
    .description(
      'kept checkpoints of a workload: take, list, copy, remove (restore them with ferry restore)',
    );
  examples(
    snapshot
      .command('create')
      .description(
        "checkpoint NAME into its host's snapshot store; it keeps running (brief freeze) unless --stop",
      )
      .argument('<name>', 'workload name')
      .requiredOption('--runtime <runtime>', 'runc | process | podman | docker')
      .requiredOption('--host <host>', 'where it runs')
      .option('--stop', 'stop the workload after the checkpoint instead of leaving it running')
      .option('--tcp-established', 'checkpoint established TCP connections (restores pass it too)')
      .option('--file-locks', 'checkpoint file locks it holds')
      .option('--note <text>', 'kept with the snapshot')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (name, opts) => exit(await snapshotCreateCommand(name, opts))),
    'ferry snapshot create web --runtime runc --host node-a',
    'ferry snapshot create cache --runtime podman --host node-a --json | jq -r .id',
  );
  examples(
    snapshot
      .command('ls')
      .description('snapshots in the catalog, oldest first')
      .argument('[name]', "only this workload's")
      .option('--host <host>', 'only those with a copy on this host')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (name, opts: CommonOptions & { host?: string }) => {
        const list = await withClient(opts.config, (c) =>
          c.listSnapshots({ workload: name, host: opts.host }),
        );
        const lines = list.map(
          (s) =>
            `${s.id.padEnd(44)} ${`${s.runtime}/${s.workload}`.padEnd(24)} ${new Date(s.createdAtMs).toISOString()}  ${mib(s.sizeBytes).padStart(10)}  ${s.copies.join(',')}`,
        );
        printResult(opts.json, list, lines.join('\n') || '(no snapshots)');
        exit(EXIT.ok);
      }),
    'ferry snapshot ls',
    'ferry snapshot ls web --host node-b --json',
  );
  examples(
    snapshot
      .command('show')
      .description('one snapshot: workload, host, time, size, parent, CRIU and kernel, image, checksum')
      .argument('<id>')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (id, opts: CommonOptions) => {
        const s = await withClient(opts.config, (c) => c.getSnapshot(id));
        printResult(opts.json, s, describeSnapshot(s));
        exit(EXIT.ok);
      }),
    'ferry snapshot show web-20261201t020000z-1a2b',
  );
  examples(
    snapshot
      .command('rm')
      .description(
        'remove a snapshot (every copy, or only the one on --host); refused while another depends on it',
      )
      .argument('<id>')
      .option('--host <host>', 'only the copy on this host')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (id, opts: CommonOptions & { host?: string }) => {
        const r: SnapshotRemoveResult = await withClient(opts.config, (c) => c.removeSnapshot(id, opts.host));
        printResult(
          opts.json,
          r,
          r.outcome === 'removed'
            ? `snapshot ${id}: removed from ${r.removedFrom.join(', ')}`
            : `snapshot ${id}: ${causeLine(r)}`,
        );
        exit(exitFor(r.outcome));
      }),
    'ferry snapshot rm web-20261201t020000z-1a2b',
  );
  examples(
    snapshot
      .command('copy')
      .description('copy a snapshot to another host (checked against its checksum on both ends)')
      .argument('<id>')
      .requiredOption('--to <host>')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (id, opts: CommonOptions & { to: string }) => {
        const r: SnapshotCopyResult = await withClient(opts.config, (c) => c.copySnapshot(id, opts.to));
        printResult(
          opts.json,
          r,
          r.outcome === 'copied'
            ? `snapshot ${id}: ${r.from ? `copied ${r.from} → ${r.to} (${mib(r.bytesSent ?? 0)} sent, ${r.durationMs} ms)` : `already on ${r.to}`}`
            : `snapshot ${id}: ${causeLine(r)}`,
        );
        exit(exitFor(r.outcome));
      }),
    'ferry snapshot copy web-20261201t020000z-1a2b --to node-b',
  );
  examples(
    snapshot
      .command('check')
      .description("compare the catalog with every host's store: orphans either way, changed records")
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (opts: CommonOptions) => {
        const hosts = (await loadCliConfig(opts.config)).hosts.map((h) => h.name);
        const r = await withClient(opts.config, (c) => c.checkSnapshots(hosts));
        const lines = [
          r.consistent ? 'the catalog and the stores agree' : 'the catalog and the stores disagree:',
          ...r.orphansOnDisk.map(
            (o) =>
              `  on ${o.host} but not in the catalog: ${o.id} (${mib(o.sizeBytes)}; remove it there or copy its record back)`,
          ),
          ...r.missingOnDisk.map(
            (o) =>
              `  in the catalog but not on ${o.host}: ${o.id} (ferry snapshot rm ${o.id} --host ${o.host})`,
          ),
          ...r.mismatched.map((o) => `  on ${o.host} with another checksum than the catalog's: ${o.id}`),
          ...r.unreachable.map((h) => `  ${h}: not asked (its worker is down)`),
        ];
        printResult(opts.json, r, lines.join('\n'));
        exit(r.consistent ? EXIT.ok : EXIT.failed);
      }),
    'ferry snapshot check --json',
  );

  examples(
    program
      .command('restore')
      .description('bring a workload back from a snapshot on HOST (copied there first when needed)')
      .argument('<id>', 'snapshot id (ferry snapshot ls)')
      .requiredOption('--host <host>', 'where it runs from now on')
      .option('--as <name>', 'start a copy under this name (many copies of one snapshot)')
      .option(
        '--replace',
        'revert the workload that runs under that name (its current state is kept as a snapshot first)',
      )
      .option('--discard-current', 'with --replace: do not keep its current state')
      .option('--paused', 'restore it frozen (to attach a debugger); prints how to let it go on')
      .addOption(jsonOption())
      .addOption(configOption())
      .action(async (id, opts) => exit(await restoreCommand(id, opts))),
    'ferry restore web-20261201t020000z-1a2b --host node-a --replace',
    'ferry restore web-20261201t020000z-1a2b --host node-b --as web-copy-1',
  );
}
