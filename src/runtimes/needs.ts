import { access } from 'node:fs/promises';
import type { WorkloadNeeds } from '../domain/types.js';
import type { Unfit } from './runtime.js';

/** Bind-mounted host paths the destination lacks (a container cannot start without them). */
export async function missingHostPaths(needs: WorkloadNeeds, host: string): Promise<Unfit[]> {
  const out: Unfit[] = [];
  for (const p of needs.hostPaths ?? []) {
    const present = await access(p).then(
      () => true,
      () => false,
    );
    if (!present)
      out.push({
        type: 'NotMovable',
        message: `the container bind-mounts ${p} from its host, and ${host} has no ${p}: create it there (ferry does not copy bind mounts)`,
      });
  }
  return out;
}
