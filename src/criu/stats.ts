import protobuf from 'protobufjs/minimal.js';
import type { CriuDumpStats, CriuRestoreStats } from '../domain/types.js';

// CRIU's stats-dump / stats-restore images: two 4-byte magics (common + stats), then one length-prefixed
// protobuf StatsEntry { dump = 1 (DumpStatsEntry), restore = 2 (RestoreStatsEntry) }.
// Field numbers follow criu/images/stats.proto.
const DUMP_FIELDS: Record<number, keyof CriuDumpStats> = {
  1: 'freezingTimeUs',
  2: 'frozenTimeUs',
  3: 'memdumpTimeUs',
  4: 'memwriteTimeUs',
  5: 'pagesScanned',
  6: 'pagesSkippedParent',
  7: 'pagesWritten',
  9: 'pagesLazy',
};
const RESTORE_FIELDS: Record<number, keyof CriuRestoreStats> = {
  1: 'pagesCompared',
  2: 'pagesSkippedCow',
  3: 'forkingTimeUs',
  4: 'restoreTimeUs',
  5: 'pagesRestored',
};

function readVarintFields<T>(bytes: Uint8Array, names: Record<number, keyof T>): Partial<T> {
  const reader = protobuf.Reader.create(bytes);
  const out: Record<string, number> = {};
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire !== 0) {
      reader.skipType(wire);
      continue;
    }
    const value = Number(reader.uint64().toString());
    const name = names[field];
    if (name !== undefined) out[name as string] = value;
  }
  return out as Partial<T>;
}

function readEntry(image: Uint8Array, wanted: 1 | 2): Uint8Array | undefined {
  if (image.length < 12) return undefined;
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const size = view.getUint32(8, true);
  const entry = image.subarray(12, 12 + size);
  const reader = protobuf.Reader.create(entry);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === wanted && (tag & 7) === 2) return reader.bytes();
    reader.skipType(tag & 7);
  }
  return undefined;
}

export function parseDumpStats(image: Uint8Array): CriuDumpStats {
  const entry = readEntry(image, 1);
  return entry ? readVarintFields<CriuDumpStats>(entry, DUMP_FIELDS) : {};
}

export function parseRestoreStats(image: Uint8Array): CriuRestoreStats {
  const entry = readEntry(image, 2);
  return entry ? readVarintFields<CriuRestoreStats>(entry, RESTORE_FIELDS) : {};
}
