import { ErstError } from '@erst/core';
import { type ByteSource, TruncatedError, chunksOf } from './bytes.js';
import { type Item, kindByName, tooLarge, unreadableItem } from './item.js';
import { type StreamOptions, lineItems } from './jsonl.js';
import { LineSplitter } from './lines.js';
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

/** Where a tar stream is in its members, for the message when it turns out damaged. */
export interface Progress {
  members: number;
  current: string | undefined;
  last: string | undefined;
}

/** What the parser reads next. */
const Step = {
  /** A 512-byte header block. */
  Header: 0,
  /** The body of a pax or GNU extended header, kept whole (bounded). */
  Extended: 1,
  /** The body of a member read for records: a `.json` one whole, a `.jsonl` one line by line. */
  Body: 2,
  /** Bytes that are not read: a skipped member, padding. */
  Skip: 3,
} as const;
type Step = (typeof Step)[keyof typeof Step];

/**
 * A tar stream parsed as its chunks arrive, synchronously: push() takes a
 * chunk and yields the items it completes. One state machine instead of an
 * async generator per member and per view: the promises and generator
 * objects of a member (several per 512-byte block and per chunk) cost more
 * than parsing its header, on the thread that feeds the verifiers.
 *
 * Zero blocks are skipped (the end-of-archive marker and the padding of a
 * tape record); a stream that ends inside a header, a member or its padding
 * is cut short (end() throws TruncatedError). Damage throws TarFormatError.
 */
class TarParser {
  readonly #options: StreamOptions;
  readonly #progress: Progress;
  #step: Step = Step.Header;
  /** Bytes still to come in this step (for a header: of the block). */
  #left = BLOCK;
  /** A header block that straddles chunks, gathered. */
  readonly #block = new Uint8Array(BLOCK);
  /** An extended header's body being gathered, and its typeflag. */
  #extended = new Uint8Array(0);
  #extendedType = '';
  /** What pax and GNU long-name headers say about the next member. */
  #next: { path?: string; size?: number } = {};
  /** The member being read: its name, source, size, padding. */
  #name = '';
  #source = '';
  #size = 0;
  /** A `.jsonl` member's lines; undefined for a `.json` member. */
  #lines: LineSplitter | undefined;
  #lineOptions: StreamOptions | undefined;
  /**
   * A `.json` member that straddles chunks is gathered here, a buffer reused
   * for the next such member (an Item's bytes are valid until the next item
   * is pulled): a new buffer per member cost more than the copy into it in
   * browsers, where each allocation is slow (Chromium).
   */
  #scratch = new Uint8Array(0);

  constructor(options: StreamOptions, progress: Progress) {
    this.#options = options;
    this.#progress = progress;
  }

