// The tar reader as it was before the synchronous parser (tar.ts): async
// generators pulling exact byte counts out of the stream. Kept here, for the
// tests only, as the reference the parser must agree with item for item.
import { type ByteSource, TruncatedError, chunksOf } from '../bytes.js';
import { type Item, kindByName, tooLarge } from '../item.js';
import { type StreamOptions, readJsonl } from '../jsonl.js';
import { damage } from '../tar.js';
import {
  BLOCK,
  MAX_EXTENDED_HEADER_BYTES,
  TarFormatError,
  cString,
  isZeroBlock,
  padding,
  parseHeader,
  parsePax,
} from '../tar-header.js';

const EMPTY = new Uint8Array(0);

/**
 * Pulls exact byte counts out of a chunked stream. It holds one chunk of the
 * source, and copies out of it (or hands out views of it) before it asks for
 * the next, so producers may reuse their buffers.
 */
class ByteReader {
  readonly #chunks: AsyncIterator<Uint8Array>;
  #chunk: Uint8Array = EMPTY;
  #pos = 0;

  constructor(source: ByteSource) {
    this.#chunks = chunksOf(source)[Symbol.asyncIterator]();
  }

  /** Whether bytes remain; waits for a chunk when the one held is used up. */
  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#chunk.length) {
      const next = await this.#chunks.next();
      if (next.done) return false;
      this.#chunk = next.value;
      this.#pos = 0;
    }
    return true;
  }

  /** Exactly `n` bytes, copied: undefined when the stream ends before the first; TruncatedError when it ends after. */
  async exactly(n: number): Promise<Uint8Array | undefined> {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      if (!(await this.#fill())) {
        if (off === 0) return undefined;
        throw new TruncatedError();
      }
      const take = Math.min(n - off, this.#chunk.length - this.#pos);
      out.set(this.#chunk.subarray(this.#pos, this.#pos + take), off);
      this.#pos += take;
      off += take;
    }
    return out;
  }

  /** The next `n` bytes as views of the source's chunks, each valid until the next is pulled. */
  async *views(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill())) throw new TruncatedError();
      const take = Math.min(left, this.#chunk.length - this.#pos);
      const view = this.#chunk.subarray(this.#pos, this.#pos + take);
      this.#pos += take;
      left -= take;
      yield view;
    }
  }

  /** Skips `n` bytes. */
  async skip(n: number): Promise<void> {
    for await (const _ of this.views(n)) {
      // Nothing to keep.
    }
  }

  /** Ends reading early: the source is told to stop (its `return`), so files close and decompressors stop. */
  async close(): Promise<void> {
    await this.#chunks.return?.();
  }
}

/** One member of a tar stream; `body` must be read (or left) before the next member is pulled. */
interface TarMember {
  name: string;
  type: string;
  size: number;
  body: AsyncIterable<Uint8Array>;
}

/** Reads an extended header's body (pax or GNU long name), bounded. */
async function extendedBody(reader: ByteReader, size: number): Promise<Uint8Array> {
  if (size > MAX_EXTENDED_HEADER_BYTES) {
    throw new TarFormatError(`extended header of ${size} bytes, over the limit of ${MAX_EXTENDED_HEADER_BYTES}`);
  }
  const body = (await reader.exactly(size)) ?? new Uint8Array(0);
  if (body.length < size) throw new TruncatedError();
  await reader.skip(padding(size));
  return body;
}

/**
 * The members of a tar stream, in order. Zero blocks are skipped (the
 * end-of-archive marker and the padding of a tape record); a stream that
 * ends inside a header, a member or its padding is cut short.
 */
async function* tarMembers(reader: ByteReader): AsyncGenerator<TarMember> {
  let next: { path?: string; size?: number } = {};
  for (;;) {
    const block = await reader.exactly(BLOCK);
    if (block === undefined) return;
    if (isZeroBlock(block)) continue;
    const h = parseHeader(block);
    if (h.type === 'x') next = { ...next, ...parsePax(await extendedBody(reader, h.size)) };
    else if (h.type === 'L') next.path = cString(await extendedBody(reader, h.size));
    // Global pax headers and GNU long link names say nothing about which records a member holds.
    else if (h.type === 'g' || h.type === 'K') await extendedBody(reader, h.size);
    else {
      const size = next.size ?? h.size;
      const member = { name: next.path ?? h.name, type: h.type, size };
      next = {};
      let read = 0;
      const body = async function* (): AsyncGenerator<Uint8Array> {
        for await (const view of reader.views(size - read)) {
          read += view.length;
          yield view;
        }
      };
      yield { ...member, body: body() };
      await reader.skip(size - read + padding(size));
    }
  }
}

/** Where a tar stream is in its members, for the message when it turns out damaged. */
interface Progress {
  members: number;
  current: string | undefined;
  last: string | undefined;
}

/**
 * A `.tar` (or `.tar.gz`) given as a stream, streamed: only the member being
 * read is in memory. Damage found before the first member means the archive
 * is unreadable (exit 2); damage after it is reported against the member
 * being read (or the archive, between members) and what came before still
 * counts. Nothing after the damage can be trusted to start at a member
 * boundary, so the archive ends there. `label` names the format in messages.
 */
export async function* referenceTarItems(
  source: ByteSource,
  options: StreamOptions,
  label: string,
): AsyncGenerator<Item> {
  const reader = new ByteReader(source);
  const progress: Progress = { members: 0, current: undefined, last: undefined };
  const scratch: Scratch = { buffer: new Uint8Array(0) };
  try {
    for await (const member of tarMembers(reader)) {
      progress.members++;
      progress.current = member.name;
      yield* memberItems(member, options, scratch);
      progress.last = member.name;
      progress.current = undefined;
    }
  } catch (e) {
    const failure = damage(e, progress, options, label);
    if (failure) yield failure;
  } finally {
    await reader.close().catch(() => {});
  }
}

/** The items of one member: a `.json` is one record, a `.jsonl` one per line, anything else is skipped unread. */
async function* memberItems(member: TarMember, options: StreamOptions, scratch: Scratch): AsyncGenerator<Item> {
  const isFile = member.type === '0' || member.type === '7';
  const kind = isFile ? kindByName(member.name) : undefined;
  const source = `${options.name}:${member.name}`;
  const input = options.input ?? 0;
  if (kind === 'json' && (options.accept?.(source) ?? true)) {
    if (member.size > options.maxBytes) yield tooLarge(source, input, member.size, options.maxBytes);
    else yield { kind: 'record', source, input, bytes: await readWhole(member, scratch) };
  } else if (kind === 'jsonl') {
    yield* readJsonl(member.body, { ...options, name: source });
  }
}

/** The buffer a stream's `.json` members are read into, one after the other. */
interface Scratch {
  buffer: Uint8Array;
}

/**
 * A member's bytes, in a buffer reused for the next member (an Item's bytes
 * are valid until the next item is pulled): a new buffer per member cost more
 * than the copy into it in browsers, where each allocation is slow (Chromium).
 */
async function readWhole(member: TarMember, scratch: Scratch): Promise<Uint8Array> {
  if (scratch.buffer.length < member.size) {
    scratch.buffer = new Uint8Array(Math.max(member.size, scratch.buffer.length * 2, 64 * 1024));
  }
  const bytes = scratch.buffer.subarray(0, member.size);
  let off = 0;
  for await (const view of member.body) {
    bytes.set(view, off);
    off += view.length;
  }
  return bytes;
}
