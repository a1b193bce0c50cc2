import {
  type AuditRecordV2_1,
  DEFAULT_MAX_INPUT_BYTES,
  ErstError,
  type JsonObject,
  type SignInput,
  type Signer,
  type ThreadSigning,
  type WritableSchema,
  errorCategory,
  generateWithSigner,
  isErstError,
} from '@erst/core';
import { type KeyObject, createPublicKey } from 'node:crypto';
import type { Line } from '@erst/archive';
import { Verifier } from '@erst/verify';
import { type GroupStage, GroupCommitter } from './group-commit.js';
import { type BatchSource, LineError, lineDocument, openBatchInput, readLines, sourceSize } from './input.js';
import { inputBlocks } from './input-blocks.js';
import { Limiter } from './limiter.js';
import { BYTES_PER_MESSAGE, LINES_PER_MESSAGE, LineThreads } from './line-threads.js';
import {
  BAD,
  BAD_WITH_TX,
  type BlockResult,
  COLUMNS,
  IN_END,
  IN_START,
  OUT_END,
  REL_LINE,
  SIGNED,
  TOO_LONG,
} from './thread-protocol.js';
import type { BatchRecord, RecordSink } from './sink.js';
import { type Timestamper, isTimestampFailure } from './timestamper.js';

/** Records in flight at once unless `concurrency` says otherwise. */
export const DEFAULT_CONCURRENCY = 32;
/** The most records in flight that `concurrency` accepts. */
export const MAX_CONCURRENCY = 1024;

/** An input line that was reported and skipped; the other lines are still signed. */
export interface BadLine {
  /** 1-based line of the input. */
  readonly line: number;
  readonly code: string;
  /** Quotes the input (a field name, a path): escape it before printing it to a terminal. */
  readonly message: string;
}

/** How far a batch has got, in input lines. */
export interface BatchCounts {
  /** Lines read (blank lines are not counted). */
  readonly lines: number;
  /** Records written and committed by this run. */
  readonly signed: number;
  /** Transactions an earlier run already signed into the output (or left with the stage, finished by this run). */
  readonly skipped: number;
  /** Lines reported as bad (see `BadLine`). */
  readonly bad: number;
  /** Lines signed but not written, because no timestamp token could be had for them: a rerun finishes them. */
  readonly untimestamped: number;
  /** Lines dealt with: signed or on their way to the output, skipped, bad, or left without a token. */
  readonly done: number;
}

/** What `onProgress` receives: the counts so far and the input's line count when it is known. */
export interface BatchProgress extends BatchCounts {
  readonly total: number | undefined;
}

/** The outcome of a batch that ran to its end, or stopped on `signal`. */
export interface BatchResult extends BatchCounts {
  /** Every bad line, in the order they were found. */
  readonly badLines: readonly BadLine[];
  /** Every line left without a timestamp token (its code is the TSA's failure: `ERR_TSA_*`, `ERR_TIMESTAMP_*`). */
  readonly untimestampedLines: readonly BadLine[];
  /** True when `signal` stopped the batch before the end of its input: run it again to resume. */
  readonly stopped: boolean;
  /** Records an interrupted run left with the stage (`GroupStage.open`) that this run wrote to the output. */
  readonly recovered: number;
}

