import { createPrivateKey } from 'node:crypto';
import { type AuditRecordV2, type JsonObject, generate, generateWithSigner, seedSigner } from '@erst/core';
import { SIGNING_KEY_PEM } from '@erst/fixtures';

export const TEST_SEED = new Uint8Array(
  Buffer.from(createPrivateKey(SIGNING_KEY_PEM).export({ format: 'jwk' }).d!, 'base64url'),
);
export const OTHER_SEED = new Uint8Array(32).fill(7);

export const PAYLOAD: JsonObject = {
  envelope_xdr: 'AAAAAgAAAADZ',
  result_meta_xdr: 'AAAAAwAAAAAAAAAB',
  events: ['contract event <a> & "b"', 'second'],
  logs: ['log one', 'line\u2028sep'],
};
export const TX = '530ea1ea71c0810d3e19206c17a2a497101a832a8108bc83d5f6c3c699e520b8';
export const FIXED_NOW = () => new Date('2026-11-26T12:00:00.000Z');

export async function signV2(seed = TEST_SEED, payload: JsonObject = PAYLOAD): Promise<AuditRecordV2> {
  return (await generate({ transactionHash: TX, payload }, seed, {
    now: FIXED_NOW,
    attestation: null,
  })) as AuditRecordV2;
}

export { generateWithSigner, seedSigner };
