// Which containers a migration answers for on one host, so that ferry never removes or replaces
// a container it did not create: the one it checkpointed here (the source), those its restores
// created here, and the stopped one its destination preflight was allowed to replace
// (replaceStopped). The records sit in the migration's folder on that host, outside images/ (so
// they never travel), and go with the migration's files, which are removed after the containers.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { HostPaths } from '../host/host-paths.js';
import { readJson, writeJsonAtomic } from './workload-files.js';

export interface OwnedContainers {
  /** The container this migration checkpointed on this host (its source). */
  checkpointed?: string;
  /** Containers this migration's restores created on this host. */
  created: string[];
  /** A stopped container ferry did not create that this migration's restore may remove. */
  replaceable?: { id: string; state: string };
}

export class ContainerOwnership {
  constructor(
    private readonly paths: HostPaths,
    private readonly engine: string,
  ) {}

  private file(migrationId: string, name: string): string {
    return path.join(this.paths.migrationDir(migrationId), `containers-${this.engine}-${name}.json`);
  }

  async read(migrationId: string, name: string): Promise<OwnedContainers> {
    return (await readJson<OwnedContainers>(this.file(migrationId, name))) ?? { created: [] };
  }

  private async update(
    migrationId: string,
    name: string,
    change: (o: OwnedContainers) => void,
  ): Promise<void> {
    const owned = await this.read(migrationId, name);
    change(owned);
    await writeJsonAtomic(this.file(migrationId, name), owned);
  }

  checkpointed(migrationId: string, name: string, id: string): Promise<void> {
    return this.update(migrationId, name, (o) => void (o.checkpointed = id));
  }

  /** A rollback removed the source container to restore it anew (podman's import). */
  checkpointedRemoved(migrationId: string, name: string): Promise<void> {
    return this.update(migrationId, name, (o) => void delete o.checkpointed);
  }

  created(migrationId: string, name: string, id: string): Promise<void> {
    return this.update(migrationId, name, (o) => {
      if (!o.created.includes(id)) o.created.push(id);
    });
  }

  replaceable(migrationId: string, name: string, holder: { id: string; state: string }): Promise<void> {
    return this.update(
      migrationId,
      name,
      (o) => void (o.replaceable = { id: holder.id, state: holder.state }),
    );
  }

  /** Ids that some migration on this host checkpointed or created under this name. */
  async anyMigration(name: string): Promise<Set<string>> {
    const ids = new Set<string>();
    const migrations = await readdir(this.paths.migrationsRoot()).catch(() => [] as string[]);
    for (const id of migrations) {
      const o = await this.read(id, name).catch(() => ({ created: [] }) as OwnedContainers);
      if (o.checkpointed) ids.add(o.checkpointed);
      for (const c of o.created) ids.add(c);
    }
    return ids;
  }
}
