import { type FileHandle, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type AuditRecordV2_1,
  DEFAULT_MAX_INPUT_BYTES,
  ErstError,
  type JsonObject,
  bytesToHex,
  hashInputV2_1,
  hexToBytes,
  isErstError,
  parseStrictJson,
  sha256,
  withLogProof,
} from '@erst/core';
import type { LogWriter } from '@erst/log-store';
import { LineSplitter } from '@erst/archive';
import { fsyncDirectory } from '@erst/node-io';
import type { GroupStage, Released, StageContext } from './group-commit.js';
import type { BatchRecord } from './sink.js';
import type { Timestamper } from './timestamper.js';

/** Where a log stage keeps the records it holds: beside the output, `<output>.log-journal`. */
export function journalPath(target: string): string {
  return `${target.replace(/\/+$/, '')}.log-journal`;
}

/** The steps of a log stage, for `onStep`: after each, a crash leaves what docs/batch.md describes. */
export type LogStep = 'journaled' | 'checkpointed' | 'released' | 'closing';

export interface LogStageOptions {
  /** Sign a checkpoint once this many records have been appended since the last one (default: once, at the end). */
  readonly checkpointEvery?: number;
  /** Called after each step; a test kills the process here to check each crash point. */
  readonly onStep?: (step: LogStep) => void;
  /**
   * Timestamps each checkpoint (one TSA request per checkpoint, over SHA-256
   * of its signed note text): every record it releases carries the DER
   * token in its proof's `extra` line. No token, no release: the failure
   * stops the batch and the records wait in the journal for a rerun.
   */
  readonly timestamper?: Timestamper;
}

/** What a log stage did in this run. */
export interface LogStageStats {
  /** Entries appended to the log by this run (journal recovery included). */
  readonly appended: number;
  /** Checkpoints signed by this run: one signature by the log's key each. */
  readonly checkpoints: number;
  /** Checkpoint timestamp tokens had from the TSA by this run (with a `timestamper`). */
  readonly timestamps: number;
  /** Records accepted with a signature of their own: one signature by the key each. */
  readonly recordSignatures: number;
  /** Records of an interrupted run finished from the journal. */
  readonly recovered: number;
  /** The log's size at the last checkpoint. */
  readonly size: number;
}

/** A `GroupStage` that logs records: see `logStage`. */
export interface LogStage extends GroupStage {
  stats(): LogStageStats;
}

/**
 * A record the stage holds until its checkpoint: only where its bytes lie in
 * the journal (they are read back when it is released, so memory does not
 * grow with the records a checkpoint covers, and nothing is copied per
 * record while it waits), or, for a record finished from an interrupted
 * run's journal, the record itself.
 */
type Held = Journaled | { readonly index: number; readonly record: BatchRecord };

interface Journaled {
  /** Its entry's index in the log (set once appended). */
  index: number;
  readonly line: number;
  readonly transactionHash: string;
  readonly traceHash: string;
  /** Where its line starts in the journal, and its length (newline included). */
  readonly at: number;
  readonly length: number;
  /**
   * A compact line a signing thread made, going to an output of compact
   * lines: released as its bytes with `log_proof` put in place of the
   * closing `}` (see `logProofTail`). Otherwise it is parsed when released.
   */
  readonly asBytes: boolean;
}

/** Bytes of records read back from the journal per batch released (a record longer than this is a batch of its own). */
const RELEASE_BYTES = 4 << 20;
/** Pieces per writev or readv call: within every system's IOV_MAX (1024 on Linux). */
const MAX_PIECES = 1024;

const CLOSE_LINE = '}\n';
const V2_1_START = Buffer.from('{"version":"2.1.0",');

/**
 * What replaces the closing `}` and newline of a compact 2.1.0 line with
 * neither late seal to add `log_proof` as its last member, where withLogProof
 * puts it: the line's bytes up to its closing `}`, then these, are the bytes
 * of `JSON.stringify(withLogProof(record, proof))` and a newline.
 * `proofJson` is `JSON.stringify(proof)` (`LogWriter.jsonProver` makes it).
 */
export function logProofTail(proofJson: string): string {
  return `,"log_proof":${proofJson}${CLOSE_LINE}`;
}

