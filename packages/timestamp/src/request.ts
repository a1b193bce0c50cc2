import { ErstError, bytesToHex, escapeForDisplay } from '@erst/core';
import { OctetString } from '@peculiar/asn1-schema';
import { PKIStatus, MessageImprint, TimeStampReq, TimeStampResp } from '@peculiar/asn1-tsp';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { MAX_RESPONSE_BYTES, OID, parseAs, serialize } from './asn1.js';

/** Random bytes in a request's nonce: 128 bits, far past RFC 3161's "large random number" (64 bits at least). */
const NONCE_BYTES = 16;
/** The most of a TSA's status text a message repeats. */
const MAX_STATUS_TEXT = 200;

export interface TimestampRequest {
  /** The DER TimeStampReq, to POST as `application/timestamp-query`. */
  request: Uint8Array;
  /** The nonce it carries, lowercase hex: the token must carry it back. */
  nonce: string;
}

/** ERR_OPTIONS_INVALID naming `option` as the API spells it, so that a command line can name its own flag. */
export function optionError(option: string, why: string): ErstError {
  return new ErstError('ERR_OPTIONS_INVALID', `\`${option}\` ${why}`, { details: { options: [option] } });
}

export function checkImprint(imprint: unknown, option = 'imprint'): Uint8Array {
  if (!(imprint instanceof Uint8Array) || imprint.length !== 32)
    throw optionError(option, 'must be the 32-byte SHA-256 hash to timestamp (a Uint8Array)');
  return imprint;
}

/**
 * A TimeStampReq (RFC 3161 2.4.1) for a SHA-256 `imprint`: version 1, a
 * fresh random nonce, certReq true (so the token carries the TSA's
 * certificate), no policy (the TSA's default).
 *
 * @throws ERR_OPTIONS_INVALID when `imprint` is not 32 bytes.
 * @example
 * const { request, nonce } = createTimestampRequest(sha256(bytes));
 */
export function createTimestampRequest(imprint: Uint8Array, options: { crypto?: Crypto } = {}): TimestampRequest {
  checkImprint(imprint);
  const nonce = (options.crypto ?? globalThis.crypto).getRandomValues(new Uint8Array(NONCE_BYTES));
  // A positive INTEGER in minimal DER: top bit clear, first byte never zero.
  nonce[0] = (nonce[0]! & 0x7f) | 0x01;
  const req = new TimeStampReq({
    version: 1,
    messageImprint: new MessageImprint({
      hashAlgorithm: new AlgorithmIdentifier({ algorithm: OID.sha256 }),
      hashedMessage: new OctetString(imprint),
    }),
    nonce: nonce.slice().buffer,
    certReq: true,
  });
  return { request: serialize(req), nonce: bytesToHex(nonce) };
}

const STATUS_NAMES: Readonly<Record<number, string>> = {
  [PKIStatus.granted]: 'granted',
  [PKIStatus.grantedWithMods]: 'grantedWithMods',
  [PKIStatus.rejection]: 'rejection',
  [PKIStatus.waiting]: 'waiting',
  [PKIStatus.revocationWarning]: 'revocationWarning',
  [PKIStatus.revocationNotification]: 'revocationNotification',
};

/**
 * The TimeStampToken in a TSA's DER TimeStampResp (RFC 3161 2.4.2), once
 * its status says `granted`. The token is returned as DER, unverified: give
 * it to `verifyTimestampToken`.
 *
 * grantedWithMods is refused too: erst asked for exactly SHA-256 of one hash
 * under the TSA's default policy, and a modified grant is not that.
 *
 * @throws ERR_TSA_REJECTED (any status but granted; the message quotes the
 *   TSA's status text, escaped and cut), ERR_TSA_RESPONSE_MALFORMED (not a
 *   TimeStampResp, over MAX_RESPONSE_BYTES, or granted without a token).
 */
export function parseTimestampResponse(response: Uint8Array): Uint8Array {
  if (response.length > MAX_RESPONSE_BYTES) {
    throw new ErstError('ERR_TSA_RESPONSE_MALFORMED', `the TSA's response is over ${MAX_RESPONSE_BYTES} bytes`, {
      details: { limit: MAX_RESPONSE_BYTES },
    });
  }
  const resp = parseAs(response, TimeStampResp, 'ERR_TSA_RESPONSE_MALFORMED', "the TSA's response");
  const { status, statusString, failInfo } = resp.status;
  if (status !== PKIStatus.granted) {
    const name = STATUS_NAMES[status] ?? `status ${Number(status)}`;
    const text = statusString?.join('; ') ?? '';
    const shown = escapeForDisplay(text.length > MAX_STATUS_TEXT ? `${text.slice(0, MAX_STATUS_TEXT)}...` : text);
    const failures = failInfo ? failInfo.toJSON() : [];
    throw new ErstError(
      'ERR_TSA_REJECTED',
      `the TSA answered ${name}${shown ? `: "${shown}"` : ''}${failures.length ? ` (${failures.join(', ')})` : ''}`,
      { details: { status: name, failInfo: failures } },
    );
  }
  if (!resp.timeStampToken) {
    throw new ErstError('ERR_TSA_RESPONSE_MALFORMED', "the TSA's response says granted but holds no token");
  }
  return serialize(resp.timeStampToken);
}
