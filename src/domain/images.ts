// Container images that migrate ships to a destination lacking them (docs/runtimes.md). Pure:
// ids as podman and docker print them, what `load` reports, the name to give a loaded image.
import type { ImageShipment } from './types.js';

const HEX_ID = /^(?:sha256:)?([0-9a-f]{64})$/;

/**
 * "sha256:<64 hex>" for an image id as either engine prints it (podman drops the prefix,
 * docker keeps it); undefined for anything else (a name, a short id).
 */
export function normalizeImageId(id: string): string | undefined {
  const m = HEX_ID.exec(id.trim().toLowerCase());
  return m ? `sha256:${m[1]}` : undefined;
}

/** Both are the same full image id (prefix and case aside). */
export function sameImageId(a: string, b: string): boolean {
  const x = normalizeImageId(a);
  return x !== undefined && x === normalizeImageId(b);
}

/** "sha256:0123456789ab": the short form people read. */
export const shortImageId = (id: string): string => (normalizeImageId(id) ?? id).slice(0, 19);

/**
 * What `podman load` / `docker load` printed: the ids and the names of what they loaded.
 *   podman: "Loaded image: sha256:<id>" (an untagged archive) or "Loaded image: localhost/x:1",
 *           older versions "Loaded image(s): a,b"
 *   docker: "Loaded image ID: sha256:<id>" or "Loaded image: x:1"
 */
export function parseLoadOutput(output: string): { ids: string[]; names: string[] } {
  const ids: string[] = [];
  const names: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^\s*Loaded image(?:\(s\)| ID)?:\s*(.+?)\s*$/.exec(line);
    if (!m) continue;
    for (const item of m[1]!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const id = normalizeImageId(item);
      if (id) ids.push(id);
      else names.push(item);
    }
  }
  return { ids, names };
}

/**
 * Why a load did not give the image the source runs, or undefined when it did: the loaded
 * image's id must be the source's (a different id is a different image, whatever its name).
 */
export function loadedIdProblem(loadedIds: readonly string[], expectedId: string): string | undefined {
  if (loadedIds.some((id) => sameImageId(id, expectedId))) return undefined;
  const got = loadedIds.length ? loadedIds.map(shortImageId).join(', ') : 'no image id';
  return `the load reported ${got}, not ${shortImageId(expectedId)} (the image the container runs on the source)`;
}

/**
 * Whether the container's image name can be given to a loaded image, or why not. A container
 * created from an id needs no name; one created from a digest reference (name@sha256:…) cannot
 * get it back: a digest is the registry's, and a loaded image has none.
 */
export function nameForLoadedImage(image: string, imageId: string): { tag?: string; reason?: string } {
  const id = normalizeImageId(imageId) ?? imageId;
  const bare = image.replace(/^sha256:/, '').toLowerCase();
  if (/^[0-9a-f]{12,64}$/.test(bare) && id.slice('sha256:'.length).startsWith(bare)) return {};
  if (image.includes('@'))
    return {
      reason: `the container was created from the digest reference ${image}, which only a registry can give an image: load it there from that registry (pull), or recreate the container from a tag`,
    };
  return { tag: image };
}

/** The refusal's second fix, for a request that said shipImage: false. */
export function shipImageHint(source: string): string {
  return `or let ferry ship it from ${source} before the freeze: migrate without --no-ship-image (request field shipImage: true or absent)`;
}

const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const ms = (v: number | undefined) =>
  v === undefined ? '-' : v < 1000 ? `${v} ms` : `${(v / 1000).toFixed(1)} s`;

/** One line for the UI's phase table and the CLI's summary. */
export function imageShipmentFigure(s: ImageShipment): string {
  const what = `${s.image} (${shortImageId(s.imageId)})`;
  const removed = s.removedAfterFailure ? '; removed again (the migration ended before the freeze)' : '';
  if (!s.shipped) return `${what} was there under another name: named only, nothing sent${removed}`;
  const size = s.archiveBytes !== undefined ? `${mib(s.archiveBytes)} archive` : 'archive';
  const sent = s.bytesSent !== undefined ? `, ${mib(s.bytesSent)} sent` : '';
  // A step failed or was cancelled: say how far it got.
  const status = s.loadMs !== undefined ? 'shipped' : 'not shipped (stopped before the load ended)';
  return `${what} ${status}: ${size}${sent}; save ${ms(s.saveMs)}, ship ${ms(s.shipMs)}, load ${ms(s.loadMs)}${removed}`;
}
