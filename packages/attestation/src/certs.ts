import { ErstError, base64ToBytes, bytesToBase64, bytesToHex, sha256 } from '@erst/core';
import type { X509Certificate } from '@peculiar/x509';
import { x509 } from './x509.js';

export const OID_BASIC_CONSTRAINTS = '2.5.29.19';
export const OID_KEY_USAGE = '2.5.29.15';
/** keyCertSign bit in @peculiar/x509's KeyUsageFlags. */
export const KEY_CERT_SIGN = 32;

/** A certificate parsed once and kept: everything the checks need, precomputed. */
export interface ParsedCert {
  readonly der: Uint8Array;
  /** Lowercase hex SHA-256 of the DER. */
  readonly fingerprint: string;
  readonly cert: X509Certificate;
  readonly subject: string;
  readonly issuer: string;
  /** Hex of the DER-encoded subject and issuer Names: the byte-exact link between certificates. */
  readonly subjectDer: string;
  readonly issuerDer: string;
  /** Lowercase hex, no leading zero bytes. */
  readonly serial: string;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
  readonly spkiHex: string;
  /** e.g. "Ed25519", "ECDSA P-256", "RSA 2048". */
  readonly keyAlgorithm: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** basicConstraints: undefined when the extension is absent. */
  readonly basicConstraints: { ca: boolean; pathLength: number | undefined } | undefined;
  /** keyUsage bit flags; undefined when the extension is absent. */
  readonly keyUsage: number | undefined;
  readonly selfIssued: boolean;
}

type KeyAlgorithm = { name?: string; namedCurve?: string; modulusLength?: number };
function describeKeyAlgorithm(a: KeyAlgorithm): string {
  if (a.name === 'ECDSA' || a.name === 'ECDH') return `ECDSA ${a.namedCurve ?? '(unknown curve)'}`;
  if (a.name?.startsWith('RSA')) return a.modulusLength ? `RSA ${a.modulusLength}` : 'RSA';
  return a.name ?? 'unknown';
}

const PEM_CERT = /^\s*-----BEGIN CERTIFICATE-----\r?\n?([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----\s*$/;

/** Decodes exactly one PEM CERTIFICATE block; undefined for anything else. */
export function pemToDer(pem: string): Uint8Array | undefined {
  const m = PEM_CERT.exec(pem);
  if (!m) return undefined;
  const b64 = m[1]!.replace(/\s+/g, '');
  if (b64.length === 0 || b64.length % 4 !== 0) return undefined;
  return base64ToBytes(b64);
}

export function derToPem(der: Uint8Array): string {
  const b64 = bytesToBase64(der)
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

export function normalizeSerial(hex: string): string {
  const s = hex.toLowerCase().replace(/^(?:00)+(?=[0-9a-f]{2})/, '');
  return s;
}

const byDer = new Map<string, ParsedCert>();
const byPem = new Map<string, ParsedCert>();
const CACHE_LIMIT = 4096;

function remember<K>(map: Map<K, ParsedCert>, key: K, value: ParsedCert): ParsedCert {
  if (map.size >= CACHE_LIMIT) map.clear();
  map.set(key, value);
  return value;
}

/** Parses DER; throws ERR_ATTESTATION_MALFORMED. Cached by fingerprint. */
export function parseDer(der: Uint8Array, what = 'certificate'): ParsedCert {
  const fingerprint = bytesToHex(sha256(der));
  const hit = byDer.get(fingerprint);
  if (hit) return hit;
  let cert: X509Certificate;
  let basicConstraints: ParsedCert['basicConstraints'];
  let keyUsage: number | undefined;
  let spki: Uint8Array;
  let subjectDer: string;
  let issuerDer: string;
  try {
    cert = new x509.X509Certificate(der as BufferSource);
    // Touch every field the checks use, so a malformed certificate fails here, once.
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    basicConstraints = bc ? { ca: bc.ca, pathLength: bc.pathLength } : undefined;
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    keyUsage = ku ? ku.usages : undefined;
    spki = new Uint8Array(cert.publicKey.rawData);
    subjectDer = bytesToHex(new Uint8Array(cert.subjectName.toArrayBuffer()));
    issuerDer = bytesToHex(new Uint8Array(cert.issuerName.toArrayBuffer()));
    if (Number.isNaN(cert.notBefore.getTime()) || Number.isNaN(cert.notAfter.getTime()))
      throw new Error('invalid validity dates');
  } catch (e) {
    throw new ErstError(
      'ERR_ATTESTATION_MALFORMED',
      `${what} is not a parseable X.509 certificate: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
      },
    );
  }
  const parsed: ParsedCert = {
    der,
    fingerprint,
    cert,
    subject: cert.subject,
    issuer: cert.issuer,
    subjectDer,
    issuerDer,
    serial: normalizeSerial(cert.serialNumber),
    spki,
    spkiHex: bytesToHex(spki),
    keyAlgorithm: describeKeyAlgorithm(cert.publicKey.algorithm as KeyAlgorithm),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    basicConstraints,
    keyUsage,
    selfIssued: subjectDer === issuerDer,
  };
  return remember(byDer, fingerprint, parsed);
}

/** Parses one PEM certificate; throws ERR_ATTESTATION_MALFORMED. Cached by the PEM text. */
export function parsePem(pem: string, what = 'certificate'): ParsedCert {
  const hit = byPem.get(pem);
  if (hit) return hit;
  const der = pemToDer(pem);
  if (!der) throw new ErstError('ERR_ATTESTATION_MALFORMED', `${what} is not one PEM "CERTIFICATE" block`);
  return remember(byPem, pem, parseDer(der, what));
}

/** Empties the parse caches (tests). */
export function clearCertCache(): void {
  byDer.clear();
  byPem.clear();
}