  /** The items a chunk completes, in order; the chunk is not kept (a record may be a view of it, until the next item). */
  *push(chunk: Uint8Array): Generator<Item> {
    let pos = 0;
    while (pos < chunk.length) {
      const take = Math.min(this.#left, chunk.length - pos);
      switch (this.#step) {
        case Step.Header: {
          let block: Uint8Array;
          if (take === BLOCK) block = chunk.subarray(pos, pos + BLOCK);
          else {
            this.#block.set(chunk.subarray(pos, pos + take), BLOCK - this.#left);
            if (take < this.#left) {
              this.#left -= take;
              return;
            }
            block = this.#block;
          }
          pos += take;
          yield* this.#header(block);
          break;
        }
        case Step.Extended:
          this.#extended.set(chunk.subarray(pos, pos + take), this.#extended.length - this.#left);
          pos += take;
          this.#left -= take;
          if (this.#left === 0) this.#extendedDone();
          break;
        case Step.Body: {
          const piece = chunk.subarray(pos, pos + take);
          pos += take;
          this.#left -= take;
          yield* this.#body(piece);
          break;
        }
        case Step.Skip:
          pos += take;
          this.#left -= take;
          if (this.#left === 0) this.#expectHeader();
          break;
      }
    }
  }

  /** The stream ended: fine between members, cut short anywhere else. */
  end(): void {
    if (this.#step !== Step.Header || this.#left !== BLOCK) throw new TruncatedError();
  }

  #expectHeader(): void {
    this.#step = Step.Header;
    this.#left = BLOCK;
  }

  /** The next `size` bytes, then the padding to the next block, are skipped (or finished at once when none). */
  #skip(bytes: number): void {
    if (bytes === 0) {
      this.#expectHeader();
      return;
    }
    this.#step = Step.Skip;
    this.#left = bytes;
  }

  *#header(block: Uint8Array): Generator<Item> {
    if (isZeroBlock(block)) {
      this.#expectHeader();
      return;
    }
    const h = parseHeader(block);
    if (h.type === 'x' || h.type === 'L' || h.type === 'g' || h.type === 'K') {
      if (h.size > MAX_EXTENDED_HEADER_BYTES) {
        throw new TarFormatError(`extended header of ${h.size} bytes, over the limit of ${MAX_EXTENDED_HEADER_BYTES}`);
      }
      this.#extended = new Uint8Array(h.size);
      this.#extendedType = h.type;
      this.#step = Step.Extended;
      this.#left = h.size;
      if (h.size === 0) this.#extendedDone();
      return;
    }
    const size = this.#next.size ?? h.size;
    const name = this.#next.path ?? h.name;
    this.#next = {};
    const progress = this.#progress;
    progress.members++;
    progress.current = name;
    // Directories, links, devices and other names are skipped unread.
    const isFile = h.type === '0' || h.type === '7';
    const kind = isFile ? kindByName(name) : undefined;
    const options = this.#options;
    const source = `${options.name}:${name}`;
    this.#name = name;
    this.#source = source;
    this.#size = size;
    if (kind === 'json' && (options.accept?.(source) ?? true)) {
      if (size > options.maxBytes) {
        yield tooLarge(source, options.input ?? 0, size, options.maxBytes);
      } else {
        this.#lines = undefined;
        return yield* this.#startBody();
      }
    } else if (kind === 'jsonl') {
      this.#lines = new LineSplitter(options.maxBytes);
      this.#lineOptions = { ...options, name: source };
      return yield* this.#startBody();
    }
    this.#memberDone();
    this.#skip(size + padding(size));
  }

  *#startBody(): Generator<Item> {
    this.#step = Step.Body;
    this.#left = this.#size;
    if (this.#size === 0) yield* this.#body(new Uint8Array(0));
  }

  /** A piece of the member being read; the last one (`#left` is 0) finishes it. */
  *#body(piece: Uint8Array): Generator<Item> {
    const size = this.#size;
    const done = this.#left === 0;
    if (this.#lines) {
      yield* lineItems(this.#lines.push(piece), this.#lineOptions!);
      if (!done) return;
      yield* lineItems(this.#lines.end(), this.#lineOptions!);
    } else {
      // The whole member in one piece: a view of the chunk, no copy.
      let bytes = piece;
      if (piece.length !== size) {
        if (this.#scratch.length < size) {
          this.#scratch = new Uint8Array(Math.max(size, this.#scratch.length * 2, 64 * 1024));
        }
        this.#scratch.set(piece, size - this.#left - piece.length);
        if (!done) return;
        bytes = this.#scratch.subarray(0, size);
      }
      this.#memberDone();
      this.#skip(padding(size));
      yield { kind: 'record', source: this.#source, input: this.#options.input ?? 0, bytes };
      return;
    }
    this.#memberDone();
    this.#skip(padding(size));
  }

  #memberDone(): void {
    this.#progress.last = this.#name;
    this.#progress.current = undefined;
  }

  #extendedDone(): void {
    const body = this.#extended;
    const size = body.length;
    if (this.#extendedType === 'x') this.#next = { ...this.#next, ...parsePax(body) };
    else if (this.#extendedType === 'L') this.#next.path = cString(body);
    // Global pax headers and GNU long link names say nothing about which records a member holds.
    this.#extended = new Uint8Array(0);
    this.#skip(padding(size));
  }
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
  const chunks = chunksOf(source)[Symbol.asyncIterator]();
  const progress: Progress = { members: 0, current: undefined, last: undefined };
  const parser = new TarParser(options, progress);
  try {
    for (;;) {
      const next = await chunks.next();
      if (next.done) break;
      yield* parser.push(next.value);
    }
    parser.end();
  } catch (e) {
    const failure = damage(e, progress, options, label);
    if (failure) yield failure;
  } finally {
    // Stopping early (damage, or a consumer that stops): files close and decompressors stop.
    await chunks.return?.().catch(() => {});
  }
}

/** The failure to report for an exception part way through a tar stream. */
export function damage(e: unknown, at: Progress, options: StreamOptions, label: string): Item | undefined {
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