/** Whether `line` starts as a compact 2.1.0 record does and ends with its closing `}` and a newline. */
function isCompactV2_1(line: Uint8Array): boolean {
  const n = line.length;
  if (n < V2_1_START.length + 2 || line[n - 2] !== 0x7d || line[n - 1] !== 0x0a) return false;
  return V2_1_START.equals(line.subarray(0, V2_1_START.length));
}

const JOURNAL_HEADER = 'erst-log-journal@v1';

/**
 * A record as the stage keeps it: its bytes (a compact line), and the object
 * made from them only if asked for. A class, as batch-sign's SignedRecord
 * is: an object literal with a getter is defined property by property and
 * each one became a dictionary.
 */
class KeptRecord implements BatchRecord {
  constructor(
    readonly line: number,
    readonly transactionHash: string,
    readonly traceHash: string | undefined,
    readonly encoded: Uint8Array,
  ) {}

  get record(): JsonObject {
    const { encoded } = this;
    return JSON.parse(Buffer.from(encoded.buffer, encoded.byteOffset, encoded.length).toString('utf8'));
  }
}

/**
 * A `GroupStage` that appends each record's `trace_hash` to `log` (a
 * `LogWriter` whose key is the one signing the records), signs a checkpoint
 * every `checkpointEvery` entries (and at the end), and releases each
 * record as 2.1.0 with its `log_proof` only once the checkpoint covering it
 * is durable. Records accepted are first appended to a journal beside the
 * output and fsynced, so that a record is durable before its entry is
 * logged: a rerun after a crash finishes the journal first (entries already
 * in the log take their proof, missing ones are appended) instead of signing
 * those inputs again, which would log them twice (a record's `trace_hash`
 * covers its timestamp). The journal is removed once the output is closed.
 *
 * @throws ErstError `ERR_OPTIONS_INVALID` for a bad `checkpointEvery`;
 * from `open`, `ERR_OUTPUT_WRITE` for a journal that is not this log's or
 * holds a record this key did not make.
 * @example
 * const log = await openSignerLog('log/', signer);
 * await signBatch({ signer, input, output: jsonlSink('out.jsonl'), schema: '2.1.0', stage: logStage(log) });
 */
export function logStage(log: LogWriter, options: LogStageOptions = {}): LogStage {
  const every = options.checkpointEvery ?? Number.POSITIVE_INFINITY;
  if (every !== Number.POSITIVE_INFINITY && !(Number.isSafeInteger(every) && every >= 1)) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`checkpointEvery` must be a whole number of at least 1', {
      details: { options: ['checkpointEvery'] },
    });
  }
  return new JournaledLogStage(log, every, options.onStep ?? (() => {}), options.timestamper);
}

class JournaledLogStage implements LogStage {
  readonly #log: LogWriter;
  readonly #every: number;
  readonly #onStep: (step: LogStep) => void;
  readonly #timestamper: Timestamper | undefined;
  /** The last checkpoint's token: asked once per checkpoint, however many releases it serves. */
  #token: { size: number; token: Uint8Array } | undefined;
  #journal: FileHandle | undefined;
  /** The journal's length: where the next line written to it starts. */
  #journalEnd = 0;
  #path = '';
  #keyHex = '';
  #held: Held[] = [];
  /** Where records are read back to be released: reused (fresh memory costs a page fault per 4 KiB). */
  #releaseBuffer: Buffer | undefined;
  /** Whether the output's layout is the journal's (compact lines): records' bytes then pass through as they are. */
  #lines = false;
  #stats = { appended: 0, checkpoints: 0, timestamps: 0, recordSignatures: 0, recovered: 0 };

  constructor(log: LogWriter, every: number, onStep: (step: LogStep) => void, timestamper: Timestamper | undefined) {
    this.#log = log;
    this.#every = every;
    this.#onStep = onStep;
    this.#timestamper = timestamper;
  }

