import protobuf from 'protobufjs/minimal.js';

// CRIU's inventory.img: one 4-byte magic, a 4-byte length, one protobuf InventoryEntry
// (criu/images/inventory.proto). Field 8, dump_uptime (µs since boot), is what CRIU's pid-reuse
// check reads from a parent; CRIU 4.2 writes it only at a pre-dump (cr_pre_dump_finish).
const INVENTORY_MAGIC = 0x58313116;
const DUMP_UPTIME_FIELD = 8;

/**
 * The inventory with dump_uptime set to `uptimeUs` (any earlier value dropped), so that a later
 * dump can take this dump as its parent. Throws on anything that is not an inventory image.
 */
export function withDumpUptime(image: Uint8Array, uptimeUs: number): Uint8Array {
  if (image.length < 8) throw new Error('inventory.img is too short');
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (view.getUint32(0, true) !== INVENTORY_MAGIC) throw new Error('not an inventory image (magic)');
  const size = view.getUint32(4, true);
  const entry = image.subarray(8, 8 + size);
  if (entry.length !== size) throw new Error('inventory.img is truncated');
  const kept: Uint8Array[] = [];
  const reader = protobuf.Reader.create(entry);
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    reader.skipType(tag & 7);
    if (tag >>> 3 !== DUMP_UPTIME_FIELD) kept.push(entry.subarray(start, reader.pos));
  }
  const uptime = protobuf.Writer.create()
    .uint32((DUMP_UPTIME_FIELD << 3) | 0)
    .uint64(uptimeUs)
    .finish();
  const body = concat([...kept, uptime]);
  const out = new Uint8Array(8 + body.length);
  const w = new DataView(out.buffer);
  w.setUint32(0, INVENTORY_MAGIC, true);
  w.setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}

/** dump_uptime of an inventory image, when it has one. */
export function dumpUptimeOf(image: Uint8Array): number | undefined {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const entry = image.subarray(8, 8 + view.getUint32(4, true));
  const reader = protobuf.Reader.create(entry);
  let found: number | undefined;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === DUMP_UPTIME_FIELD && (tag & 7) === 0) found = Number(reader.uint64().toString());
    else reader.skipType(tag & 7);
  }
  return found;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
