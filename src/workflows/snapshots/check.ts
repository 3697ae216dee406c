import { compareCatalog, type CatalogCheck, type SnapshotOnDisk } from '../../domain/snapshots.js';
import { hostSteps } from '../host-steps.js';
import { catalog } from './catalog-steps.js';

/**
 * ferry snapshot check: the catalog against every host's store. Reports orphans both ways and
 * copies whose record differs; changes nothing. A host whose worker is down is named, not waited for.
 */
export async function snapshotCheck(req: { hosts: string[] }): Promise<CatalogCheck> {
  const records = await catalog.readCatalog();
  const disks: Record<string, SnapshotOnDisk[] | undefined> = {};
  await Promise.all(
    req.hosts.map(async (h) => {
      disks[h] = await hostSteps(h)
        .brief.snapshotsOnDisk.executeWithOptions({ summary: `list the snapshot store of ${h}` }, [])
        .catch(() => undefined);
    }),
  );
  return compareCatalog(records, disks);
}