export interface SignBatchOptions {
  /** Signs every record; `signBatch` never closes it. */
  readonly signer: Signer;
  /**
   * Lines of `{"transaction_hash": "<64 hex>", "payload": {...}}`: a path (a
   * regular file), or a source from `openBatchInput` or `streamBatchInput`.
   * `signBatch` closes it when it ends.
   */
  readonly input: string | BatchSource;
  /** Where records go: `directorySink(dir)` or `jsonlSink(path)`. */
  readonly output: RecordSink;
  /** Record format to write: `2.0.0` (default), `2.1.0` (what a log stage seals with proofs) or `1.1.0`. */
  readonly schema?: WritableSchema;
  /**
   * `false` leaves out each record's own signature (schema 2.1.0 with a
   * `stage` only, such as `logStage`, whose checkpoint then seals the
   * records): the key signs once per checkpoint, not once per record. Default true.
   */
  readonly recordSignature?: boolean;
  /** Records in flight at once, 1 to 1024 (default 32). */
  readonly concurrency?: number;
  /** Stops reading when aborted; the records in flight are still signed and written. */
  readonly signal?: AbortSignal;
  /** Called for each bad line, when it is found. */
  readonly onBadLine?: (bad: BadLine) => void;
  /**
   * Asks a TSA for each record's `timestamp_token` (schema 2.1.0; see
   * `tsaTimestamper`). A record whose token cannot be had is reported
   * (`onUntimestampedLine`) and not written: a rerun signs it again.
   */
  readonly timestamper?: Timestamper;
  /** Called for each line left without a timestamp token, when its request has failed. */
  readonly onUntimestampedLine?: (line: BadLine) => void;
  /** Called as lines are dealt with; the input's lines are counted first (a file only) so that `total` is known. */
  readonly onProgress?: (progress: BatchProgress) => void;
  /**
   * Builds each record from its line's document; by default
   * `generateWithSigner(signer, document, { schema })`. A record built here is
   * what resume reads back: it must verify under the signer's key.
   */
  readonly buildRecord?: (document: SignInput) => Promise<JsonObject>;
  /** Holds signed records until a step of its own is done (see `GroupStage`); by default each group is written as signed. */
  readonly stage?: GroupStage;
  /**
   * Signs on threads of the batch's own, each turning input lines into
   * output lines (parse, check, build, canonicalize, hash, sign, serialize),
   * while this thread only reads, orders and writes: `key` is the signer's
   * Ed25519 private key (`InMemorySigner.keyObject`), `count` the threads (1
   * to 64). Records, bad lines, resume and durability are as without it;
   * records in flight are then bounded per thread (four blocks of up to 64
   * lines each), not by `concurrency`. Not with `timestamper` or
   * `buildRecord`, nor with a key and a signer that has an attestation.
   * With `recordSignature` false (a `stage` seals the records) no key is
   * needed: the threads build, canonicalize and hash records for any signer
   * (a token's too, with its attestation), and never sign. Nor is a key
   * needed for a signer that signs on threads itself (`ThreadSigningSigner`,
   * such as an Ed25519 `Pkcs11Signer`): each thread then signs on a token
   * session of its own, and records carry the signer's attestation; for a
   * key it cannot sign on threads (`threadSigning` gives undefined), the
   * lines are signed by the signer, one by one, as without `threads`.
   * Needs the built package (the threads run `dist/sign-worker.js`).
   *
   * `minInputBytes` (default 1 MiB): an input
   * file smaller than this is signed by the same code on this thread, with
   * no thread started (a thread costs tens of milliseconds of CPU to start,
   * more than such a batch takes to sign). A stream always starts them.
   */
  readonly threads?: {
    readonly count: number;
    readonly key?: KeyObject | undefined;
    readonly minInputBytes?: number;
  };
}

/**
 * Signs every payload line of `input` into `output`, many records in flight
 * at once. A rerun over the same output skips what is already signed (and
 * verifies under the key), so an interrupted or crashed batch is resumed by
 * running it again. Bad lines are reported (`onBadLine`) and skipped; the
 * other lines are still signed.
 *
 * @throws ErstError `ERR_OPTIONS_INVALID` for a bad option (named in
 * `details.options`); the input's file codes (`ERR_FILE_NOT_FOUND`, ...);
 * `ERR_OUTPUT_WRITE` for an output that cannot be written or is not this
 * batch's (nothing is signed then); `ERR_SIGNER_FAILED` or the signer's own
 * code when signing fails (the batch stops; run it again to resume). A
 * record whose timestamp token cannot be had (`timestamper`) is not thrown:
 * it is reported in `untimestampedLines`, unwritten, for a rerun to finish.
 * @example
 * const result = await signBatch({ signer, input: 'payloads.jsonl', output: jsonlSink('records.jsonl') });
 */
export async function signBatch(options: SignBatchOptions): Promise<BatchResult> {
  let settings: Settings;
  try {
    settings = checkOptions(options);
  } catch (e) {
    // A source handed in is closed whatever happens, as the options promise.
    if (typeof options?.input === 'object') await options.input?.close();
    throw e;
  }
  const input = typeof options.input === 'string' ? await openBatchInput(options.input) : options.input;
  try {
    const run = new BatchRun(settings, input);
    // The threads load their code while the output is read back.
    await run.startThreads();
    try {
      await run.openOutput();
      let finished = false;
      try {
        await run.recover();
        run.countInput();
        await run.signLines();
        await run.commitHeldGroups();
        finished = true;
      } finally {
        await run.closeOutput(finished);
      }
    } finally {
      await run.stopThreads();
    }
    return run.result();
  } finally {
    await input.close();
  }
}

