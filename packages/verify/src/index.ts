export { Verifier, isMalformed, unreadableResult, verifyAuditLog, verifyMany } from './verify.js';
export type { TrustLevel, VerifiedLog, VerifyInput, VerifyIssue, VerifyOptions, VerifyResult } from './verify.js';
export type { LogReport } from './log-proof.js';
export { verifiedCheckpointNote } from './log-proof.js';
export type { TimestampReport } from './timestamp-token.js';
export { describeRecord } from './describe.js';
export { type DescribeTextHints, describeRecordText, describeResultText } from './describe-text.js';
export type {
  DescribedAttestation,
  DescribedCheckpointToken,
  DescribedLogProof,
  DescribedTimestampToken,
  RecordDescription,
} from './describe.js';
export { VERIFY_ERROR_CODES, VERIFY_WARNING_CODES, isVerifyErrorCode } from './codes.js';
export type { VerifyErrorCode, WarningCode } from './codes.js';
export { TrustIndex, checkAttestationRoot, parseTrustFile, withinWindow } from './trust.js';
export type { ParseTrustOptions, TrustPolicy, TrustedKey } from './trust.js';
export { checkEd25519PublicKey, nobleBackend, selectBackend, signatureIsStrictlyEncoded } from './ed25519.js';
export type { Ed25519Backend, KeyVerdict } from './ed25519.js';
export { isLowS, verifyP256 } from './ecdsa.js';
export type { AttestationReport } from '@erst/attestation';
export { ErstError, isErstError } from '@erst/core';
export type { ErrorCode } from '@erst/core';
