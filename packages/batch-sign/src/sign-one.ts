import {
  type AuditRecord,
  type AuditRecordV2_1,
  ErstError,
  type SignInput,
  type Signer,
  type WritableSchema,
  generateWithSigner,
  isErstError,
} from '@erst/core';
import { openSignerLog, signRecordToLog } from './signer-log.js';
import type { Timestamper } from './timestamper.js';

export interface SignOneOptions {
  /** The record format; with `log` or `timestamper` it must be '2.1.0' (the only format with those fields). */
  readonly schema: WritableSchema;
  /**
   * A log directory (made by `initSignerLog`) to append the record to: the
   * record is 2.1.0 with its `log_proof`, under a checkpoint `signer` signs.
   */
  readonly log?: string;
  /** With `log`: false leaves out the record's own signature (the checkpoint seals it). Default true. */
  readonly recordSignature?: boolean;
  /** Timestamps the record (without `log`) or the checkpoint (with `log`, the token in the proof's extra line). */
  readonly timestamper?: Timestamper;
}

export interface SignedOne {
  readonly record: AuditRecord;
  /** With `log`: the log's origin and the index of the record's entry. */
  readonly logged?: { readonly origin: string; readonly index: number };
}

/**
 * Signs one payload into a record: `generateWithSigner` then, with a
 * `timestamper`, a token over the finished record's `trace_hash` (the
 * record is handed back only once the token is had and checked); or, with
 * `log`, `signRecordToLog` under the log's lock (opened and closed here).
 *
 * @throws ErstError `ERR_OPTIONS_INVALID` naming `schema` when it is not
 * 2.1.0 with `log` or `timestamper`, or `recordSignature` false without
 * `log`; the codes of `generateWithSigner`,
 * `openSignerLog`, `signRecordToLog` and the timestamper. Anything else a
 * signer throws (a driver's own error) becomes `ERR_SIGNER_FAILED`, with it
 * as the cause.
 * @example
 * const { record } = await signOne(signer, { transactionHash, payload }, { schema: '2.0.0' });
 */
export async function signOne(signer: Signer, input: SignInput, options: SignOneOptions): Promise<SignedOne> {
  const { schema, log, timestamper } = options;
  if ((log !== undefined || timestamper !== undefined) && schema !== '2.1.0') {
    throw new ErstError('ERR_OPTIONS_INVALID', `\`schema\` must be 2.1.0 with a log or a timestamper, not ${schema}`, {
      details: { options: ['schema'] },
    });
  }
  // Without a log nothing would seal a record without its own signature: it would verify as nothing.
  if (log === undefined && options.recordSignature === false) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`recordSignature` false needs a `log`', {
      details: { options: ['recordSignature', 'log'] },
    });
  }
  try {
    if (log === undefined) {
      const made = await generateWithSigner(signer, input, { schema });
      // The token is over the finished record's trace_hash: the record is not handed back until it is had.
      return { record: timestamper ? await timestamper.stampRecord(made as AuditRecordV2_1) : made };
    }
    const writer = await openSignerLog(log, signer);
    try {
      const opts = { recordSignature: options.recordSignature ?? true, timestamper };
      const record = await signRecordToLog(writer, signer, input, opts);
      return { record, logged: { origin: writer.origin, index: writer.size - 1 } };
    } finally {
      await writer.close();
    }
  } catch (e) {
    if (isErstError(e)) throw e;
    throw new ErstError('ERR_SIGNER_FAILED', `signing failed: ${(e as Error).message}`, { cause: e });
  }
}
