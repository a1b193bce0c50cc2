export { MAX_TOKEN_BYTES, MAX_TOKEN_CERTIFICATES } from './asn1.js';
export { createTimestampRequest, parseTimestampResponse } from './request.js';
export type { TimestampRequest } from './request.js';
export { inspectTimestampToken } from './token.js';
export type { TimestampTokenContents } from './token.js';
export { clearTimestampCache, verifyTimestampToken } from './verify.js';
export type { TimestampCheck, TimestampInfo } from './verify.js';
export { TIMESTAMP_SKEW_MS, checkTimestampOrder } from './order.js';
