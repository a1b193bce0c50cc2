import { ErstError } from '@erst/core';
import { type ByteSource, ByteReader, TruncatedError, chunksOf } from './bytes.js';
import { type Item, kindByName, tooLarge, unreadableItem } from './item.js';
import { type StreamOptions, readJsonl } from './jsonl.js';
import {
  BLOCK,
  MAX_EXTENDED_HEADER_BYTES,
  TarFormatError,
  cString,
  isZeroBlock,
  padding,
  parseHeader,
  parsePax,
} from './tar-header.js';

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
export async function* tarItems(source: ByteSource, options: StreamOptions, label: string): AsyncGenerator<Item> {
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

/** The failure to report for an exception part way through a tar stream. */
function damage(e: unknown, at: Progress, options: StreamOptions, label: string): Item | undefined {
  const why = (e as Error | undefined)?.message || 'read error';
  const input = options.input ?? 0;
  if (at.members === 0) {
    const err = new ErstError('ERR_ARCHIVE_CORRUPT', `${options.name}: not a readable ${label} archive (${why})`);
    return unreadableItem(options.name, input, err);
  }
  const where = at.current !== undefined ? `${options.name}:${at.current}` : options.name;
  if (!(options.accept?.(where) ?? true)) return undefined;
  return {
    kind: 'failure',
    source: where,
    input,
    code: 'ERR_ARCHIVE_CORRUPT',
    message:
      at.current !== undefined
        ? `archive member is cut short or damaged (${why}); nothing after it in ${options.name} could be read`
        : `archive is damaged after member ${at.last ?? '(none)'} (${why}); nothing after it could be read`,
    scope: 'record',
  };
}

/** Options of readTar: those of every stream, and whether the bytes are gzip-compressed. */
export interface TarOptions extends StreamOptions {
  /** Decompress with the platform's `DecompressionStream('gzip')` first (a `.tar.gz`). */
  gzip?: boolean;
}

/** A byte source through the platform's gzip decompressor. */
function gunzip(source: ByteSource): ReadableStream<Uint8Array> {
  const stream = source instanceof ReadableStream ? source : fromIterable(source);
  return stream.pipeThrough(new DecompressionStream('gzip') as ReadableWritablePair<Uint8Array, Uint8Array>);
}

function fromIterable(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const chunks = chunksOf(source)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      // Copied: the decompressor may still hold a chunk when the producer reuses its buffer.
      if (next.done) controller.close();
      else controller.enqueue(new Uint8Array(next.value));
    },
    async cancel() {
      await chunks.return?.();
    },
  });
}

/**
 * The records of a tar stream: each `.json` member (regular files only) is
 * one record sourced `<name>:<member>`, each `.jsonl` member one record per
 * line (`<name>:<member>:<line>`); directories, links, devices and other
 * names are skipped unread. A member over `maxBytes` is `ERR_INPUT_TOO_LARGE`.
 * A damaged or cut-short archive is `ERR_ARCHIVE_CORRUPT`: `unreadable` if
 * no member could be read, else a `record` failure naming where it broke.
 * Never throws for bad input.
 *
 * @example
 * for await (const item of readTar(file.stream(), { name: file.name, maxBytes: 1 << 20, gzip: true })) count++;
 */
export function readTar(source: ByteSource, options: TarOptions): AsyncGenerator<Item> {
  if (options.gzip) return tarItems(gunzip(source), options, 'gzip-compressed tar');
  return tarItems(source, options, 'tar');
}
