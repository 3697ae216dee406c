// Before the freeze, the source proves it can reach the destination's sshd the way the transfer
// will (same key, known_hosts, control master): one BatchMode ssh, a few seconds, no retries.
// A host key problem found here names the known_hosts file and the command that fixes it.
import { ErrorType, type ErrorTypeName } from '../domain/errors.js';
import { CommandError, run } from '../exec/run.js';
import { sshCommand, type SshEndpoint, type SshOptions } from './rsync.js';

export interface SshProblem {
  type: ErrorTypeName;
  message: string;
}

/** The known_hosts name ssh and ssh-keygen use for an address and port. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** Why ssh failed, from its stderr, worded with the fix. Pure (unit-tested). */
export function sshProblem(
  stderr: string,
  where: { from: string; peer: string; to: SshEndpoint; knownHostsFile: string },
): SshProblem {
  const { address, port, user } = where.to;
  const scan = `ssh-keyscan -p ${port} ${address} >> ${where.knownHostsFile}`;
  const said = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('@') && !/^Warning: Permanently added/.test(l));
  const quote = said.slice(-2).join(' ');
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/i.test(stderr))
    return {
      type: ErrorType.HostKeyRejected,
      message: `${where.peer}'s SSH host key at ${address}:${port} is not the one ${where.knownHostsFile} holds for it (ssh: host key changed). If ${where.peer} was reinstalled and the new key is right, replace it on ${where.from}: ssh-keygen -R '${knownHostsName(address, port)}' -f ${where.knownHostsFile} && ${scan}`,
    };
  if (/Host key verification failed|No \S+ host key is known|host key is not known/i.test(stderr))
    return {
      type: ErrorType.HostKeyRejected,
      message: `${where.from} does not know ${where.peer}'s SSH host key (${address}:${port}): ${where.knownHostsFile} has no entry for ${knownHostsName(address, port)}. Add it on ${where.from} (then compare its fingerprint with ${where.peer}'s): ${scan}`,
    };
  if (/Permission denied|Too many authentication failures/i.test(stderr))
    return {
      type: ErrorType.TransferFailed,
      message: `${where.peer}'s sshd at ${address}:${port} refused ${user} with ${where.from}'s key (${quote}): add the public key of transfer.identityFile to ~${user}/.ssh/authorized_keys on ${where.peer}`,
    };
  return {
    type: ErrorType.TransferFailed,
    message: `${where.from} cannot reach ${where.peer}'s sshd at ${address}:${port} (${quote || 'ssh failed'}): is sshd running there, and are ssh.address and ssh.port in the config right?`,
  };
}

/** ssh PEER true with the transfer's options; throws an SshProblem as a CommandError's cause. */
export async function checkPeerSsh(
  to: SshEndpoint,
  ssh: SshOptions,
  where: { from: string; peer: string },
): Promise<SshProblem | undefined> {
  // ssh takes the first value given for an option: this ConnectTimeout wins over the transfer's.
  const args = ['-o', 'ConnectTimeout=5', ...sshCommand(to, ssh).split(' ').slice(1)];
  try {
    await run('ssh', [...args, `${to.user}@${to.address}`, 'true'], { timeoutMs: 15_000 });
    return undefined;
  } catch (err) {
    const stderr = err instanceof CommandError ? err.stderr : String(err);
    return sshProblem(stderr || (err as Error).message, { ...where, to, knownHostsFile: ssh.knownHostsFile });
  }
}