type Settings = Required<
  Pick<SignBatchOptions, 'signer' | 'output' | 'schema' | 'concurrency' | 'buildRecord' | 'recordSignature'>
> &
  Pick<
    SignBatchOptions,
    'signal' | 'onBadLine' | 'onProgress' | 'stage' | 'timestamper' | 'onUntimestampedLine' | 'threads'
  >;

/** A signer that also signs on other threads of this process (`Pkcs11Signer`): see ThreadSigning. */
export interface ThreadSigningSigner extends Signer {
  /** Signing for `count` threads, or undefined when this key cannot (the signer then signs line by line). */
  threadSigning(count: number): Promise<ThreadSigning | undefined>;
}

/** The signer's `threadSigning`, bound, when it has one. */
export function threadSigningOf(signer: Signer): ThreadSigningSigner['threadSigning'] | undefined {
  const f = (signer as Partial<ThreadSigningSigner>).threadSigning;
  return typeof f === 'function' ? f.bind(signer) : undefined;
}

/** The most signing threads `threads.count` accepts. */
const MAX_THREADS = 64;

/**
 * The default `threads.minInputBytes`: below it, a file is signed on the
 * calling thread. About 300 records of 3 KB, which take some 20 ms to sign
 * on one core: about what starting two threads costs.
 */
const THREADS_MIN_INPUT_BYTES = 1 << 20;

/** Options are checked once, here, so that a bad one fails before anything is opened, not once per line. */
function checkOptions(options: SignBatchOptions): Settings {
  const invalid = (option: string, message: string) =>
    new ErstError('ERR_OPTIONS_INVALID', message, { details: { options: [option] } });
  if (typeof options !== 'object' || options === null) throw new TypeError('signBatch needs an options object');
  for (const name of ['signer', 'input', 'output'] as const) {
    if (options[name] === undefined || options[name] === null) throw invalid(name, `\`${name}\` is required`);
  }
  const schema = options.schema ?? '2.0.0';
  if (schema !== '2.0.0' && schema !== '2.1.0' && schema !== '1.1.0')
    throw invalid('schema', `unknown \`schema\` ${JSON.stringify(schema)}; use 2.0.0, 2.1.0 or 1.1.0`);
  const recordSignature = options.recordSignature ?? true;
  if (typeof recordSignature !== 'boolean') throw invalid('recordSignature', '`recordSignature` must be a boolean');
  // A record without its own signature is sealed by nothing until a stage (a log) gives it a proof.
  if (!recordSignature && (schema !== '2.1.0' || !options.stage))
    throw invalid(
      'recordSignature',
      '`recordSignature` false needs `schema` 2.1.0 and a `stage` (a log) to seal records',
    );
  // Only 2.1.0 has a member for the token outside the hash input.
  if (options.timestamper && schema !== '2.1.0')
    throw invalid('schema', '`timestamper` needs `schema` 2.1.0: only 2.1.0 records carry a timestamp token');
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)
    throw invalid('concurrency', `\`concurrency\` must be a whole number from 1 to ${MAX_CONCURRENCY}`);
  const { threads } = options;
  if (threads !== undefined) {
    if (!Number.isInteger(threads?.count) || threads.count < 1 || threads.count > MAX_THREADS)
      throw invalid('threads', `\`threads.count\` must be a whole number from 1 to ${MAX_THREADS}`);
    // Without a record signature the threads sign nothing: a key is then neither needed nor used.
    // Nor is one with a signer that signs on threads itself (a token's).
    if (
      (threads.key !== undefined || (recordSignature && !threadSigningOf(options.signer))) &&
      (threads.key?.type !== 'private' || threads.key.asymmetricKeyType !== 'ed25519')
    )
      throw invalid('threads', '`threads.key` must be an Ed25519 private KeyObject');
    const min = threads.minInputBytes;
    if (min !== undefined && (!Number.isSafeInteger(min) || min < 0))
      throw invalid('threads', '`threads.minInputBytes` must be a whole number of bytes, 0 or more');
    // Each of these needs the record on this thread, as an object, before it is written.
    for (const name of ['timestamper', 'buildRecord'] as const) {
      if (options[name] !== undefined) throw invalid('threads', `\`threads\` cannot be used with \`${name}\``);
    }
  }
  const { signer } = options;
  return {
    ...options,
    schema,
    concurrency,
    recordSignature,
    buildRecord:
      options.buildRecord ??
      (async (document) =>
        (await generateWithSigner(signer, document, { schema, recordSignature })) as unknown as JsonObject),
  };
}

