import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dumpUptimeOf, withDumpUptime } from '../../src/criu/inventory.js';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'inventory.img');

describe('inventory.img: the dump uptime a later dump needs from its parent', () => {
  it('a dump by CRIU 4.2 has none; withDumpUptime sets it and keeps every other field byte for byte', async () => {
    const image = new Uint8Array(await readFile(fixture));
    expect(dumpUptimeOf(image)).toBeUndefined();
    const stamped = withDumpUptime(image, 1_234_567_890_123);
    expect(dumpUptimeOf(stamped)).toBe(1_234_567_890_123);
    // The original entry followed by field 8 (tag 0x40) and its varint.
    const size = new DataView(image.buffer, image.byteOffset).getUint32(4, true);
    expect(Buffer.from(stamped.subarray(8, 8 + size))).toEqual(Buffer.from(image.subarray(8, 8 + size)));
    expect(stamped[8 + size]).toBe(0x40);
    expect(new DataView(stamped.buffer).getUint32(4, true)).toBe(stamped.length - 8);
  });
  it('replaces an uptime already there instead of adding a second one', async () => {
    const image = new Uint8Array(await readFile(fixture));
    const twice = withDumpUptime(withDumpUptime(image, 5), 7);
    expect(dumpUptimeOf(twice)).toBe(7);
    expect(twice.length).toBe(withDumpUptime(image, 7).length);
  });
  it('refuses what is not an inventory image', () => {
    expect(() => withDumpUptime(new Uint8Array(16), 1)).toThrow(/not an inventory image/);
    expect(() => withDumpUptime(new Uint8Array(4), 1)).toThrow(/too short/);
  });
});
