import { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ErstError, type Signer, type WritableSchema, bytesToHex } from '@erst/core';
import { directorySink } from './directory-sink.js';
import type { BatchSource } from './input.js';
import { openBatchInput } from './input.js';
import { jsonlSink } from './jsonl-sink.js';
import type { LogWriter } from '@erst/log-store';
import { type LogStage, type LogStageStats, type LogStep, journalPath, logStage } from './log-stage.js';
import { type BadLine, type BatchProgress, type BatchResult, signBatch, threadSigningOf } from './sign-batch.js';
import { openSignerLog } from './signer-log.js';
import type { Timestamper } from './timestamper.js';

export interface RunSignBatchOptions {
  /**
   * The payload lines: a path (opened before the signer, and only if it is
   * a regular file: a FIFO would block the open, and a signal with it), or a
   * source from `streamBatchInput` (stdin). Closed when the run ends.
   */
  readonly input: string | BatchSource;
  /**
   * Opens the signer, once the input is open (a token is slow to open, and
   * a missing input should not wait for it). Closed when the run ends.
   */
  readonly openSigner: () => Promise<Signer>;
  /** `{ dir }`: `<dir>/<transaction_hash>.json` per record; `{ jsonl }`: one record per line of that file. */
  readonly output: { readonly dir: string } | { readonly jsonl: string };
  readonly schema: WritableSchema;
  /**
   * A log directory (made by `initSignerLog`) the signer keeps: records are
   * 2.1.0 with their `log_proof`, written once a checkpoint covering them is
   * durable (see `logStage`); they wait in `journalPath(output)` until then.
   */
  readonly log?: string;
  /** With `log`: sign a checkpoint every this many records (default: one per batch). */
  readonly checkpointEvery?: number;
  /** With `log`: called after each step of the log stage (a crash test's hook: `killHookFromEnv`). */
  readonly onLogStep?: (step: LogStep) => void;
  /** With `log`: false leaves out each record's own signature (the checkpoint seals it). Default true. */
  readonly recordSignature?: boolean;
  /** Timestamps each record; with `log`, each checkpoint instead. */
  readonly timestamper?: Timestamper;
  readonly concurrency?: number;
  /**
   * Threads that turn input lines into signed output lines (see
   * `signBatch`'s `threads`), for a software Ed25519 key (a signer with a
   * `keyObject`, such as InMemorySigner or ThreadedSigner) without
   * `timestamper` (or with `log`, which timestamps checkpoints), and for any
   * signer with `log` and `recordSignature` false (the threads then build
   * and hash records; the key signs only checkpoints). Default: one per
   * core but one (the calling thread signs too, in its spare time); 0 signs
   * with the signer itself.
   */
  readonly threads?: number;
  /** Stops reading when aborted (see `signBatch`): the result then says `stopped`. */
  readonly signal?: AbortSignal;
  /** Each bad input line, and each line left without a timestamp token, when it is found. */
  readonly onBadLine?: (bad: BadLine) => void;
  readonly onProgress?: (progress: BatchProgress) => void;
}

/** What `runSignBatch` did, for its summary (`batchSummary`, `logSummary`). */
export interface SignBatchRun {
  readonly result: BatchResult;
  /** The signer's algorithm and public key (hex). */
  readonly algorithm: string;
  readonly key: string;
  /** With `log`: the log's origin and what its stage did. */
  readonly log?: { readonly origin: string; readonly stats: LogStageStats };
}

/**
 * One whole batch as `erst audit sign --batch` runs it: refuses an output
 * whose log journal a run without `log` would sign again, opens the input,
 * then the signer, then (with `log`) the log and its stage; runs
 * `signBatch`; and closes the log, the signer and the input, in that order,
 * whatever happens.
 *
 * @throws ErstError `ERR_OPTIONS_INVALID` naming `log` when the output has a
 * log journal (an interrupted run with a log: rerun it with the same log)
 * but no `log` is given; the codes of `openBatchInput`, `openSignerLog`,
 * `logStage` and `signBatch`; whatever `openSigner` throws.
 * @example
 * const run = await runSignBatch({
 *   input: 'payloads.jsonl', openSigner: async () => signer, output: { jsonl: 'records.jsonl' }, schema: '2.0.0',
 * });
 */
export async function runSignBatch(options: RunSignBatchOptions): Promise<SignBatchRun> {
  const target = 'dir' in options.output ? options.output.dir : options.output.jsonl;
  const journal = journalPath(target);
  // Without the log, the journal's records would be signed again: logged once, but written twice differently.
  if (options.log === undefined && existsSync(journal)) {
    throw new ErstError(
      'ERR_OPTIONS_INVALID',
      `${journal} holds records of an interrupted \`log\` batch: run it again with the same \`log\` to finish them`,
      { details: { options: ['log'], journal } },
    );
  }
  const input = typeof options.input === 'string' ? await openBatchInput(options.input) : options.input;
  let signer: Signer;
  try {
    signer = await options.openSigner();
  } catch (e) {
    await input.close();
    throw e;
  }
  let log: LogWriter | undefined;
  let stage: LogStage | undefined;
  try {
    const key = bytesToHex((await signer.publicKey()).raw);
    log = options.log === undefined ? undefined : await openSignerLog(options.log, signer);
    let result: BatchResult;
    try {
      const { checkpointEvery, onLogStep: onStep, timestamper } = options;
      stage = log && logStage(log, { checkpointEvery, onStep, timestamper });
      const recordSignature = options.recordSignature ?? true;
      // Records timestamped one by one are built on this thread; a log's checkpoint token is the stage's.
      const threads = !stage && timestamper ? undefined : signingThreads(signer, options.threads, recordSignature);
      result = await signBatch({
        signer,
        input,
        output: 'dir' in options.output ? directorySink(options.output.dir) : jsonlSink(options.output.jsonl),
        schema: options.schema,
        recordSignature,
        ...(stage ? { stage } : { timestamper }),
        concurrency: options.concurrency,
        ...(threads ? { threads } : {}),
        signal: options.signal,
        onBadLine: options.onBadLine,
        onUntimestampedLine: options.onBadLine,
        onProgress: options.onProgress,
      });
    } finally {
      await log?.close();
    }
    const logged = log && stage ? { log: { origin: log.origin, stats: stage.stats() } } : {};
    return { result, algorithm: signer.algorithm, key, ...logged };
  } finally {
    await signer.close?.();
    await input.close();
  }
}

/**
 * The key a software signer's threads may sign with: only an Ed25519
 * KeyObject (InMemorySigner's, ThreadedSigner's) of a signer without an
 * attestation; anything else (a token) signs through the signer. Records
 * without a signature of their own (a log seals them) need no key: threads
 * build and hash them for any signer.
 */
function signingThreads(
  signer: Signer,
  count: number | undefined,
  recordSignature: boolean,
): { count: number; key?: KeyObject } | undefined {
  const n = count ?? Math.max(1, availableParallelism() - 1);
  if (n < 1) return undefined;
  if (!recordSignature) return { count: Math.min(n, 64) };
  // A token's signer signs on the threads itself (an Ed25519 key; any other signs line by line).
  if (threadSigningOf(signer)) return { count: Math.min(n, 64) };
  if (signer.attestation !== undefined) return undefined;
  const key = (signer as { keyObject?: unknown }).keyObject;
  if (!(key instanceof KeyObject) || key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') return undefined;
  return { count: Math.min(n, 64), key };
}