/**
 * A record a signing thread made: its bytes as written. A class, not an
 * object literal with a getter: such a literal is defined property by
 * property, and each one became a dictionary (some microseconds a record).
 */
class SignedRecord implements BatchRecord {
  constructor(
    readonly line: number,
    readonly transactionHash: string,
    readonly encoded: Uint8Array,
    /** The record's trace_hash, from the thread that made both: a log stage appends it without parsing the record. */
    readonly traceHash: string,
  ) {}

  /** Made only for a sink that asks for the object (the bytes are what the thread signed). */
  get record(): JsonObject {
    return JSON.parse(Buffer.from(this.encoded).toString('utf8')) as JsonObject;
  }
}

/** One batch's state, and the steps of `signBatch` as methods. */
class BatchRun {
  readonly #s: Settings;
  readonly #input: BatchSource;
  readonly #counts = { lines: 0, signed: 0, skipped: 0, bad: 0, untimestamped: 0, done: 0 };
  /** Transactions the stage finished from an earlier run: their input lines count as already signed. */
  readonly #finished = new Set<string>();
  #recovered = 0;
  readonly #badLines: BadLine[] = [];
  readonly #untimestampedLines: BadLine[] = [];
  readonly #firstLine = new Map<string, number>();
  readonly #limiter: Limiter;
  readonly #committer: GroupCommitter;
  #total: number | undefined;
  /** Set once the output closes: a line count that comes in later reports nothing. */
  #closing = false;
  #fatal: unknown;
  #stopped = false;
  #pool: LineThreads | undefined;
  /** The signer's signing on the threads, released once they are stopped. */
  #signing: ThreadSigning | undefined;
  /** The line number before the next block's first line (blocks are handed on in input order). */
  #linesBefore = 0;

