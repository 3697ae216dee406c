import {
  imageShipmentFigure,
  loadedIdProblem,
  nameForLoadedImage,
  normalizeImageId,
  parseLoadOutput,
  sameImageId,
  shipImageHint,
  shortImageId,
} from '../../src/domain/images.js';
import { validateMigrateRequest } from '../../src/domain/validation.js';
import { capabilitiesOf } from '../../src/runtimes/capabilities.js';
import { migrateRequestSchema } from '../../src/serve/schemas.js';
import { tarKind } from '../../src/dev/load-image.js';
import { HostPaths } from '../../src/host/host-paths.js';

const HEX = '7455c8a9847a86645340a56193fcee32576fe4cc48f02616cfce30eeaa2150b7';
const ID = `sha256:${HEX}`;
const OTHER = `sha256:${'0'.repeat(64)}`;

describe('image ids', () => {
  it('reads podman (bare) and docker (sha256:) ids as one form', () => {
    expect(normalizeImageId(HEX)).toBe(ID);
    expect(normalizeImageId(`${ID}\n`)).toBe(ID);
    expect(normalizeImageId(ID.toUpperCase().replace('SHA256', 'sha256'))).toBe(ID);
    expect(sameImageId(HEX, ID)).toBe(true);
    expect(shortImageId(HEX)).toBe('sha256:7455c8a9847a');
  });

  it('takes no name or short id for an id', () => {
    expect(normalizeImageId('localhost/web:1')).toBeUndefined();
    expect(normalizeImageId('7455c8a9847a')).toBeUndefined();
    expect(sameImageId('7455c8a9847a', ID)).toBe(false);
    expect(sameImageId('', '')).toBe(false);
  });
});

describe('what load reports', () => {
  it('podman: an untagged archive gives its id, a tagged one its name', () => {
    expect(parseLoadOutput(`Loaded image: ${ID}`)).toEqual({ ids: [ID], names: [] });
    expect(parseLoadOutput('Getting image source signatures\nLoaded image: localhost/web:1')).toEqual({
      ids: [],
      names: ['localhost/web:1'],
    });
    expect(parseLoadOutput('Loaded image(s): localhost/a:1,localhost/b:2')).toEqual({
      ids: [],
      names: ['localhost/a:1', 'localhost/b:2'],
    });
  });

  it('docker: "Loaded image ID:" for an archive saved by id', () => {
    expect(parseLoadOutput(`Loaded image ID: ${ID}\n`)).toEqual({ ids: [ID], names: [] });
    expect(parseLoadOutput('Loaded image: web:1')).toEqual({ ids: [], names: ['web:1'] });
    expect(parseLoadOutput('')).toEqual({ ids: [], names: [] });
  });

  it('accepts the load only when it gave the source image id', () => {
    expect(loadedIdProblem([HEX], ID)).toBeUndefined();
    expect(loadedIdProblem([OTHER, ID], ID)).toBeUndefined();
    expect(loadedIdProblem([OTHER], ID)).toBe(
      'the load reported sha256:000000000000, not sha256:7455c8a9847a (the image the container runs on the source)',
    );
    expect(loadedIdProblem([], ID)).toMatch(/^the load reported no image id, not sha256:7455c8a9847a/);
  });
});

describe('the name a loaded image gets', () => {
  it('the name the container was created from', () => {
    expect(nameForLoadedImage('localhost/web:1', ID)).toEqual({ tag: 'localhost/web:1' });
    expect(nameForLoadedImage('web', ID)).toEqual({ tag: 'web' });
  });

  it('none for a container created from the id itself (full, short, with or without sha256:)', () => {
    expect(nameForLoadedImage(HEX, ID)).toEqual({});
    expect(nameForLoadedImage('7455c8a9847a', ID)).toEqual({});
    expect(nameForLoadedImage(ID, HEX)).toEqual({});
  });

  it('cannot give back a digest reference: says why and what to do', () => {
    const r = nameForLoadedImage(`web@sha256:${'a'.repeat(64)}`, ID);
    expect(r.tag).toBeUndefined();
    expect(r.reason).toMatch(
      /digest reference .* only a registry can give .*recreate the container from a tag/,
    );
  });

  it('a short hex name of another image is a name', () => {
    expect(nameForLoadedImage('abcdef123456', ID)).toEqual({ tag: 'abcdef123456' });
  });
});

