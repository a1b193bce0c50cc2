export { ERROR_CODES, ErstError, errorCategory, internalError, isErstError } from './errors.js';
export type { ErrorCategory, ErrorCode, ErstErrorOptions } from './errors.js';

export { DEFAULT_MAX_INPUT_BYTES, MAX_JSON_DEPTH, parseStrictJson } from './json.js';
export type { JsonObject, JsonPrimitive, JsonValue, ParseJsonOptions } from './json.js';

export { canonicalize } from './jcs.js';
// For erst's own packages (batch-sign's fast record lines): the canonical bytes of a JSON text's members, off its bytes.
export { scanCanonical } from './jcs-text.js';
export type { ScannedObject } from './jcs-text.js';
export { escapeForDisplay } from './display.js';
export { goString, goStringSlice } from './gojson.js';
export { hasNativeSha256, sha256, sha256Utf8, sha256Utf8Async } from './sha256.js';
export {
  base64ToBytes,
  bytesToBase64,
  bytesToHex,
  concatBytes,
  equalBytes,
  hexToBytes,
  isLowerHex,
  utf8Bytes,
} from './bytes.js';

export {
  ALGORITHMS,
  PUBLIC_KEY_LENGTH,
  parsePublicKey,
  publicKeyFromPem,
  publicKeyFromRaw,
  publicKeyFromSpki,
  publicKeyId,
  publicKeyToPem,
  publicKeyToSpki,
} from './keys.js';
export type { Algorithm, PublicKey } from './keys.js';

export { KEY_ATTRIBUTE_NAMES, MAX_LOG_PROOF_BYTES, MAX_TIMESTAMP_TOKEN_BYTES, RECORD_FORMATS } from './record.js';
export type {
  AttestationCertificate,
  AuditRecord,
  AuditRecordV1,
  AuditRecordV2,
  AuditRecordV2_1,
  ErstPayload,
  HardwareAttestation,
  KeyAttributes,
  LegacyTsRecord,
  RecordFormat,
  WritableSchema,
} from './record.js';

export {
  hashInputLegacyTs,
  hashInputTextLegacyTs,
  hashInputTextV1_0,
  hashInputTextV1_1,
  hashInputTextV2,
  hashInputTextV2_1,
  hashInputV1_0,
  hashInputV1_1,
  hashInputV2,
  hashInputV2_1,
} from './hash-input.js';
export {
  detectFormat,
  hashInputDigest,
  isRfc3339,
  isTimestampTokenText,
  parseAttestation,
  parseErstPayload,
  parseRecord,
  parseRecordBytes,
  parseRfc3339,
} from './parse.js';
export type { ParseRecordBytesOptions, SignedRecord } from './parse.js';
export { parseRecordBytesAsync } from './parse-async.js';

export type { Signer, ThreadSigning } from './signer.js';
export { MAX_SIGN_MESSAGE_BYTES, digestError, messageError } from './signer.js';
export {
  generate,
  generateWithSigner,
  seedSigner,
  timestampImprint,
  withLogProof,
  withTimestampToken,
} from './sign.js';
export { parseSignDocument } from './document.js';
export type { SignDocumentOptions } from './document.js';
export type { SignInput, SignOptions } from './sign.js';