  constructor(settings: Settings, input: BatchSource) {
    this.#s = settings;
    this.#input = input;
    this.#limiter = new Limiter(settings.concurrency);
    this.#committer = new GroupCommitter(settings.output, settings.stage, (n) => {
      this.#counts.signed += n;
    });
  }

  /**
   * With `threads`: checks that their key is the signer's, and starts them
   * (they load their code meanwhile; a thread takes tens of milliseconds to start, more on a busy machine).
   */
  async startThreads(): Promise<void> {
    const threads = this.#s.threads;
    if (!threads) return;
    const publicKey = await this.#s.signer.publicKey();
    const attestation = await this.#s.signer.attestation?.();
    if (threads.key) {
      const raw = Buffer.from(createPublicKey(threads.key).export({ format: 'jwk' }).x!, 'base64url');
      if (publicKey.algorithm !== 'ed25519' || !raw.equals(publicKey.raw)) {
        throw new ErstError('ERR_OPTIONS_INVALID', '`threads.key` is not the key of `signer`', {
          details: { options: ['threads'] },
        });
      }
      if (attestation !== undefined) {
        throw new ErstError('ERR_OPTIONS_INVALID', '`threads` cannot sign for a signer with an attestation', {
          details: { options: ['threads'] },
        });
      }
    }
    const layout = this.#s.output.recordLayout ?? 'line';
    const config = {
      key: this.#s.recordSignature ? threads.key : undefined,
      publicKey,
      attestation,
      schema: this.#s.schema,
      recordSignature: this.#s.recordSignature,
      maxLineBytes: DEFAULT_MAX_INPUT_BYTES,
    };
    const size = sourceSize(this.#input);
    const count = size !== undefined && size < (threads.minInputBytes ?? THREADS_MIN_INPUT_BYTES) ? 0 : threads.count;
    if (config.key === undefined && this.#s.recordSignature) {
      // A session per thread and one for this thread, which signs too.
      this.#signing = await threadSigningOf(this.#s.signer)!(count + 1);
      if (!this.#signing) return;
    }
    try {
      this.#pool = new LineThreads(
        count,
        { ...config, layout },
        (block, written) => this.#threadBlock(block, written),
        this.#signing,
      );
    } catch (e) {
      await this.stopThreads();
      throw e;
    }
  }

  /** Stops the threads, then gives the signer back what they signed with. */
  async stopThreads(): Promise<void> {
    try {
      await this.#pool?.close();
    } finally {
      const signing = this.#signing;
      this.#signing = undefined;
      await signing?.release();
    }
  }

  /**
   * Reads back what an earlier run wrote, under the key that signs now,
   * before anything new is signed. The verifier is made only for an output
   * that holds something (making one probes the crypto backend: some
   * milliseconds of every run's start).
   */
  async openOutput(): Promise<void> {
    const publicKey = await this.#s.signer.publicKey();
    let verifier: Verifier | undefined;
    await this.#s.output.open({
      get verifier() {
        verifier ??= new Verifier({ publicKeys: [publicKey] });
        return verifier;
      },
      concurrency: this.#s.concurrency,
    });
  }

  /**
   * Writes what an interrupted run left with the stage (a log's journal), now
   * finished, unless the output already holds it: before any input is read,
   * so that those inputs are skipped, not signed again.
   */
  async recover(): Promise<void> {
    const { target, recordLayout } = this.#s.output;
    const left = (await this.#s.stage?.open?.({ target, signer: this.#s.signer, recordLayout })) ?? [];
    const missing: BatchRecord[] = [];
    for (const r of left) {
      this.#finished.add(r.transactionHash);
      const previous = await this.#s.output.previous(r.transactionHash, r.record.payload as JsonObject);
      if (previous.state === 'conflict') {
        throw new ErstError(
          'ERR_OUTPUT_WRITE',
          `cannot finish the record of ${r.transactionHash}: ${previous.message}`,
          {
            details: { file: this.#s.output.target },
          },
        );
      }
      if (previous.state === 'absent') missing.push(r);
    }
    await this.#committer.persistDirect(missing);
    this.#recovered = missing.length;
  }

  /**
   * Counts the input's lines, only for someone watching progress, while the
   * signing goes on: it reads the file a second time, which ahead of the
   * signing added that whole read to every run's wall time. Until the count is
   * in, progress has no total.
   */
  countInput(): void {
    if (!this.#s.onProgress) return;
    void this.#input.countLines().then((total) => {
      if (this.#closing) return;
      this.#total = total;
      this.#progress();
    });
  }

  /** Reads line by line, keeping up to `concurrency` records in flight; stops early on `signal` or a failure. */
  async signLines(): Promise<void> {
    if (this.#pool) return this.#signLinesOnThreads(this.#pool);
    const stopping = () => {
      if (this.#s.signal?.aborted) this.#stopped = true;
      return this.#stopped || this.#fatal !== undefined;
    };
    for await (const l of readLines(this.#input, stopping)) await this.#handleLine(l);
    await this.#limiter.drain();
  }

  /** Writes what the stage still holds, unless signing failed (a rerun signs those records again). */
  async commitHeldGroups(): Promise<void> {
    if (this.#fatal === undefined) await this.#committer.finish();
  }

  /**
   * Releases the output, also after a failure; an error closing it matters
   * less than the one that stopped the batch. The stage is closed only when
   * everything it released is durable; otherwise it keeps what it holds for a rerun.
   */
  async closeOutput(finished: boolean): Promise<void> {
    this.#closing = true;
    let closed = true;
    await this.#s.output.close().catch((e: unknown) => {
      closed = false;
      this.#fatal ??= e;
    });
    const stage = this.#s.stage;
    if (finished && closed && this.#fatal === undefined) {
      await stage?.close?.().catch((e: unknown) => {
        this.#fatal ??= e;
      });
    } else {
      await stage?.abandon?.().catch(() => {});
    }
  }

  /** The counts, or the failure that stopped the batch (a signer's exception as a coded error). */
  result(): BatchResult {
    const fatal = this.#fatal;
    if (fatal !== undefined) {
      if (isErstError(fatal)) throw fatal;
      throw new ErstError('ERR_SIGNER_FAILED', `signing failed: ${(fatal as Error).message}`, { cause: fatal });
    }
    return {
      ...this.#counts,
      badLines: this.#badLines,
      untimestampedLines: this.#untimestampedLines,
      stopped: this.#stopped,
      recovered: this.#recovered,
    };
  }

  /**
   * The input goes to the threads in blocks of whole lines; what comes back
   * is dealt with in input order, with the same checks in the same order as
   * `#handleLine` and `#signOne` (repeat, then the output, then the thread's verdict).
   */
  async #signLinesOnThreads(pool: LineThreads): Promise<void> {
    const stopping = () => {
      if (this.#s.signal?.aborted) this.#stopped = true;
      return this.#stopped || this.#fatal !== undefined || pool.failure !== undefined;
    };
    const limits = {
      lines: LINES_PER_MESSAGE,
      bytes: BYTES_PER_MESSAGE,
      lineBytes: DEFAULT_MAX_INPUT_BYTES,
      buffer: (bytes: number) => pool.buffer(bytes),
      // A stream (stdin) may pause between lines: what came is signed meanwhile.
      eachChunk: sourceSize(this.#input) === undefined,
    };
    if (!stopping()) {
      for await (const block of untilAborted(inputBlocks(this.#input.chunks, limits), this.#s.signal)) {
        if ('tooLong' in block) pool.tooLong(block.tooLong);
        else await pool.submit(block.data, block.length);
        if (stopping()) break;
      }
      // Stopped while waiting for input, the loop ends without a block to look at.
      stopping();
    }
    await pool.drain();
    this.#fatal ??= pool.failure;
  }

  /** One block's lines from the threads, in input order; its place is freed once all are written. */
  async #threadBlock(block: BlockResult, written: () => void): Promise<void> {
    const base = this.#linesBefore;
    this.#linesBefore += block.lines;
    const { table, kinds, txs, traceHashes, bad } = block;
    const out = new Uint8Array(block.out);
    const records: BatchRecord[] = [];
    let nextTx = 0;
    let nextTrace = 0;
    let nextBad = 0;
    let outStart = 0;
    for (let i = 0; i < kinds.length; i++) {
      const row = i * COLUMNS;
      const line = base + table[row + REL_LINE]! + 1;
      const kind = kinds[i]!;
      const outEnd = table[row + OUT_END]!;
      const encoded = out.subarray(outStart, outEnd);
      outStart = outEnd;
      this.#counts.lines++;
      if (kind === TOO_LONG) {
        this.#tooLong(line, bad[nextBad++]!.size!);
        continue;
      }
      if (kind === BAD) {
        const { code, message } = bad[nextBad++]!;
        this.#bad({ line, code, message });
        continue;
      }
      const tx = txs.slice(nextTx * 64, ++nextTx * 64);
      const refused = kind === BAD_WITH_TX ? bad[nextBad++] : undefined;
      // Counted for every SIGNED entry, written or not (a repeat, a record the output holds).
      const trace = kind === SIGNED ? nextTrace++ * 64 : -1;
      if (!this.#firstTime(line, tx)) continue;
      // Only a transaction the output may hold costs a second parse of its line (a resumed batch).
      if (this.#mayBeSettled(tx)) {
        try {
          const input = () =>
            lineDocument(
              new Uint8Array(block.data, table[row + IN_START], table[row + IN_END]! - table[row + IN_START]!),
            );
          if (await this.#settledByOutput(line, tx, () => input().payload)) continue;
        } catch (e) {
          this.#failed(line, e);
          continue;
        }
      }
      if (refused) {
        this.#bad({ line, code: refused.code, message: refused.message });
        continue;
      }
      records.push(new SignedRecord(line, tx, encoded, traceHashes.slice(trace, trace + 64)));
    }
    if (records.length === 0) {
      written();
      return;
    }
    // The place is freed once the records are written: reading keeps in step with the output.
    const settled = () => {
      for (let i = 0; i < records.length; i++) this.#settled();
      written();
    };
    this.#committer.addAll(records).then(settled, (e: unknown) => {
      this.#fatal ??= e;
      settled();
    });
  }

  #tooLong(line: number, length: number): void {
    this.#bad({
      line,
      code: 'ERR_INPUT_TOO_LARGE',
      message: `line is ${length} bytes, over the limit of ${DEFAULT_MAX_INPUT_BYTES}`,
    });
  }

  async #handleLine(l: Line): Promise<void> {
    this.#counts.lines++;
    if ('tooLong' in l) return this.#tooLong(l.line, l.tooLong);
    let document: SignInput;
    try {
      document = lineDocument(l.bytes);
    } catch (e) {
      if (!(e instanceof LineError)) throw e;
      return this.#bad({ line: l.line, code: e.code, message: e.message });
    }
    if (!this.#firstTime(l.line, document.transactionHash)) return;
    await this.#limiter.run(() => this.#signOne(l.line, document));
  }

  /** False, and a bad line, when `tx` was on an earlier line of this input. */
  #firstTime(line: number, tx: string): boolean {
    const first = this.#firstLine.get(tx);
    if (first !== undefined) {
      this.#bad({ line, code: 'ERR_PAYLOAD_INVALID', message: `transaction_hash ${tx} repeats line ${first}` });
      return false;
    }
    this.#firstLine.set(tx, line);
    return true;
  }

  /** False when `#settledByOutput` would surely say false: spares a wait per line (the output holds nothing of `tx`). */
  #mayBeSettled(tx: string): boolean {
    return this.#finished.has(tx) || this.#s.output.holds?.(tx) !== false;
  }

  /**
   * True when the output already settles `tx`: done by this run or an earlier
   * one (skipped), or holding something else under its name (a bad line).
   * `payload` is asked for only when the output may hold the transaction.
   */
  async #settledByOutput(line: number, tx: string, payload: () => SignInput['payload']): Promise<boolean> {
    const output = this.#s.output;
    const previous = this.#finished.has(tx)
      ? ({ state: 'done' } as const)
      : output.holds?.(tx) === false
        ? ({ state: 'absent' } as const)
        : await output.previous(tx, payload());
    if (previous.state === 'done') {
      this.#counts.skipped++;
      this.#settled();
      return true;
    }
    if (previous.state === 'conflict') {
      this.#bad({ line, code: previous.code, message: previous.message });
      return true;
    }
    return false;
  }

  /** Bad input is a bad line; anything else (the signer, the output) stops the batch: the next lines would fail the same way. */
  #failed(line: number, e: unknown): void {
    if (isErstError(e) && errorCategory(e.code) === 'input') {
      this.#bad({ line, code: e.code, message: e.message });
      return;
    }
    this.#fatal ??= e;
    this.#settled();
  }

  /** Never rejects (the limiter runs it detached): bad input is a bad line, anything else stops the batch. */
  async #signOne(line: number, document: SignInput): Promise<void> {
    try {
      if (await this.#settledByOutput(line, document.transactionHash, () => document.payload)) return;
      let record = await this.#s.buildRecord(document);
      if (this.#s.timestamper) {
        try {
          const stamped = await this.#s.timestamper.stampRecord(record as unknown as AuditRecordV2_1);
          record = stamped as unknown as JsonObject;
        } catch (e) {
          if (!isTimestampFailure(e)) throw e;
          return this.#untimestamped({ line, code: (e as ErstError).code, message: (e as ErstError).message });
        }
      }
      await this.#committer.add({ line, transactionHash: document.transactionHash, record });
      this.#settled();
    } catch (e) {
      this.#failed(line, e);
    }
  }

  #bad(bad: BadLine): void {
    this.#badLines.push(bad);
    this.#counts.bad++;
    this.#s.onBadLine?.(bad);
    this.#settled();
  }

  /** Signed, but never written without the token that was asked for: left for a rerun. */
  #untimestamped(line: BadLine): void {
    this.#untimestampedLines.push(line);
    this.#counts.untimestamped++;
    this.#s.onUntimestampedLine?.(line);
    this.#settled();
  }

  #settled(): void {
    this.#counts.done++;
    this.#progress();
  }

  #progress(): void {
    this.#s.onProgress?.({ ...this.#counts, total: this.#total });
  }
}

/**
 * `items` until `signal` aborts, also while waiting for the next one: input
 * from a pipe may never come, and the threads (a token's sessions with
 * them, which the signer waits for before it closes) stop only once reading does.
 */
async function* untilAborted<T>(items: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  if (!signal) return yield* items;
  const it = items[Symbol.asyncIterator]();
  let onAbort = () => {};
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
  });
  signal.addEventListener('abort', onAbort, { once: true });
  let reading = false;
  try {
    for (;;) {
      if (signal.aborted) return;
      reading = true;
      const next = await Promise.race([it.next(), aborted]);
      if (next === undefined) return;
      reading = false;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    // A read in progress cannot be cancelled: `items` is then abandoned (the input is closed later), not returned.
    if (!reading) await it.return?.();
  }
}
