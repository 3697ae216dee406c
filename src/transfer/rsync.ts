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
  /**
   * Folder for an SSH control master. The pre-copy opens the connection and the post-freeze
   * transfer reuses it: the handshake (about 0.3 s here) stays out of the downtime.
   */
  controlDir?: string;
  /** Prefix of the control socket's name: a hash of the settings (sshSettingsKey). */
  controlKey?: string;
}

export interface RsyncJob {
  /** Local root; `paths` below it are copied to the same relative paths below `toRoot`. */
  fromRoot: string;
  paths: string[];
  to: SshEndpoint;
  /** Absolute root on the destination (its state directory). */
  toRoot: string;
  excludes?: string[];
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
  if (ssh.controlDir)
    parts.push(
      '-o',
      'ControlMaster=auto',
      '-o',
      `ControlPath=${ssh.controlDir}/${ssh.controlKey ? `${ssh.controlKey}-` : ''}%h-%p`,
      '-o',
      'ControlPersist=60',
    );
  for (const p of parts) if (/[\s'"\\]/.test(p)) throw new Error(`unsafe ssh option ${JSON.stringify(p)}`);
  return parts.join(' ');
}

/**
 * One rsync for several folders (one connection): `--relative` with the `/./` marker keeps
 * each path's place below the root; implied folders keep their (private) modes.
 */
export function rsyncArgs(job: RsyncJob, ssh: SshOptions): string[] {
  const args = [
    '-a',
    '--relative',
    '--partial',
    '--numeric-ids',
    '--info=progress2',
    '--stats',
    '--no-inc-recursive',
  ];
  if (job.deleteExtraneous) args.push('--delete');
  for (const e of job.excludes ?? []) args.push(`--exclude=${e}`);
  args.push('-e', sshCommand(job.to, ssh));
  const root = job.fromRoot.replace(/\/$/, '');
  for (const p of job.paths) {
    if (p.startsWith('/') || p.split('/').includes('..'))
      throw new Error(`rsync path ${p} must be relative, without ".."`);
    args.push(`${root}/./${p}`);
  }
  args.push(`${job.to.user}@${job.to.address}:${job.toRoot.replace(/\/?$/, '/')}`);
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
  cancelSignal?: AbortSignal,
): Promise<{ bytesSent: number }> {
  const args = rsyncArgs(job, ssh);
  const child = execa('rsync', args, {
    cancelSignal,
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
    // rsync ends each update with spaces and starts the next with \r, about once a second:
    // read the trailing piece at once rather than a second later.
    for (const piece of [...pieces, pending]) {
      const p = parseProgressLine(piece);
      if (p) onProgress(p);
    }
  });
  const result = await child;
  const stdout = String(result.stdout ?? '');
  if (result.failed) {
    const stderr = String(result.stderr ?? '').trim();
    throw new CommandError(
      `rsync to ${job.to.address}:${job.toRoot} failed (exit ${result.exitCode ?? 'none'}${result.timedOut ? ', timed out' : ''}): ${stderr.split('\n').slice(-3).join(' ')}`,
      ['rsync', ...args].join(' '),
      result.exitCode,
      stderr,
    );
  }
  return { bytesSent: parseBytesSent(stdout) };
}

export interface FileJob {
  /** Local root and a path below it: the file lands at the same relative path below `toRoot`. */
  fromRoot: string;
  path: string;
  to: SshEndpoint;
  toRoot: string;
  timeoutMs?: number;
}

/**
 * One file (a container image archive) to a peer, over the same authenticated SSH path and
 * control master as the checkpoint's images. Its mode travels (-a); a retry resumes (--partial).
 */
export function rsyncFile(
  job: FileJob,
  ssh: SshOptions,
  onProgress: (p: RsyncProgress) => void,
  cancelSignal?: AbortSignal,
): Promise<{ bytesSent: number }> {
  return rsyncPush(
    { fromRoot: job.fromRoot, paths: [job.path], to: job.to, toRoot: job.toRoot, timeoutMs: job.timeoutMs },
    ssh,
    onProgress,
    cancelSignal,
  );
}
