// Rewrites one small text member of an uncompressed tar archive in place, without
// copying the archive (a checkpoint archive holds the container's whole memory: rewriting it
// after the freeze would add its size to the downtime).
import { open, type FileHandle } from 'node:fs/promises';

const BLOCK = 512;

interface Member {
  dataOffset: number;
  size: number;
}

/** Header field as text: up to the first NUL. */
function text(h: Buffer, start: number, length: number): string {
  const field = h.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? length : nul).toString('utf8');
}

/** A member's size: octal, or base-256 (GNU) when the high bit of the first byte is set. */
function sizeOf(h: Buffer): number {
  const field = h.subarray(124, 136);
  if (field[0]! & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  return parseInt(text(h, 124, 12).trim() || '0', 8);
}

/** pax extended header records ("LEN key=value\n"): the path one, if any. */
function paxPath(data: Buffer): string | undefined {
  const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
  return m?.[1];
}

const normal = (name: string) => name.replace(/^\.\//, '');

async function findMember(fd: FileHandle, wanted: string): Promise<Member | undefined> {
  const header = Buffer.alloc(BLOCK);
  let offset = 0;
  let longName: string | undefined;
  for (;;) {
    const { bytesRead } = await fd.read(header, 0, BLOCK, offset);
    if (bytesRead < BLOCK || header.every((b) => b === 0)) return undefined;
    const size = sizeOf(header);
    const type = String.fromCharCode(header[156]!);
    const dataOffset = offset + BLOCK;
    offset = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L' || type === 'x') {
      // GNU long name / pax header: they name the member that follows.
      const data = Buffer.alloc(size);
      await fd.read(data, 0, size, dataOffset);
      longName = type === 'L' ? text(data, 0, size) : (paxPath(data) ?? longName);
      continue;
    }
    const prefix = text(header, 257, 6) === 'ustar' ? text(header, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    longName = undefined;
    if ((type === '0' || type === '\0') && normal(name) === wanted) return { dataOffset, size };
  }
}

/**
 * Lets `edit` rewrite the text of member `name` of the uncompressed tar `archive` and writes it
 * back in place, padded with spaces (JSON white space) to its old size; the edit must not make
 * it longer. The text is edited, not re-serialized: a JSON round trip through JavaScript numbers
 * would corrupt 64-bit values such as an unlimited rlimit. Returns the (edited) text; undefined
 * when the archive has no such member.
 */
export async function editMember(
  archive: string,
  name: string,
  edit: (text: string) => string,
): Promise<string | undefined> {
  const fd = await open(archive, 'r+');
  try {
    const member = await findMember(fd, normal(name));
    if (!member) return undefined;
    const data = Buffer.alloc(member.size);
    await fd.read(data, 0, member.size, member.dataOffset);
    const before = data.toString('utf8');
    const after = edit(before);
    if (after === before) return before;
    const out = Buffer.from(after, 'utf8');
    if (out.length > member.size)
      throw new Error(`${name} in ${archive} would grow from ${member.size} to ${out.length} bytes`);
    const padded = Buffer.concat([out, Buffer.alloc(member.size - out.length, 0x20)]);
    await fd.write(padded, 0, member.size, member.dataOffset);
    return after;
  } finally {
    await fd.close();
  }
}
