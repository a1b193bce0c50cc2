import { join } from 'node:path';
import {
  type AuditRecordV2_1,
  ErstError,
  type SignInput,
  type Signer,
  generateWithSigner,
  hexToBytes,
  isErstError,
  withLogProof,
} from '@erst/core';
import { type LogWriter, initLog, openLog } from '@erst/log-store';
import { readInputFile } from '@erst/node-io';
import { MAX_NOTE_BYTES, type MessageSigner, noteSignerFromSigner, parseCheckpoint, parseNote } from '@erst/tlog';
import type { Timestamper } from './timestamper.js';

/** How long a second writer waits for a log's lock before ERR_LOG_LOCKED. */
export interface SignerLogOptions {
  readonly lockTimeoutMs?: number;
}

/**
 * Creates a log in `dir` whose checkpoints `signer` signs under the key
 * name `origin`, with a signed checkpoint of size 0, and returns its writer
 * (`created: true`). A directory that already holds a log is accepted only
 * when it is this log, that is, its checkpoint verifies under this key and
 * origin (`created: false`); any other log is ERR_LOG_EXISTS.
 *
 * @throws ErstError `ERR_OPTIONS_INVALID` for a bad `origin` (named in
 * `details.options`), `ERR_LOG_EXISTS`, `ERR_LOG_LOCKED`,
 * `ERR_NOTE_SIGNER_UNSUPPORTED` for an Ed25519 signer without `signMessage`.
 * @example
 * const { log } = await initSignerLog('log/', signer, { origin: 'audit.example.com/log' });
 * await log.close();
 */
export async function initSignerLog(
  dir: string,
  signer: MessageSigner,
  options: SignerLogOptions & { readonly origin: string },
): Promise<{ log: LogWriter; created: boolean }> {
  const noteSigner = await noteSignerFromSigner(options.origin, signer);
  const opts = { origin: options.origin, signer: noteSigner, lockTimeoutMs: options.lockTimeoutMs };
  try {
    return { log: await initLog(dir, opts), created: true };
  } catch (exists) {
    if (!isErstError(exists, 'ERR_LOG_EXISTS')) throw exists;
    try {
      return { log: await openLog(dir, opts), created: false };
    } catch (e) {
      if (isErstError(e, 'ERR_LOG_LOCKED')) throw e;
      // Another key's or origin's log, or a damaged one: it is not ours to take over.
      throw exists;
    }
  }
}

/**
 * Opens the log in `dir` for appending with `signer` as its key: the origin
 * is the one its checkpoint names, and the checkpoint must verify under
 * `signer`'s key (a log made with another key is refused: ERR_NOTE_UNVERIFIED).
 *
 * @throws ErstError `ERR_FILE_NOT_FOUND` (no checkpoint: not a log),
 * `ERR_CHECKPOINT_MALFORMED` and the other parse codes of `@erst/tlog`,
 * `ERR_NOTE_UNVERIFIED`, `ERR_TLOG_ROOT_MISMATCH`, `ERR_LOG_LOCKED`,
 * `ERR_NOTE_SIGNER_UNSUPPORTED`.
 * @example
 * const log = await openSignerLog('log/', signer);
 */
export async function openSignerLog(
  dir: string,
  signer: MessageSigner,
  options: SignerLogOptions = {},
): Promise<LogWriter> {
  const origin = logOrigin(dir);
  const noteSigner = await noteSignerFromSigner(origin, signer);
  return openLog(dir, { origin, signer: noteSigner, lockTimeoutMs: options.lockTimeoutMs });
}

/** The origin a log's checkpoint names (its signature is checked by `openLog`, with the key). */
function logOrigin(dir: string): string {
  let data: Buffer;
  try {
    data = readInputFile(join(dir, 'checkpoint'), MAX_NOTE_BYTES);
  } catch (e) {
    if (isErstError(e, 'ERR_FILE_NOT_FOUND')) {
      throw new ErstError('ERR_FILE_NOT_FOUND', `${dir} holds no log (no checkpoint)`, { details: { dir } });
    }
    throw e;
  }
  return parseCheckpoint(parseNote(data).text).origin;
}

/**
 * Signs one record into the log: builds it as 2.1.0 (with its own
 * signature unless `recordSignature` is false), appends its `trace_hash`,
 * signs a checkpoint, and returns the record with its `log_proof`. With a
 * `timestamper`, the checkpoint is timestamped and the proof's `extra` line
 * carries the DER token (over SHA-256 of the checkpoint's signed note text).
 *
 * @throws ErstError what `generateWithSigner` and `LogWriter.checkpoint`
 * throw; the timestamper's codes (`ERR_TSA_*`, `ERR_TIMESTAMP_*`): the
 * entry is then logged, but no record is returned.
 * @example
 * const record = await signRecordToLog(log, signer, { transactionHash, payload }, { recordSignature: false });
 */
export async function signRecordToLog(
  log: LogWriter,
  signer: Signer,
  input: SignInput,
  options: { readonly recordSignature?: boolean; readonly timestamper?: Timestamper } = {},
): Promise<AuditRecordV2_1> {
  const record = await generateWithSigner(signer, input, {
    schema: '2.1.0',
    recordSignature: options.recordSignature ?? true,
  });
  const index = log.append(hexToBytes(record.trace_hash)!);
  const checkpoint = await log.checkpoint();
  const extra = await options.timestamper?.checkpointToken(checkpoint.text);
  return withLogProof(record, log.proof(index, extra ? { extra } : {}));
}
