import { CommandError, run } from '../exec/run.js';

/**
 * systemd's word for where the machine is ("running", "degraded", "stopping", ...), or undefined
 * without systemd. It exits non-zero for every state but running; the word is still on stdout.
 */
export async function systemState(): Promise<string | undefined> {
  try {
    return (await run('systemctl', ['is-system-running'], { timeoutMs: 10_000 })).stdout.trim();
  } catch (err) {
    return err instanceof CommandError && err.stdout.trim() ? err.stdout.trim() : undefined;
  }
}

/** The machine is on its way down (shutdown, reboot, halt). */
export const shuttingDown = (state: string | undefined) => state === 'stopping';
