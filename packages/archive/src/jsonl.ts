import { type ByteSource, chunksOf } from './bytes.js';
import { type Item, tooLarge } from './item.js';
import { type Line, LineSplitter } from './lines.js';

/** How one stream is read: its name in sources, and the limits. */
export interface StreamOptions {
  /** The stream's name: sources are `<name>:<line>` and `<name>:<member>`. */
  name: string;
  /** Largest record accepted, in bytes. */
  maxBytes: number;
  /** Whether a source is wanted (sharding); others are skipped before they are read. Default: all. */
  accept?: (source: string) => boolean;
  /** The `input` index put in every item. Default 0. */
  input?: number;
}

const ALL = (): boolean => true;

/** The items of some lines of a stream (those the options accept). */
export function* lineItems(lines: Iterable<Line>, options: StreamOptions): Generator<Item> {
  const accept = options.accept ?? ALL;
  const input = options.input ?? 0;
  for (const l of lines) {
    const source = `${options.name}:${l.line}`;
    if (!accept(source)) continue;
    if ('tooLong' in l) yield tooLarge(source, input, l.tooLong, options.maxBytes);
    else yield { kind: 'record', source, input, bytes: l.bytes };
  }
}

/**
 * The records of a `.jsonl` stream, one per non-blank line, sourced
 * `<name>:<line>`. A line over `maxBytes` is an `ERR_INPUT_TOO_LARGE` failure,
 * skipped without being held in memory. A read error of the stream is thrown.
 *
 * @example
 * for await (const item of readJsonl(file.stream(), { name: file.name, maxBytes: 1 << 20 })) count++;
 */
export async function* readJsonl(source: ByteSource, options: StreamOptions): AsyncGenerator<Item> {
  const splitter = new LineSplitter(options.maxBytes);
  for await (const chunk of chunksOf(source)) yield* lineItems(splitter.push(chunk), options);
  yield* lineItems(splitter.end(), options);
}
