import { ErstError, base64ToBytes, bytesToBase64, bytesToHex, equalBytes, isErstError } from '@erst/core';
import { type LogContents, readLog, verifyLogConsistency } from '@erst/log-store';
import { type NoteVerifier, openCheckpoint, parseVerifierKey } from '@erst/tlog';
import type { ChunkLog } from './protocol.js';
import type { LogSummary, ReportBuilder } from './report.js';
import type { StateLog } from './state.js';

/** A checkpoint a record's proof leads to, compared with the log once. */
interface NoteVerdict {
  /** Signed by the log's key for its origin: the proof is a claim about this log. */
  ours: boolean;
  size: number;
  /** Its root is the log's root at its size. */
  consistent: boolean;
}

/** A chunk's records as the worker saw them, held until the log is read. */
interface Observation {
  sources: readonly string[];
  inputs: readonly number[];
  chunk: ChunkLog;
}

/**
 * A run's check of one verifiable log: read and verified in full once, then
 * completeness both ways as the workers' results arrive (each record a Map
 * lookup and a 32-byte compare), and per distinct checkpoint one signature
 * check and one root comparison.
 *
 * The log is read while the archive is: the verifier threads do not need it
 * (each record's proof is checked on its own, against its signed checkpoint),
 * only this check does. Results that arrive before the log is read wait here
 * (a few strings per record), and are looked up once it is. Reading starts at
 * `begin` (or the first `ready`), so that a run can first get its verifier
 * threads going: on the reading thread, the log's hashing held back the
 * archive's first chunk (measured: threads started 0.4 s later on a 50,000
 * entry log, both cores mostly idle meanwhile).
 */
export class LogCheck {
  readonly source: string;
  readonly #verifiers: NoteVerifier[];
  #log: LogContents | undefined;
  #failure: ErstError | undefined;
  /** Settles (never rejects) once the log is read and verified, or has failed; set by `begin`. */
  #read: Promise<void> | undefined;
  #waiting: Observation[] | undefined = [];
  /** Entry index by hex, built on first need: only a record without a verified proof is looked up by its hash. */
  #byHash: Map<string, number> | undefined;
  #seen = new Uint8Array(0);
  readonly #notes = new Map<string, NoteVerdict>();
  readonly #notInLog: { source: string; input: number; why: string }[] = [];
  #inLog = 0;

  private constructor(source: string, verifiers: NoteVerifier[]) {
    this.source = source;
    this.#verifiers = verifiers;
  }

  /** Starts reading and verifying the log, once (later calls do nothing). */
  begin(): void {
    if (this.#read) return;
    const verifiers = this.#verifiers;
    this.#read = readLog(this.source, { verifiers }).then(
      (log) => this.#loaded(log, undefined),
      (e: unknown) => {
        // Anything but an ErstError is a bug: it fails the run where `ready` is awaited.
        if (!isErstError(e)) throw e;
        this.#loaded(undefined, e);
      },
    );
    // Awaited by `ready`; a run that fails before then must not also leave an unhandled rejection behind.
    this.#read.catch(() => {});
  }

  /**
   * A check of the log (`readLog` of `@erst/log-store`), read from `begin`
   * or the first `ready` on; `ready` settles once that is done. A log that
   * fails is a finding, not an exception: the run goes on and reports it. Throws ERR_OPTIONS_INVALID
   * naming `logKeys` when no key, or a bad one, is given (at once, before
   * anything is read).
   */
  static start(source: string, logKeys: readonly string[]): LogCheck {
    const verifiers = logKeys.map((k, i) => {
      try {
        return parseVerifierKey(k);
      } catch (cause) {
        if (!isErstError(cause)) throw cause;
        throw new ErstError(
          'ERR_OPTIONS_INVALID',
          `\`logKeys\` entry ${i + 1} is not a verifier key: ${cause.message}`,
          {
            cause,
            details: { options: ['logKeys'] },
          },
        );
      }
    });
    if (verifiers.length === 0) {
      throw new ErstError('ERR_OPTIONS_INVALID', '`log` needs `logKeys`: the verifier key of the log', {
        details: { options: ['log', 'logKeys'] },
      });
    }
    return new LogCheck(source, verifiers);
  }

