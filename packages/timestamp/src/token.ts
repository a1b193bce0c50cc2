import { ErstError, base64ToBytes, bytesToBase64, bytesToHex, sha256 } from '@erst/core';
import { TSTInfo } from '@peculiar/asn1-tsp';
import type { X509Certificate } from '@peculiar/x509';
import {
  HASH_NAMES,
  MAX_TOKEN_BYTES,
  MAX_TOKEN_CERTIFICATES,
  OID,
  TokenContentInfo,
  type TokenSignerInfo,
  bytes,
  integerHex,
  parseAs,
  serialize,
  unpadded,
} from './asn1.js';
import { x509 } from './x509.js';

/** A certificate the token carries, parsed once. */
export interface TokenCert {
  readonly cert: X509Certificate;
  readonly der: Uint8Array;
  /** Lowercase hex SHA-256 of the DER. */
  readonly fingerprint: string;
}

/** A TimeStampToken taken apart, nothing verified yet. */
export interface DecodedToken {
  readonly tstInfo: TSTInfo;
  /** The TSTInfo DER exactly as the token carries it: what the message-digest attribute covers. */
  readonly eContent: Uint8Array;
  readonly signerInfo: TokenSignerInfo;
  readonly certificates: readonly TokenCert[];
  /** The certificate the SignerInfo names, when the token carries it. */
  readonly signer: TokenCert | undefined;
}

/** What a token says, read without verifying anything (for display). */
export interface TimestampTokenContents {
  /** genTime, ISO 8601 UTC. */
  genTime: string;
  policy: string;
  /** Lowercase hex, no sign-padding zero byte. */
  serial: string;
  /** The imprint's hash algorithm ("SHA-256", or the OID when unknown) and value (hex). */
  hashAlgorithm: string;
  imprint: string;
  /** Lowercase hex, or null when the token has none. */
  nonce: string | null;
  /** Milliseconds, or null when the token states none. */
  accuracy: number | null;
  /** The subject of the certificate that signed, when the token carries it. */
  signer: string | null;
  /** Subjects of every certificate the token carries, in its order. */
  certificates: string[];
}

export function malformed(message: string, cause?: unknown): ErstError {
  return new ErstError('ERR_TIMESTAMP_MALFORMED', message, cause === undefined ? {} : { cause });
}

/**
 * The token's bytes: DER as given, or decoded from canonical base64 (what a
 * record's `timestamp_token` holds). Whitespace, missing padding or other
 * spellings of the same bytes are refused: one token, one text.
 */
export function tokenBytes(token: Uint8Array | string): Uint8Array {
  if (token instanceof Uint8Array) return token;
  if (typeof token !== 'string') throw malformed('a timestamp token is DER bytes or their base64');
  // Checked before decoding: the text is at most 4/3 of the byte cap.
  if (token.length > Math.ceil(MAX_TOKEN_BYTES / 3) * 4) tooLarge();
  const der = base64ToBytes(token);
  if (!der || bytesToBase64(der) !== token) throw malformed('the timestamp token is not canonical base64');
  return der;
}

function tooLarge(): never {
  throw new ErstError('ERR_TIMESTAMP_MALFORMED', `the timestamp token is over ${MAX_TOKEN_BYTES} bytes`, {
    details: { limit: MAX_TOKEN_BYTES },
  });
}

/** Milliseconds of an Accuracy (RFC 3161: seconds, millis 1-999, micros 1-999), null when absent. */
function accuracyMs(t: TSTInfo): number | null {
  const a = t.accuracy;
  if (!a) return null;
  return (a.seconds ?? 0) * 1000 + (a.millis ?? 0) + (a.micros ?? 0) / 1000;
}

/** Certificates parsed so far, by fingerprint; past this the cache starts over (a run meets a handful of TSAs). */
const CERT_CACHE_LIMIT = 256;
let parsed = new Map<string, TokenCert>();

/**
 * A carried certificate, parsed once per distinct DER: every token from one
 * TSA carries the same few certificates, and parsing them was most of the
 * cost of a token after the first.
 */
function parseCertificate(der: Uint8Array, i: number): TokenCert {
  const fingerprint = bytesToHex(sha256(der));
  const known = parsed.get(fingerprint);
  if (known) return known;
  let cert: X509Certificate;
  try {
    cert = new x509.X509Certificate(der as BufferSource);
  } catch (e) {
    throw malformed(`certificate ${i} in the timestamp token is not a parseable X.509 certificate`, e);
  }
  if (parsed.size >= CERT_CACHE_LIMIT) parsed = new Map();
  const c: TokenCert = { cert, der, fingerprint };
  parsed.set(fingerprint, c);
  return c;
}

/** Forgets the parsed certificates and which of them signed (tests and benchmarks). */
export function clearCertificateCache(): void {
  parsed = new Map();
  signers = new Map();
}

/** Which carried certificate a SignerIdentifier names, by its bytes and the certificates' fingerprints. */
let signers = new Map<string, TokenCert | undefined>();

/**
 * The token's certificate that the SignerInfo identifies, looked up once per
 * distinct (SignerIdentifier bytes, certificates carried): every token from
 * one TSA names the same certificate the same way, and matching the names
 * again (encoding the issuer name) cost more than the lookup.
 */
