import { access, constants } from 'node:fs/promises';
import path from 'node:path';

/** Where program resolves on this process's PATH (as execa would find it), if anywhere. */
export async function findOnPath(program: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const candidate = path.join(dir, program);
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}