  /** `start`, then `ready`. */
  static async open(source: string, logKeys: readonly string[]): Promise<LogCheck> {
    const check = LogCheck.start(source, logKeys);
    await check.ready();
    return check;
  }

  /** Resolves once the log is read and verified (or found failing); rejects only on a bug. Begins reading if need be. */
  ready(): Promise<void> {
    this.begin();
    return this.#read!;
  }

  #loaded(log: LogContents | undefined, failure: ErstError | undefined): void {
    this.#log = log;
    this.#failure = failure;
    this.#seen = new Uint8Array(log?.entries.length ?? 0);
    const waiting = this.#waiting!;
    this.#waiting = undefined;
    for (const o of waiting) this.observe(o.sources, o.inputs, o.chunk);
  }

  /** The checkpoint a state file records for the next run (none when the log failed). */
  get stateLog(): StateLog | undefined {
    const c = this.#log?.checkpoint;
    return c ? { origin: c.origin, size: c.size, root: bytesToBase64(c.root) } : undefined;
  }

  /** A chunk's records, as the worker saw them (kept until the log is read, when it is not yet). */
  observe(sources: readonly string[], inputs: readonly number[], chunk: ChunkLog): void {
    if (this.#waiting) {
      this.#waiting.push({ sources, inputs, chunk });
      return;
    }
    const log = this.#log;
    if (!log) return;
    const verdicts = chunk.notes.map((n) => this.#verdict(n));
    for (let i = 0; i < sources.length; i++) {
      const trace = chunk.trace[i]!;
      const note = chunk.note[i]!;
      if (note < 0) {
        // No verified proof: the record still accounts for its entry, if the log has it.
        const at = trace === '' ? undefined : this.#indexOf(trace);
        if (at !== undefined) this.#mark(at);
        continue;
      }
      const index = chunk.proof[i]!;
      const verdict = verdicts[note]!;
      if (!verdict.ours) {
        this.#notInLog.push({ source: sources[i]!, input: inputs[i]!, why: "its proof's checkpoint is another log's" });
      } else if (index >= log.entries.length || !isHexOf(trace, log.entries[index]!)) {
        this.#notInLog.push({
          source: sources[i]!,
          input: inputs[i]!,
          why:
            index >= log.entries.length
              ? `its proof names index ${index}, past the log's ${log.entries.length} entries`
              : `its proof names index ${index}, where the log holds another entry`,
        });
      } else {
        this.#mark(index);
      }
    }
  }

  /** The first index of the entry whose hex is `trace`, if the log holds it. */
  #indexOf(trace: string): number | undefined {
    if (!this.#byHash) {
      this.#byHash = new Map();
      this.#log?.entries.forEach((e, i) => {
        const hex = bytesToHex(e);
        if (!this.#byHash!.has(hex)) this.#byHash!.set(hex, i);
      });
    }
    return this.#byHash.get(trace);
  }

  #mark(index: number): void {
    if (this.#seen[index]) return;
    this.#seen[index] = 1;
    this.#inLog++;
  }

  #verdict(note: string): NoteVerdict {
    let v = this.#notes.get(note);
    if (v) return v;
    const log = this.#log!;
    try {
      const c = openCheckpoint(note, this.#verifiers, { origin: log.checkpoint.origin });
      // A checkpoint larger than the log: the log lost entries it once had.
      const consistent = c.size <= log.checkpoint.size && equalBytes(log.tree.root(c.size), c.root);
      v = { ours: true, size: c.size, consistent };
    } catch (e) {
      if (!isErstError(e)) throw e;
      v = { ours: false, size: 0, consistent: true };
    }
    this.#notes.set(note, v);
    return v;
  }

  /**
   * Turns what was seen into failures and the report's `log` section.
   * `previous`: the checkpoint the last run's state recorded; the log must
   * have grown from it (ERR_TLOG_CONSISTENCY_INVALID when it was rewritten
   * or rolled back). Only once `ready` has resolved.
   */
  finish(builder: ReportBuilder, previous: StateLog | undefined): LogSummary {
    if (this.#waiting) throw new Error('LogCheck.finish before the log was read');
    const log = this.#log;
    const summary: LogSummary = {
      source: this.source,
      status: 'verified',
      origin: log?.checkpoint.origin ?? null,
      size: log?.checkpoint.size ?? null,
      root: log ? bytesToBase64(log.checkpoint.root) : null,
      records_in_log: this.#inLog,
      missing: [],
      not_in_log: [],
      checkpoints: this.#notes.size,
      inconsistent_checkpoints: [],
      previous: previous ? { size: previous.size, root: previous.root } : null,
      consistent: null,
    };
    if (!log) {
      const e = this.#failure!;
      summary.status = e.category === 'input' ? 'unreadable' : 'failed';
      builder.logFailure(
        this.source,
        e.code,
        `the log cannot be ${summary.status === 'unreadable' ? 'read' : 'verified'}: ${e.message}`,
      );
      return summary;
    }
    if (previous) summary.consistent = this.#checkPrevious(builder, previous);
    for (const [, v] of this.#notes) {
      if (v.ours && !v.consistent) summary.inconsistent_checkpoints.push(v.size);
    }
    summary.inconsistent_checkpoints.sort((a, b) => a - b);
    for (const size of summary.inconsistent_checkpoints) {
      builder.logFailure(
        `${this.source} checkpoint ${size}`,
        'ERR_LOG_CHECKPOINT_MISMATCH',
        `records carry a checkpoint of size ${size} signed by the log's key whose root is not the log's root at that size: the log's history was rewritten`,
      );
    }
    for (const r of this.#notInLog) {
      summary.not_in_log.push(r.source);
      builder.logFailure(r.source, 'ERR_LOG_RECORD_NOT_IN_LOG', `the record is not in the log: ${r.why}`, r.input);
    }
    summary.not_in_log.sort();
    for (let i = 0; i < this.#seen.length; i++) {
      if (this.#seen[i]) continue;
      summary.missing.push(i);
      builder.logFailure(
        `${this.source} entry ${i}`,
        'ERR_LOG_ENTRY_MISSING',
        `log entry ${i} (trace_hash ${bytesToHex(log.entries[i]!)}) has no record in the archive`,
      );
    }
    const failed =
      summary.consistent === false ||
      summary.inconsistent_checkpoints.length > 0 ||
      summary.not_in_log.length > 0 ||
      summary.missing.length > 0;
    if (failed) summary.status = 'failed';
    return summary;
  }

  #checkPrevious(builder: ReportBuilder, previous: StateLog): boolean {
    try {
      verifyLogConsistency(
        { origin: previous.origin, size: previous.size, root: base64ToBytes(previous.root)!, extensions: [] },
        this.#log!,
      );
      return true;
    } catch (e) {
      if (!isErstError(e)) throw e;
      builder.logFailure(
        this.source,
        e.code,
        `the log is not the one the previous run saw grown: ${e.message} (the state recorded size ${previous.size}, root ${previous.root})`,
      );
      return false;
    }
  }
}

const HEX_DIGITS = '0123456789abcdef';

/** Whether `hex` is the lowercase hex of `bytes` (a record's trace against an entry, per record: no string made). */
function isHexOf(hex: string, bytes: Uint8Array): boolean {
  if (hex.length !== bytes.length * 2) return false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (
      hex.charCodeAt(2 * i) !== HEX_DIGITS.charCodeAt(b >> 4) ||
      hex.charCodeAt(2 * i + 1) !== HEX_DIGITS.charCodeAt(b & 15)
    )
      return false;
  }
  return true;
}
