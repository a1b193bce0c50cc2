import { createHash } from 'node:crypto';
import { type FileHandle, open, stat } from 'node:fs/promises';
import {
  DEFAULT_MAX_INPUT_BYTES,
  ErstError,
  type JsonObject,
  type JsonValue,
  canonicalize,
  parseStrictJson,
} from '@erst/core';
import { LineSplitter } from '@erst/archive';
import type { BatchRecord, Previous, RecordSink, ResumeContext } from './sink.js';

/** Bytes of lines gathered per write() call: large enough to amortize the syscall, far below V8's string cap. */
const WRITE_CHUNK_BYTES = 4 * 1024 * 1024;

/** Pieces per writev call: within every system's IOV_MAX (1024 on Linux); more are joined into one. */
const MAX_PIECES = 1024;

const TX_HASH = /^[0-9a-f]{64}$/;

/** A transaction already in the output: its line, and for a 1.x record the digest of its payload. */
interface Resumed {
  line: number;
  payload: string | null;
}

/**
 * Output to one `.jsonl` file, one record per line, appended whole. A crash
 * can leave at most a partial last line, which the next run cuts off.
 *
 * @example
 * await signBatch({ input: 'payloads.jsonl', output: jsonlSink('records.jsonl'), signer });
 */
export function jsonlSink(path: string): RecordSink {
  return new JsonlSink(path);
}

class JsonlSink implements RecordSink {
  readonly target: string;
  readonly recordLayout = 'line' as const;
  #done = new Map<string, Resumed>();
  #handle: FileHandle | undefined;

  constructor(path: string) {
    this.target = path;
  }

  async open(context: ResumeContext): Promise<void> {
    this.#done = await resumeJsonl(this.target, context);
    this.#handle = await open(this.target, 'a', 0o644);
  }

  holds(transactionHash: string): boolean {
    return this.#done.has(transactionHash);
  }

  async previous(transactionHash: string, payload: JsonObject): Promise<Previous> {
    const resumed = this.#done.get(transactionHash);
    if (!resumed) return { state: 'absent' };
    if (resumed.payload !== null && resumed.payload !== payloadDigest(payload)) {
      return {
        state: 'conflict',
        code: 'ERR_OUTPUT_WRITE',
        message: `${this.target} line ${resumed.line} claims this transaction_hash (which 1.x records do not sign) for another payload; not signed`,
      };
    }
    return { state: 'done' };
  }

  /**
   * The group's lines in the order they were signed, in as few writes as
   * possible: one per WRITE_CHUNK_BYTES, because a group a log checkpoint
   * releases can hold every record of a large batch, far more than one
   * string may (V8 caps strings at about 512 MiB).
   */
  async write(group: readonly BatchRecord[]): Promise<void> {
    // Each line is encoded on its own: joined first, one line with a
    // character past Latin-1 made the whole slice a two-byte string, and
    // encoding it cost 3 to 4 times as much (17 KB records: 230-330 us a
    // record against 70-85 us), the most of any step on the thread that
    // feeds the signer. Lines a signing thread made side by side (one
    // message's) are one piece already; pieces go out in one writev, uncopied.
    let pieces: Uint8Array[] = [];
    let size = 0;
    let joined = false;
    for (const r of group) {
      joined ||= r.encoded === undefined;
      const line = r.encoded ?? Buffer.from(`${JSON.stringify(r.record)}\n`, 'utf8');
      const last = pieces.at(-1);
      if (r.encoded && last && last.buffer === line.buffer && last.byteOffset + last.length === line.byteOffset) {
        pieces[pieces.length - 1] = new Uint8Array(last.buffer, last.byteOffset, last.length + line.length);
      } else pieces.push(line);
      size += line.length;
      // Lines serialized here are joined, as they always were; a thread's pieces are not copied again.
      if (size >= WRITE_CHUNK_BYTES) {
        await this.#writeAll(joined ? [Buffer.concat(pieces, size)] : pieces);
        pieces = [];
        size = 0;
        joined = false;
      }
    }
    if (pieces.length > 0) await this.#writeAll(joined ? [Buffer.concat(pieces, size)] : pieces);
  }

