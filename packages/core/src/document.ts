import { ErstError } from './errors.js';
import type { JsonObject, JsonValue } from './json.js';
import type { SignInput } from './sign.js';

/** What the caller knows besides the document: a transaction hash given separately. */
export interface SignDocumentOptions {
  /** 64 lowercase hex; required for a bare payload, and must agree with a wrapped document's. */
  transactionHash?: string;
}

const TX_HASH = /^[0-9a-f]{64}$/;

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string, details: Record<string, unknown>): ErstError {
  return new ErstError('ERR_PAYLOAD_INVALID', message, { details });
}

/**
 * The one reading of a document to sign, for a single payload and for every
 * line of a batch alike. A document is either `{transaction_hash, payload}`
 * (exactly those two members) or a bare payload object with the hash given
 * in `options`. Any object with a `transaction_hash` or `payload` member is
 * read as the first form, and held to it: a wrapper with a typo or an extra
 * member is refused, never signed as if it were the payload itself.
 *
 * Throws ERR_PAYLOAD_INVALID with `details.field` naming the member at fault,
 * or `details.missing: 'transactionHash'` when a bare payload has no hash, or
 * `details.conflict: 'transactionHash'` when the two hashes differ.
 */
export function parseSignDocument(doc: JsonValue, options: SignDocumentOptions = {}): SignInput {
  if (!isObject(doc)) throw invalid('the document to sign must be a JSON object', { field: '$' });
  const wrapped = Object.hasOwn(doc, 'transaction_hash') || Object.hasOwn(doc, 'payload');
  if (!wrapped) {
    if (options.transactionHash === undefined) {
      throw invalid(
        'the payload has no transaction hash: give one, or the document {"transaction_hash": ..., "payload": {...}}',
        {
          missing: 'transactionHash',
        },
      );
    }
    return { transactionHash: checkHash(options.transactionHash, 'transactionHash'), payload: doc };
  }
  for (const key of Object.keys(doc)) {
    if (key !== 'transaction_hash' && key !== 'payload') {
      throw invalid(`unknown member ${JSON.stringify(key)}: the document holds only "transaction_hash" and "payload"`, {
        field: key,
      });
    }
  }
  if (!Object.hasOwn(doc, 'transaction_hash'))
    throw invalid('the document has no "transaction_hash"', { field: 'transaction_hash' });
  const tx = checkHash(doc.transaction_hash, 'transaction_hash');
  if (!isObject(doc.payload)) throw invalid('"payload" must be a JSON object', { field: 'payload' });
  // Neither hash is quoted: what was given separately may be anything, a key pasted in the wrong place included.
  if (options.transactionHash !== undefined && options.transactionHash !== tx) {
    throw invalid("the transaction hash given separately differs from the document's transaction_hash", {
      conflict: 'transactionHash',
    });
  }
  return { transactionHash: tx, payload: doc.payload };
}

function checkHash(value: JsonValue | undefined, field: string): string {
  if (typeof value !== 'string' || !TX_HASH.test(value)) {
    throw invalid(`"${field}" must be 64 lowercase hex characters`, { field });
  }
  return value;
}