function findSigner(si: TokenSignerInfo, certs: readonly TokenCert[]): TokenCert | undefined {
  if (!si.sidRaw) return matchSigner(si, certs);
  const key = `${bytesToHex(si.sidRaw)}|${certs.map((c) => c.fingerprint).join(',')}`;
  if (signers.has(key)) return signers.get(key);
  const found = matchSigner(si, certs);
  if (signers.size >= CERT_CACHE_LIMIT) signers = new Map();
  signers.set(key, found);
  return found;
}

/** The token's certificate that the SignerInfo identifies (issuer and serial, or subject key identifier). */
function matchSigner(si: TokenSignerInfo, certs: readonly TokenCert[]): TokenCert | undefined {
  const byIssuer = si.sid.issuerAndSerialNumber;
  if (byIssuer) {
    const issuer = bytesToHex(serialize(byIssuer.issuer));
    const serial = integerHex(byIssuer.serialNumber);
    return certs.find(
      (c) =>
        bytesToHex(new Uint8Array(c.cert.issuerName.toArrayBuffer())) === issuer &&
        unpadded(c.cert.serialNumber) === serial,
    );
  }
  const ski = si.sid.subjectKeyIdentifier;
  if (ski) {
    const want = bytesToHex(bytes(ski.buffer));
    return certs.find((c) => c.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId.toLowerCase() === want);
  }
  return undefined;
}

/**
 * Takes a DER TimeStampToken apart: a ContentInfo holding SignedData whose
 * eContent is a TSTInfo, exactly one SignerInfo, at most
 * MAX_TOKEN_CERTIFICATES certificates. Checks structure only.
 *
 * @throws ERR_TIMESTAMP_MALFORMED
 */
export function decodeToken(der: Uint8Array): DecodedToken {
  if (der.length > MAX_TOKEN_BYTES) tooLarge();
  // A ContentInfo whose content is not SignedData does not parse: not valid DER of the token's type.
  const info = parseAs(der, TokenContentInfo, 'ERR_TIMESTAMP_MALFORMED', 'the timestamp token');
  if (info.contentType !== OID.signedData) throw malformed('the timestamp token is not CMS SignedData');
  const sd = info.content;
  if (sd.encapContentInfo.eContentType !== OID.tstInfo) {
    throw malformed('the timestamp token does not sign a TSTInfo (its eContentType is not id-ct-TSTInfo)');
  }
  const single = sd.encapContentInfo.eContent?.single;
  if (!single) throw malformed("the timestamp token's TSTInfo is missing or not one primitive OCTET STRING");
  const eContent = bytes(single.buffer);
  if (sd.signerInfos.length !== 1) {
    throw malformed(`a timestamp token has one SignerInfo; this one has ${sd.signerInfos.length}`);
  }
  const choices = [...(sd.certificates ?? [])];
  // Refused before any certificate is parsed or any signature checked.
  if (choices.length > MAX_TOKEN_CERTIFICATES) {
    throw new ErstError(
      'ERR_TIMESTAMP_MALFORMED',
      `the timestamp token holds ${choices.length} certificates; at most ${MAX_TOKEN_CERTIFICATES} are accepted`,
      { details: { limit: MAX_TOKEN_CERTIFICATES } },
    );
  }
  // An attribute certificate or another format ([2], [3]) does not parse as X.509: refused the same way.
  const certificates = choices.map((der, i) => parseCertificate(bytes(der), i));
  const tstInfo = parseAs(eContent, TSTInfo, 'ERR_TIMESTAMP_MALFORMED', "the timestamp token's TSTInfo");
  if (tstInfo.version !== 1) throw malformed(`the TSTInfo is version ${Number(tstInfo.version)}; only 1 is defined`);
  if (!(tstInfo.genTime instanceof Date) || Number.isNaN(tstInfo.genTime.getTime())) {
    throw malformed("the TSTInfo's genTime is not a valid time");
  }
  const signerInfo = sd.signerInfos[0]!;
  return { tstInfo, eContent, signerInfo, certificates, signer: findSigner(signerInfo, certificates) };
}

/** What `decoded` says (nothing verified). */
export function contentsOf(decoded: DecodedToken): TimestampTokenContents {
  const t = decoded.tstInfo;
  const alg = t.messageImprint.hashAlgorithm.algorithm;
  return {
    genTime: t.genTime.toISOString(),
    policy: t.policy,
    serial: integerHex(t.serialNumber),
    hashAlgorithm: HASH_NAMES[alg] ?? alg,
    imprint: bytesToHex(bytes(t.messageImprint.hashedMessage.buffer)),
    nonce: t.nonce ? integerHex(t.nonce) : null,
    accuracy: accuracyMs(t),
    signer: decoded.signer?.cert.subject ?? null,
    certificates: decoded.certificates.map((c) => c.cert.subject),
  };
}

/**
 * Reads a TimeStampToken (DER, or its base64) without verifying it: what
 * `erst audit inspect` shows. Never trust what it returns; verify with
 * `verifyTimestampToken`.
 *
 * @throws ERR_TIMESTAMP_MALFORMED
 */
export function inspectTimestampToken(token: Uint8Array | string): TimestampTokenContents {
  return contentsOf(decodeToken(tokenBytes(token)));
}
