/**
 * Tar headers (POSIX ustar, pax extended headers, GNU long names), parsed
 * strictly: a header whose checksum, magic or numbers do not add up is
 * damage, never guessed at. Platform-neutral: Uint8Array and TextDecoder only.
 */

export const BLOCK = 512;

/** Extended headers (pax, GNU long names) are held whole: a larger one is damage, not a reason to buffer. */
export const MAX_EXTENDED_HEADER_BYTES = 1024 * 1024;

/** Damage in the tar structure itself (as opposed to a read error of the stream underneath). */
export class TarFormatError extends Error {}

export interface RawHeader {
  name: string;
  size: number;
  /** The typeflag character: '0' file, '5' directory, 'x' pax, 'L' GNU long name, ... */
  type: string;
}

const utf8 = new TextDecoder('utf-8');

/** Names up to this long that are ASCII are made here; longer ones (a GNU long name) are the decoder's. */
const MAX_ASCII_NAME = 4096;

/** Bytes up to the first NUL, as UTF-8 (names are written as UTF-8 by every current tar). */
export function cString(b: Uint8Array, off = 0, len = b.length - off): string {
  const field = b.subarray(off, off + len);
  const end = field.indexOf(0);
  const bytes = end === -1 ? field : field.subarray(0, end);
  // An ASCII name, as archivers write them, is one character a byte: made here, because a TextDecoder call in a
  // browser's worker hands back a string that cost the page's reader more than the rest of the header.
  let ascii = bytes.length <= MAX_ASCII_NAME;
  for (let i = 0; ascii && i < bytes.length; i++) if (bytes[i]! >= 0x80) ascii = false;
  return ascii ? String.fromCharCode.apply(null, bytes as unknown as number[]) : utf8.decode(bytes);
}

/** True for an all-zero block (end-of-archive marker, or padding after it). */
export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Bytes of padding after `size` bytes of member data. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

const isFill = (c: number): boolean => c === 0x20 || c === 0;

/** An octal field (leading and trailing spaces or NULs allowed), or its GNU base-256 form; anything else is damage. */
function numberField(b: Uint8Array, off: number, len: number, what: string): number {
  if (b[off]! & 0x80) return base256(b, off, len, what);
  let i = off;
  const end = off + len;
  while (i < end && isFill(b[i]!)) i++;
  let n = 0;
  for (; i < end && !isFill(b[i]!); i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x37) throw new TarFormatError(`invalid tar header (${what} is not a number)`);
    n = n * 8 + (c - 0x30);
  }
  for (; i < end; i++) if (!isFill(b[i]!)) throw new TarFormatError(`invalid tar header (${what} is not a number)`);
  return n;
}

function base256(b: Uint8Array, off: number, len: number, what: string): number {
  // 0x80 positive, 0xff negative: a negative size or checksum is damage.
  if (b[off] !== 0x80) throw new TarFormatError(`invalid tar header (${what} is negative)`);
  let n = 0;
  for (let i = off + 1; i < off + len; i++) n = n * 256 + b[i]!;
  if (!Number.isSafeInteger(n)) throw new TarFormatError(`invalid tar header (${what} is too large)`);
  return n;
}

function checksumOk(block: Uint8Array): boolean {
  // The checksum is the sum of the header's bytes with its own field counted as spaces.
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i]!;
  return numberField(block, 148, 8, 'checksum') === sum;
}

const USTAR = [0x75, 0x73, 0x74, 0x61, 0x72]; // "ustar"

/** "ustar\0" (POSIX, with a name prefix), "ustar " (GNU, without), or neither (not a tar header we read). */
function format(block: Uint8Array): 'posix' | 'gnu' | undefined {
  if (!USTAR.every((c, i) => block[257 + i] === c)) return undefined;
  if (block[262] === 0) return 'posix';
  if (block[262] === 0x20 && block[263] === 0x20 && block[264] === 0) return 'gnu';
  return undefined;
}

/** One 512-byte header block (not all zeros). Throws TarFormatError for damage. */
export function parseHeader(block: Uint8Array): RawHeader {
  const kind = format(block);
  if (kind === undefined) {
    throw new TarFormatError('invalid tar header (unknown format); maybe the archive is compressed or not a tar');
  }
  if (!checksumOk(block)) throw new TarFormatError('invalid tar header (checksum mismatch)');
  let name = cString(block, 0, 100);
  if (kind === 'posix' && block[345] !== 0) name = `${cString(block, 345, 155)}/${name}`;
  let type = String.fromCharCode(block[156]!);
  if (type === '\0') type = '0';
  // Old tars mark directories only by a trailing slash.
  if (type === '0' && name.endsWith('/')) type = '5';
  return { name, size: numberField(block, 124, 12, 'size'), type };
}

/** The `path` and `size` records of a pax extended header ("<length> <key>=<value>\n" each). */
export function parsePax(body: Uint8Array): { path?: string; size?: number } {
  const out: { path?: string; size?: number } = {};
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break; // some writers pad the record block with NULs
    const space = body.indexOf(0x20, pos);
    const lenText = space === -1 ? '' : utf8.decode(body.subarray(pos, space));
    const len = /^[1-9][0-9]{0,9}$/.test(lenText) ? Number(lenText) : Number.NaN;
    if (!(len > 0) || pos + len > body.length || body[pos + len - 1] !== 0x0a) {
      throw new TarFormatError('invalid pax header (a record is malformed)');
    }
    const record = utf8.decode(body.subarray(space + 1, pos + len - 1));
    const eq = record.indexOf('=');
    if (eq <= 0) throw new TarFormatError('invalid pax header (a record has no key)');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') out.path = value;
    else if (key === 'size') {
      if (!/^[0-9]{1,15}$/.test(value)) throw new TarFormatError('invalid pax header (size is not a number)');
      out.size = Number(value);
    }
    pos += len;
  }
  return out;
}