  stats(): LogStageStats {
    return { ...this.#stats, size: this.#log.signedCheckpoint.size };
  }

  async open(context: StageContext): Promise<readonly BatchRecord[]> {
    this.#path = journalPath(context.target);
    this.#lines = (context.recordLayout ?? 'line') === 'line';
    this.#keyHex = bytesToHex((await context.signer.publicKey()).raw);
    const left = await this.#io(() => this.#readJournal());
    await this.#io(async () => {
      // Read too: records are read back from it when their checkpoint releases them.
      this.#journal = await open(this.#path, 'a+', 0o600);
      if (left === undefined) {
        await this.#write([Buffer.from(`${JSON.stringify({ journal: JOURNAL_HEADER, origin: this.#log.origin })}\n`)]);
        fsyncDirectory(dirname(this.#path));
      }
    });
    if (!left || left.length === 0) return [];
    // Entries a killed run appended are found by their trace_hash; the rest are appended now.
    const logged = new Map<string, number>();
    for (let i = 0; i < this.#log.size; i++) logged.set(bytesToHex(this.#log.entry(i)), i);
    for (const record of left) {
      const hash = record.record.trace_hash as string;
      const index = logged.get(hash) ?? this.#append(hash);
      logged.set(hash, index);
      this.#held.push({ index, record });
    }
    this.#stats.recovered = left.length;
    // Records finished from the journal are objects: nothing of them is in the release buffer.
    const released = await this.#release();
    if (Array.isArray(released)) return released;
    const out: BatchRecord[] = [];
    for await (const batch of released as AsyncIterable<readonly BatchRecord[]>) out.push(...batch);
    return out;
  }

  async accept(group: readonly BatchRecord[]): Promise<Released> {
    if (group.length === 0) return [];
    const lines: Uint8Array[] = [];
    const journaled: Journaled[] = [];
    let at = this.#journalEnd;
    for (const r of group) {
      // A thread's compact line is journaled as it is (no copy: the write is done before its buffer is reused).
      const asBytes = r.encoded !== undefined && this.#lines && r.traceHash !== undefined;
      // Any other record is serialized for the journal, each line on its own (one line past Latin-1 would
      // make a joined string two-byte, 3 to 4 times as slow to encode).
      const object = asBytes ? undefined : r.record;
      const line = asBytes ? r.encoded! : Buffer.from(`${JSON.stringify(object)}\n`, 'utf8');
      // A thread's record says its trace_hash and signature beside its bytes: it is not parsed again here.
      const signed = asBytes ? this.#signed(line, r.traceHash!) : typeof object!.signature === 'string';
      if (signed) this.#stats.recordSignatures++;
      const traceHash = r.traceHash ?? (object!.trace_hash as string);
      const { line: n, transactionHash } = r;
      journaled.push({ index: -1, line: n, transactionHash, traceHash, at, length: line.length, asBytes });
      lines.push(line);
      at += line.length;
    }
    // Durable before logged: an entry in the log whose record was lost would be an input logged twice on rerun.
    await this.#io(() => this.#write(lines));
    this.#onStep('journaled');
    let out: Released = [];
    for (const j of journaled) {
      j.index = this.#append(j.traceHash);
      this.#held.push(j);
      if (this.#held.length >= this.#every) out = concatReleased(out, await this.#release());
    }
    return out;
  }

  /**
   * Whether a thread's compact 2.x line carries a signature of its own:
   * generateWithSigner writes `signature` last, right after `trace_hash`, so
   * an unsigned one ends with its trace_hash member (a payload member named
   * `signature` is no signature).
   */
  #signed(encoded: Uint8Array, traceHash: string): boolean {
    const end = `"trace_hash":"${traceHash}"${CLOSE_LINE}`;
    const tail = encoded.subarray(encoded.length - end.length);
    return !Buffer.from(tail.buffer, tail.byteOffset, tail.length).equals(Buffer.from(end, 'latin1'));
  }

  async flush(): Promise<Released> {
    return this.#release();
  }

  async close(): Promise<void> {
    this.#onStep('closing');
    await this.#io(async () => {
      await this.#journal?.close();
      this.#journal = undefined;
      // Every record is in the output (closed, so durable) and in the log: the journal has done its job.
      await unlink(this.#path);
      fsyncDirectory(dirname(this.#path));
    });
  }

  async abandon(): Promise<void> {
    await this.#journal?.close();
    this.#journal = undefined;
  }

  #append(traceHash: string): number {
    this.#stats.appended++;
    return this.#log.append(hexToBytes(traceHash)!);
  }

  /**
   * Signs a checkpoint over what is held (if anything is new) and lets those
   * records go with their proofs: read back from the journal batch by batch
   * as they are written, so no more than a batch of them is in memory.
   */
  async #release(): Promise<Released> {
    if (this.#held.length === 0) return [];
    if (this.#log.size > this.#log.signedCheckpoint.size) {
      await this.#log.checkpoint();
      this.#stats.checkpoints++;
      this.#onStep('checkpointed');
    }
    const extra = await this.#checkpointToken();
    const held = this.#held;
    this.#held = [];
    this.#onStep('released');
    // Proofs against this checkpoint, even for records read back after the next one is signed.
    const options = extra ? { extra } : {};
    return this.#readBack(held, this.#log.prover(options), this.#log.jsonProver(options));
  }

  /** The held records with their proofs, in order, in batches of up to RELEASE_BYTES (or one record) read from the journal. */
  async *#readBack(
    held: Held[],
    proof: (index: number) => string,
    proofJson: (index: number) => string,
  ): AsyncGenerator<readonly BatchRecord[]> {
    let i = 0;
    while (i < held.length) {
      const first = held[i]!;
      if (!('at' in first)) {
        const record = withLogProof(first.record.record as unknown as AuditRecordV2_1, proof(first.index));
        const { encoded: _stale, ...rest } = first.record;
        yield [{ ...rest, record: record as unknown as JsonObject }];
        i++;
        continue;
      }
      // A run of journaled records, back to back in the journal: each is read into its place in
      // the buffer, with room after a compact line for its log_proof (put over its closing `}`).
      const batch: { j: Journaled; tail: string | undefined; start: number; size: number }[] = [];
      let size = 0;
      for (let next = first.at; i < held.length && batch.length < MAX_PIECES; i++) {
        const j = held[i]!;
        if (!('at' in j) || j.at !== next || (batch.length > 0 && size + j.length > RELEASE_BYTES)) break;
        const tail = j.asBytes ? logProofTail(proofJson(j.index)) : undefined;
        const room = tail === undefined ? j.length : j.length - CLOSE_LINE.length + Buffer.byteLength(tail);
        batch.push({ j, tail, start: size, size: room });
        size += room;
        next += j.length;
      }
      const buffer = this.#bufferOf(size);
      await this.#io(() =>
        this.#readJournalInto(
          batch.map((b) => buffer.subarray(b.start, b.start + b.j.length)),
          first.at,
        ),
      );
      const records: BatchRecord[] = [];
      for (const { j, tail, start, size: room } of batch) {
        const line = buffer.subarray(start, start + j.length);
        if (tail !== undefined) {
          // A signing thread made the line: a 2.1.0 record with neither late seal (see logProofTail).
          if (!isCompactV2_1(line)) throw this.#bad('changed while the batch ran');
          buffer.write(tail, start + j.length - CLOSE_LINE.length, 'utf8');
          const encoded = buffer.subarray(start, start + room);
          records.push(new KeptRecord(j.line, j.transactionHash, j.traceHash, encoded));
          continue;
        }
        let record: JsonObject;
        try {
          record = JSON.parse(line.toString('utf8')) as JsonObject;
        } catch {
          throw this.#bad('changed while the batch ran');
        }
        records.push({
          line: j.line,
          transactionHash: j.transactionHash,
          record: withLogProof(record as unknown as AuditRecordV2_1, proof(j.index)) as unknown as JsonObject,
        });
      }
      yield records;
    }
  }

  /** A buffer of at least `size` bytes: the same one each time (the last batch is written before the next is read). */
  #bufferOf(size: number): Buffer {
    if (!this.#releaseBuffer || this.#releaseBuffer.length < size) {
      this.#releaseBuffer = Buffer.allocUnsafe(Math.max(size, RELEASE_BYTES + RELEASE_BYTES / 4));
    }
    return this.#releaseBuffer;
  }

  /** Fills `pieces`, in order, from the journal's bytes at `position`. */
  async #readJournalInto(pieces: Uint8Array[], position: number): Promise<void> {
    let rest = pieces;
    let at = position;
    while (rest.length > 0) {
      let read = (await this.#journal!.readv(rest, at)).bytesRead;
      if (read === 0) throw this.#bad('is shorter than what was written to it');
      at += read;
      // A short read: go on from the first byte not read.
      let i = 0;
      while (i < rest.length && read >= rest[i]!.length) read -= rest[i++]!.length;
      rest = rest.slice(i);
      if (read > 0) rest[0] = rest[0]!.subarray(read);
    }
  }

  /** The TSA's token over the last checkpoint's note text (none without a timestamper). */
  async #checkpointToken(): Promise<Uint8Array | undefined> {
    if (!this.#timestamper) return undefined;
    const checkpoint = this.#log.signedCheckpoint;
    if (this.#token?.size !== checkpoint.size) {
      this.#token = { size: checkpoint.size, token: await this.#timestamper.checkpointToken(checkpoint.text) };
      this.#stats.timestamps++;
    }
    return this.#token.token;
  }

  /** Appends these pieces, in order, to the journal, and makes them durable. */
  async #write(pieces: readonly Uint8Array[]): Promise<void> {
    let rest = pieces.filter((p) => p.length > 0);
    while (rest.length > 0) {
      const batch = rest.slice(0, MAX_PIECES);
      let written = (await this.#journal!.writev(batch)).bytesWritten;
      this.#journalEnd += written;
      // A short write (rare for a file): go on from the first byte not written.
      let i = 0;
      while (i < batch.length && written >= batch[i]!.length) written -= batch[i++]!.length;
      rest = rest.slice(i);
      if (written > 0) rest[0] = rest[0]!.subarray(written);
    }
    await this.#journal!.datasync();
  }

  /**
   * The records a killed run journaled (undefined: no journal). Each must be
   * a 2.1.0 record by this key whose `trace_hash` is its hash input's, since
   * it is logged before anything else checks it; a torn last line is dropped
   * (its group was never logged).
   */
  async #readJournal(): Promise<BatchRecord[] | undefined> {
    try {
      if (!(await stat(this.#path)).isFile()) throw this.#bad('is not a regular file');
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return undefined;
      throw e;
    }
    const text = await readFile(this.#path);
    const records: BatchRecord[] = [];
    const splitter = new LineSplitter(DEFAULT_MAX_INPUT_BYTES);
    let complete = 0;
    for (const l of splitter.push(text)) {
      if ('tooLong' in l) throw this.#bad(`line ${l.line} is too long to be a record`);
      if (l.line === 1) {
        this.#checkHeader(l.bytes);
        complete++;
        continue;
      }
      records.push(this.#journaled(l.bytes, l.line));
      complete++;
    }
    if (complete === 0) throw this.#bad('has no header line');
    // A torn tail is cut off before anything is appended after it.
    const end = text.lastIndexOf(0x0a) + 1;
    this.#journalEnd = end;
    if (end < text.length) {
      const handle = await open(this.#path, 'r+');
      try {
        await handle.truncate(end);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    return records;
  }

  #checkHeader(bytes: Uint8Array): void {
    let header: JsonObject;
    try {
      header = parseStrictJson(bytes) as JsonObject;
    } catch {
      throw this.#bad('does not start with a journal header');
    }
    if (header?.journal !== JOURNAL_HEADER) throw this.#bad('does not start with a journal header');
    if (header.origin !== this.#log.origin) {
      throw this.#bad(`belongs to another log (origin ${JSON.stringify(header.origin)}); finish that batch first`);
    }
  }

  #journaled(bytes: Uint8Array, line: number): BatchRecord {
    let record: JsonObject;
    try {
      record = parseStrictJson(bytes) as JsonObject;
    } catch {
      throw this.#bad(`line ${line} is not JSON`);
    }
    const hash = record?.trace_hash;
    const ok =
      record?.version === '2.1.0' &&
      record.public_key === this.#keyHex &&
      typeof record.transaction_hash === 'string' &&
      typeof hash === 'string' &&
      bytesToHex(sha256(hashInputV2_1(record))) === hash;
    if (!ok) throw this.#bad(`line ${line} is not a 2.1.0 record made by this key`);
    return { line: 0, transactionHash: record.transaction_hash as string, record };
  }

  /** A file system failure on the journal as an output failure naming it (coded errors pass through). */
  async #io<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isErstError(e)) throw e;
      const code = (e as { code?: string }).code ?? 'error';
      throw new ErstError('ERR_OUTPUT_WRITE', `cannot write the log journal ${this.#path} (${code})`, {
        cause: e,
        details: { file: this.#path },
      });
    }
  }

  #bad(why: string): ErstError {
    return new ErstError(
      'ERR_OUTPUT_WRITE',
      `the log journal ${this.#path} ${why}; not logging anything: move it aside only if that batch is abandoned`,
      { details: { file: this.#path } },
    );
  }
}

/** What was released before, then `more`: batches in order. */
function concatReleased(before: Released, more: Released): Released {
  if (Array.isArray(before) && before.length === 0) return more;
  return (async function* () {
    for (const part of [before, more]) {
      if (Array.isArray(part)) yield part;
      else yield* part as AsyncIterable<readonly BatchRecord[]>;
    }
  })();
}
