import { execa } from 'execa';
import { CommandError } from '../exec/run.js';

export interface SshEndpoint {
  address: string;
  port: number;
  user: string;
}

export interface SshOptions {
  identityFile: string;
  knownHostsFile: string;
  /** Local address to send from (simulated hosts share one machine). */
  bindAddress?: string;
}

export interface RsyncJob {
  /** Local directory; its contents are copied. */
  from: string;
  to: SshEndpoint;
  /** Absolute directory on the destination. */
  toDir: string;
  excludes?: string[];
  /** Force modes on the destination (checkpoint images are private). */
  chmod?: string;
  /** Remove destination files that the source no longer has. */
  deleteExtraneous?: boolean;
  timeoutMs?: number;
}

export interface RsyncProgress {
  bytes: number;
  percent: number;
  rate: string;
}

/**
 * The ssh command rsync runs. rsync splits -e on white space itself (no shell is involved);
 * every part here is validated by the config schema to contain no white space or quotes.
 */
export function sshCommand(to: SshEndpoint, ssh: SshOptions): string {
  const parts = [
    'ssh',
    '-p',
    String(to.port),
    '-i',
    ssh.identityFile,
    '-o',
    `UserKnownHostsFile=${ssh.knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'ServerAliveInterval=5',
    '-o',
    'ServerAliveCountMax=3',
  ];
  if (ssh.bindAddress) parts.push('-o', `BindAddress=${ssh.bindAddress}`);
  for (const p of parts) if (/[\s'"\\]/.test(p)) throw new Error(`unsafe ssh option ${JSON.stringify(p)}`);
  return parts.join(' ');
}

export function rsyncArgs(job: RsyncJob, ssh: SshOptions): string[] {
  const args = [
    '-a',
    '--partial',
    '--mkpath',
    '--numeric-ids',
    '--info=progress2',
    '--stats',
    '--no-inc-recursive',
  ];
  if (job.deleteExtraneous) args.push('--delete');
  if (job.chmod) args.push(`--chmod=${job.chmod}`);
  for (const e of job.excludes ?? []) args.push(`--exclude=${e}`);
  args.push('-e', sshCommand(job.to, ssh));
  args.push(
    `${job.from.replace(/\/?$/, '/')}`,
    `${job.to.user}@${job.to.address}:${job.toDir.replace(/\/?$/, '/')}`,
  );
  return args;
}

/** "  1,234,567  45%   12.34MB/s    0:00:01" -> progress. */
export function parseProgressLine(line: string): RsyncProgress | undefined {
  const m = /^\s*([\d,]+)\s+(\d+)%\s+(\S+)/.exec(line);
  if (!m) return undefined;
  return { bytes: Number(m[1]!.replace(/,/g, '')), percent: Number(m[2]), rate: m[3]! };
}

/** Bytes rsync actually sent over the wire ("Total bytes sent: 1,234"). */
export function parseBytesSent(stats: string): number {
  const m = /Total bytes sent:\s*([\d,]+)/.exec(stats);
  return m ? Number(m[1]!.replace(/,/g, '')) : 0;
}

export async function rsyncPush(
  job: RsyncJob,
  ssh: SshOptions,
  onProgress: (p: RsyncProgress) => void,
): Promise<{ bytesSent: number }> {
  const args = rsyncArgs(job, ssh);
  const child = execa('rsync', args, {
    reject: false,
    timeout: job.timeoutMs,
    stdin: 'ignore',
    buffer: { stdout: true, stderr: true },
    lines: false,
  });
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    // progress2 rewrites one line with \r
    pending += chunk.toString();
    const pieces = pending.split(/[\r\n]/);
    pending = pieces.pop() ?? '';
    for (const piece of pieces) {
      const p = parseProgressLine(piece);
      if (p) onProgress(p);
    }
  });
  const result = await child;
  const stdout = String(result.stdout ?? '');
  if (result.failed) {
    const stderr = String(result.stderr ?? '').trim();
    throw new CommandError(
      `rsync to ${job.to.address}:${job.toDir} failed (exit ${result.exitCode ?? 'none'}${result.timedOut ? ', timed out' : ''}): ${stderr.split('\n').slice(-3).join(' ')}`,
      ['rsync', ...args].join(' '),
      result.exitCode,
      stderr,
    );
  }
  return { bytesSent: parseBytesSent(stdout) };
}