  async #writeAll(pieces: Uint8Array[]): Promise<void> {
    let rest = pieces.length > MAX_PIECES ? [Buffer.concat(pieces)] : pieces;
    while (rest.length > 0) {
      let written =
        rest.length === 1
          ? (await this.#handle!.write(rest[0]!, 0, rest[0]!.length)).bytesWritten
          : (await this.#handle!.writev(rest)).bytesWritten;
      // A short write (rare for a file): go on from the first byte not written.
      let i = 0;
      while (i < rest.length && written >= rest[i]!.length) written -= rest[i++]!.length;
      rest = rest.slice(i);
      if (written > 0) rest[0] = rest[0]!.subarray(written);
    }
  }

  async commit(): Promise<void> {
    await this.#handle!.datasync();
  }

  async close(): Promise<void> {
    await this.#handle?.close();
    this.#handle = undefined;
  }
}

/**
 * Reads what a previous run appended and returns the transaction hashes of
 * its complete lines, each of which must verify, under the key signing now,
 * as a record of its transaction: a line that does not (an edited line, a
 * file signed with another key, a file that is not this batch's output)
 * stops the batch with the output left as it is, instead of counting as
 * "already signed". A partial last line (the run died mid-write) is cut off.
 */
async function resumeJsonl(path: string, context: ResumeContext): Promise<Map<string, Resumed>> {
  const done = new Map<string, Resumed>();
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return done;
    throw new ErstError(
      'ERR_OUTPUT_WRITE',
      `cannot use ${path} as the output (${(e as { code?: string }).code ?? 'error'})`,
    );
  }
  // The output is read back and appended to: a FIFO or device would block
  // both (or never hold what was written), so only a regular file will do.
  if (!st.isFile()) {
    throw new ErstError(
      'ERR_OUTPUT_WRITE',
      `${path} is not a regular file; a batch's .jsonl output is read back to resume`,
      {
        details: { file: path },
      },
    );
  }
  // Asked for only now: a verifier costs its making, and a new output needs none.
  const { verifier, concurrency } = context;
  const handle = await open(path, 'r+');
  try {
    let offset = 0;
    let complete = 0;
    // The lines in flight in the verifier, oldest first.
    const queue: { line: number; bytes: Uint8Array }[] = [];
    // Lines go to the verifier as they are read; results come back in order.
    async function* lines(): AsyncGenerator<Uint8Array> {
      const splitter = new LineSplitter(DEFAULT_MAX_INPUT_BYTES);
      for await (const chunk of handle.createReadStream({ autoClose: false, start: 0 }) as AsyncIterable<Buffer>) {
        for (const l of splitter.push(chunk)) {
          if ('tooLong' in l) throw notThisBatch(path, l.line, 'is too long to be an audit record');
          queue.push({ line: l.line, bytes: l.bytes });
          yield l.bytes;
        }
        const lastNl = chunk.lastIndexOf(0x0a);
        if (lastNl !== -1) complete = offset + lastNl + 1;
        offset += chunk.length;
      }
    }
    for await (const r of verifier.verifyStream(lines(), { concurrency })) {
      const { line, bytes } = queue.shift()!;
      if (!r.valid)
        throw notThisBatch(
          path,
          line,
          `does not verify as a record signed by this key (${r.errors[0]?.code ?? 'ERR_RECORD_UNKNOWN_FORMAT'})`,
        );
      const tx = r.transaction_hash;
      if (tx === null || !TX_HASH.test(tx)) throw notThisBatch(path, line, 'is not the record of a transaction');
      // A run never writes a transaction twice: a repeat is an edited file.
      const before = done.get(tx);
      if (before) throw notThisBatch(path, line, `repeats the transaction of line ${before.line}`);
      // 1.x records do not sign their transaction_hash: what ties the line to its
      // transaction is then its payload, checked against the input's when the line comes.
      done.set(tx, {
        line,
        payload: r.uncovered.includes('transaction_hash')
          ? payloadDigest((parseStrictJson(bytes) as JsonObject).payload!)
          : null,
      });
    }
    if (complete < offset) {
      // The tail after the last newline is a line a killed run did not finish.
      await handle.truncate(complete);
      await handle.sync();
    }
    return done;
  } finally {
    await handle.close();
  }
}

function payloadDigest(payload: JsonValue): string {
  return createHash('sha256').update(canonicalize(payload)).digest('hex');
}

function notThisBatch(path: string, line: number, why: string): ErstError {
  return new ErstError(
    'ERR_OUTPUT_WRITE',
    `${path} line ${line} ${why}; not appending to it: move it aside, or write the batch to another file`,
    { details: { file: path, line } },
  );
}