describe('ship-image figures and messages', () => {
  const shipped = {
    image: 'localhost/web:1',
    imageId: ID,
    shipped: true,
    createdOnDestination: true,
    archiveBytes: 3 * 1024 * 1024,
    bytesSent: 3 * 1024 * 1024 + 2048,
    saveMs: 73,
    shipMs: 1590,
    loadMs: 212,
  };

  it('shows what was shipped, its size and the time of each step', () => {
    expect(imageShipmentFigure(shipped)).toBe(
      'localhost/web:1 (sha256:7455c8a9847a) shipped: 3.0 MiB archive, 3.0 MiB sent; save 73 ms, ship 1.6 s, load 212 ms',
    );
  });

  it('says when it was only named, and when a failed migration removed it again', () => {
    expect(
      imageShipmentFigure({ image: 'web', imageId: ID, shipped: false, createdOnDestination: false }),
    ).toBe('web (sha256:7455c8a9847a) was there under another name: named only, nothing sent');
    expect(imageShipmentFigure({ ...shipped, removedAfterFailure: true })).toMatch(
      /load 212 ms; removed again \(the migration ended before the freeze\)$/,
    );
    expect(imageShipmentFigure({ ...shipped, loadMs: undefined, removedAfterFailure: true })).toBe(
      'localhost/web:1 (sha256:7455c8a9847a) not shipped (stopped before the load ended): 3.0 MiB archive, 3.0 MiB sent; ' +
        'save 73 ms, ship 1.6 s, load -; removed again (the migration ended before the freeze)',
    );
  });

  it('the refusal of shipImage: false names the way to let ferry ship it', () => {
    expect(shipImageHint('node-a')).toBe(
      'or let ferry ship it from node-a before the freeze: migrate without --no-ship-image (request field shipImage: true or absent)',
    );
  });

  it('the archive has its place in the migration folder', () => {
    expect(new HostPaths('/s').imageArchive('m1')).toBe('/s/migrations/m1/image/image.tar');
  });
});

describe('shipImage in the request', () => {
  const req = { workload: 'web', runtime: 'podman' as const, source: 'node-a', destination: 'node-b' };
  it('is a boolean, optional (default: ship)', () => {
    expect(validateMigrateRequest(req, capabilitiesOf)).toEqual([]);
    expect(validateMigrateRequest({ ...req, shipImage: false }, capabilitiesOf)).toEqual([]);
    expect(validateMigrateRequest({ ...req, shipImage: 'no' as never }, capabilitiesOf)).toEqual([
      'shipImage must be true or false',
    ]);
  });

  it('the HTTP schema takes it the same way', () => {
    expect(migrateRequestSchema.safeParse({ ...req, shipImage: false }).success).toBe(true);
    expect(migrateRequestSchema.safeParse({ ...req, shipImage: 'no' }).success).toBe(false);
  });
});

describe('dev load-image: what a tar holds', () => {
  it('an image archive: docker-archive (manifest.json) or OCI layout', () => {
    expect(tarKind(['manifest.json', 'repositories', 'abc.tar'])).toBe('image-archive');
    expect(tarKind(['./', './manifest.json'])).toBe('image-archive');
    expect(tarKind(['oci-layout', 'index.json', 'blobs/', 'blobs/sha256/'])).toBe('image-archive');
  });

  it('a root filesystem otherwise (imported under --image)', () => {
    expect(tarKind(['./', './bin/', './bin/busybox', './etc/manifest.json'])).toBe('rootfs');
    expect(tarKind(['index.json'])).toBe('rootfs');
  });
});
