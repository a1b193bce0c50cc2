import { type SignInput, isErstError, parseSignDocument, parseStrictJson } from '@erst/core';

/** A line that is not a `{transaction_hash, payload}` document: its code and a message for the person who wrote it. */
export class LineError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The {transaction_hash, payload} document of one line, read by core's one
 * parser (a bare payload has no hash to go by in a batch). The hash is
 * checked as 64 hex there, before it becomes a file name.
 */
export function lineDocument(bytes: Uint8Array): SignInput {
  try {
    return parseSignDocument(parseStrictJson(bytes));
  } catch (e) {
    if (!isErstError(e)) throw e;
    if (e.details?.missing === 'transactionHash') {
      throw new LineError(
        e.code,
        'no "transaction_hash": in a batch every line is {"transaction_hash": "<64 hex>", "payload": {...}}',
      );
    }
    throw new LineError(e.code, e.message);
  }
}
