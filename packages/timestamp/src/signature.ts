import { type ErrorCode, bytesToHex, equalBytes, hexToBytes, sha256 } from '@erst/core';
import type { Attribute } from '@peculiar/asn1-cms';
import { OctetString } from '@peculiar/asn1-schema';
import type { IssuerSerial } from '@peculiar/asn1-x509-attr';
import {
  type EssCertId,
  type EssCertIdV2,
  HASH_NAMES,
  OID,
  ObjectIdentifierValue,
  SigningCertificate,
  SigningCertificateV2,
  type TokenSignerInfo,
  bytes,
  integerHex,
  parseAs,
  serialize,
  unpadded,
} from './asn1.js';
import type { DecodedToken, TokenCert } from './token.js';
import { x509 } from './x509.js';

interface Issue {
  code: ErrorCode;
  message: string;
}

const invalid = (message: string): Issue => ({ code: 'ERR_TIMESTAMP_SIGNATURE_INVALID', message });

/** Hashes a signature or a digest may use: SHA-1 is refused (its collisions are practical). */
const STRONG_HASHES = new Set(['SHA-256', 'SHA-384', 'SHA-512']);
const SIGNATURE_NAMES = new Set(['ECDSA', 'RSASSA-PKCS1-v1_5', 'RSA-PSS', 'Ed25519']);

/** The one value of the one attribute of `type`; undefined when absent; an Issue when repeated. */
function single(attrs: readonly Attribute[], type: string, name: string): ArrayBuffer | undefined | Issue {
  const found = attrs.filter((a) => a.attrType === type);
  if (found.length === 0) return undefined;
  if (found.length > 1 || found[0]!.attrValues.length !== 1) {
    return invalid(`the signed attributes hold ${name} more than once`);
  }
  return found[0]!.attrValues[0]!;
}

const isIssue = (v: unknown): v is Issue => typeof v === 'object' && v !== null && 'code' in v;

/**
 * SHA-256 synchronously with @erst/core (native in Node): a WebCrypto digest
 * is a round trip through a thread pool, which cost more than the hashing of
 * a few hundred bytes. Other hashes through WebCrypto.
 */
async function digest(crypto: Crypto, hash: string, data: Uint8Array): Promise<Uint8Array> {
  if (hash === 'SHA-256') return sha256(data);
  return new Uint8Array(await crypto.subtle.digest(hash, data as BufferSource));
}

/** Whether an ESS IssuerSerial names the certificate's issuer (as a directoryName) and its serial. */
function issuerSerialMatches(is: IssuerSerial, cert: TokenCert): boolean {
  if (integerHex(is.serial) !== unpadded(cert.cert.serialNumber)) return false;
  const issuer = bytesToHex(new Uint8Array(cert.cert.issuerName.toArrayBuffer()));
  return is.issuer.some((g) => g.directoryName !== undefined && bytesToHex(serialize(g.directoryName)) === issuer);
}

/**
 * RFC 3161 / RFC 5035: the signing-certificate attribute binds the signature
 * to one certificate, so that another certificate with the same key cannot
 * stand in for it. When present, its first ESSCertID must be the signer's.
 */
async function essIssue(attrs: readonly Attribute[], signer: TokenCert, crypto: Crypto): Promise<Issue | undefined> {
  const v2 = single(attrs, OID.signingCertificateV2, 'signingCertificateV2');
  const v1 = single(attrs, OID.signingCertificate, 'signingCertificate');
  if (isIssue(v2)) return v2;
  if (isIssue(v1)) return v1;
  // A TSA sends the same binding in every token: decided once per (certificate, attribute bytes).
  const key = `${signer.fingerprint}|${v2 ? bytesToHex(bytes(v2)) : ''}|${v1 ? bytesToHex(bytes(v1)) : ''}`;
  if (essVerdicts.has(key)) return essVerdicts.get(key);
  const verdict = await essBinding(v2, v1, signer, crypto);
  if (essVerdicts.size >= KEY_CACHE_LIMIT) essVerdicts = new Map();
  essVerdicts.set(key, verdict);
  return verdict;
}

let essVerdicts = new Map<string, Issue | undefined>();
/** Content-type attribute values seen, and whether each is id-ct-TSTInfo. */
let contentTypes = new Map<string, boolean>();

async function essBinding(
  v2: ArrayBuffer | undefined,
  v1: ArrayBuffer | undefined,
  signer: TokenCert,
  crypto: Crypto,
): Promise<Issue | undefined> {
  let id: EssCertId | EssCertIdV2 | undefined;
  let hash = 'SHA-1';
  if (v2) {
    id = parseAs(v2, SigningCertificateV2, 'ERR_TIMESTAMP_MALFORMED', 'the signingCertificateV2 attribute').certs[0];
    const alg = (id as EssCertIdV2 | undefined)?.hashAlgorithm?.algorithm ?? OID.sha256;
    hash = HASH_NAMES[alg] ?? alg;
    if (!STRONG_HASHES.has(hash))
      return invalid(`the signingCertificateV2 attribute uses an unsupported hash (${hash})`);
  } else if (v1) {
    // ESSCertID is SHA-1 by definition; it identifies, the signature is what protects.
    id = parseAs(v1, SigningCertificate, 'ERR_TIMESTAMP_MALFORMED', 'the signingCertificate attribute').certs[0];
  } else {
    return undefined;
  }
  if (!id) return invalid('the signing-certificate attribute names no certificate');
  // The SHA-256 of the certificate is its fingerprint, taken once when it was parsed.
  const certHash = hash === 'SHA-256' ? hexToBytes(signer.fingerprint)! : await digest(crypto, hash, signer.der);
  const ok =
    equalBytes(certHash, bytes(id.certHash.buffer)) &&
    (!id.issuerSerial || issuerSerialMatches(id.issuerSerial, signer));
  return ok
    ? undefined
    : invalid('the signing-certificate attribute names another certificate than the one that signed');
}

let keys = new WeakMap<Crypto, Map<string, Promise<CryptoKey>>>();
const KEY_CACHE_LIMIT = 256;

/** The signer's public key imported for `algorithm`, once per certificate and algorithm. */
function verifyKey(cert: TokenCert, algorithm: Algorithm, crypto: Crypto): Promise<CryptoKey> {
  let byCert = keys.get(crypto);
  if (!byCert) {
    byCert = new Map();
    keys.set(crypto, byCert);
  }
  const key = `${cert.fingerprint}|${JSON.stringify(algorithm)}`;
  let p = byCert.get(key);
  if (!p) {
    if (byCert.size >= KEY_CACHE_LIMIT) byCert.clear();
    p = cert.cert.publicKey.export(algorithm, ['verify'], crypto);
    p.catch(() => byCert.delete(key));
    byCert.set(key, p);
  }
  return p;
}

type WebAlgorithm = Algorithm & { hash?: { name: string } | string; namedCurve?: string; saltLength?: number };

/** The WebCrypto algorithm a SignerInfo names (via @peculiar/x509's mapping); the digest algorithm supplies a hash the signature algorithm leaves out (rsaEncryption). */
function signatureAlgorithm(si: TokenSignerInfo, digestName: string): WebAlgorithm | Issue {
  let alg: WebAlgorithm;
  try {
    alg = new x509.AlgorithmProvider().toWebAlgorithm(si.signatureAlgorithm) as WebAlgorithm;
  } catch {
    return invalid(`the signature algorithm ${si.signatureAlgorithm.algorithm} is not supported`);
  }
  if (!SIGNATURE_NAMES.has(alg.name)) {
    return invalid(`the signature algorithm ${si.signatureAlgorithm.algorithm} is not supported`);
  }
  if (alg.name === 'Ed25519') return { name: 'Ed25519' };
  const hash = typeof alg.hash === 'string' ? alg.hash : (alg.hash?.name ?? digestName);
  if (!STRONG_HASHES.has(hash)) return invalid(`the signature uses an unsupported hash (${hash})`);
  return { ...alg, name: alg.name, hash: { name: hash } };
}

/**
 * The bytes the signature covers (RFC 5652 5.4): the signed attributes as
 * the token carries them, under the SET OF tag instead of their [0] IMPLICIT
 * one. Both are one-byte tags and the length and content are the same, so
 * this is the carried element with its first byte replaced, as PKI.js does;
 * asn1-schema parsed that element as [0] constructed, so its first byte is 0xa0.
 */
function signedBytes(si: TokenSignerInfo): Uint8Array {
  const data = new Uint8Array(si.signedAttrsRaw!);
  data[0] = 0x31;
  return data;
}

type NodeCrypto = typeof import('node:crypto');
type KeyObject = import('node:crypto').KeyObject;

/**
 * node:crypto (OpenSSL, the engine behind Node's WebCrypto): a synchronous
 * verify on a KeyObject made once per certificate, where WebCrypto costs a
 * round trip through libuv's thread pool per signature. Reached through
 * getBuiltinModule, so browser bundles never see it.
 */
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;

/** The curves WebCrypto verifies ECDSA on (OpenSSL's names): node:crypto is not to accept more. */
const WEB_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);
/** The node:crypto key types each signature algorithm may use, as WebCrypto would import them. */
const NODE_KEY_TYPES: Readonly<Record<string, readonly string[]>> = {
  ECDSA: ['ec'],
  'RSASSA-PKCS1-v1_5': ['rsa'],
  'RSA-PSS': ['rsa', 'rsa-pss'],
  Ed25519: ['ed25519'],
};

let nodeKeys = new Map<string, KeyObject | null>();

/** The signer's public key as a KeyObject, once per certificate; null when node:crypto cannot read it. */
function nodeKey(node: NodeCrypto, cert: TokenCert): KeyObject | null {
  let key = nodeKeys.get(cert.fingerprint);
  if (key === undefined) {
    if (nodeKeys.size >= KEY_CACHE_LIMIT) nodeKeys = new Map();
    try {
      // The certificate's SubjectPublicKeyInfo, as it carries it.
      key = node.createPublicKey({ key: bytes(cert.cert.publicKey.rawData) as Buffer, format: 'der', type: 'spki' });
    } catch {
      key = null;
    }
    nodeKeys.set(cert.fingerprint, key);
  }
  return key;
}

/** The signature checked with node:crypto: the same answers as WebCrypto for the algorithms and curves it verifies. */
function nodeVerify(
  node: NodeCrypto,
  alg: WebAlgorithm,
  signer: TokenCert,
  data: Uint8Array,
  signature: Uint8Array,
): boolean | Issue {
  const key = nodeKey(node, signer);
  const type = key?.asymmetricKeyType;
  if (
    !key ||
    !type ||
    !NODE_KEY_TYPES[alg.name]?.includes(type) ||
    (type === 'ec' && !WEB_CURVES.has(key.asymmetricKeyDetails?.namedCurve ?? ''))
  ) {
    return invalid(`the TSA certificate's key cannot verify ${alg.name} signatures`);
  }
  const hash = alg.name === 'Ed25519' ? null : (alg.hash as { name: string }).name;
  try {
    return node.verify(
      hash,
      data,
      alg.name === 'ECDSA'
        ? // X9.62 DER, as CMS carries it; OpenSSL refuses any other encoding of the same (r, s).
          { key, dsaEncoding: 'der' }
        : alg.name === 'RSA-PSS'
          ? { key, padding: node.constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.saltLength ?? 20 }
          : key,
      signature,
    );
  } catch {
    return false;
  }
}

/**
 * The CMS signature of the token (RFC 5652 5.4, 5.6): signed attributes
 * present, content-type id-ct-TSTInfo, message-digest the digest of the
 * TSTInfo as carried, the signing-certificate binding when present, and
 * the signature over the DER SET OF the signed attributes under `signer`'s key.
 * With `crypto` undefined, node:crypto checks the signature where there is
 * one, else globalThis.crypto.
 */
export async function signatureIssue(
  token: DecodedToken,
  signer: TokenCert,
  crypto: Crypto | undefined,
): Promise<Issue | undefined> {
  const si = token.signerInfo;
  const attrs = si.signedAttrs;
  if (!attrs || attrs.length === 0 || !si.signedAttrsRaw)
    return invalid('the token has no signed attributes, so nothing binds it to its TSTInfo');
  const web = crypto ?? globalThis.crypto;

  const contentType = single(attrs, OID.contentType, 'content-type');
  if (isIssue(contentType)) return contentType;
  if (!contentType) return invalid('the signed attributes have no content-type');
  // The same bytes in every token: parsed once per distinct value.
  const ctKey = bytesToHex(bytes(contentType));
  let isTstInfo = contentTypes.get(ctKey);
  if (isTstInfo === undefined) {
    const ct = parseAs(contentType, ObjectIdentifierValue, 'ERR_TIMESTAMP_MALFORMED', 'the content-type attribute');
    isTstInfo = ct.value === OID.tstInfo;
    if (contentTypes.size >= KEY_CACHE_LIMIT) contentTypes = new Map();
    contentTypes.set(ctKey, isTstInfo);
  }
  if (!isTstInfo) return invalid('the signed content-type is not id-ct-TSTInfo');

  const digestName = HASH_NAMES[si.digestAlgorithm.algorithm] ?? si.digestAlgorithm.algorithm;
  if (!STRONG_HASHES.has(digestName)) return invalid(`the token's digest algorithm (${digestName}) is not supported`);
  const md = single(attrs, OID.messageDigest, 'message-digest');
  if (isIssue(md)) return md;
  if (!md) return invalid('the signed attributes have no message-digest');
  const signedDigest = bytes(
    parseAs(md, OctetString, 'ERR_TIMESTAMP_MALFORMED', 'the message-digest attribute').buffer,
  );
  if (!equalBytes(signedDigest, await digest(web, digestName, token.eContent))) {
    return invalid('the signed message digest is not the digest of the TSTInfo: the TSTInfo was changed after signing');
  }

  const ess = await essIssue(attrs, signer, web);
  if (ess) return ess;

  const alg = signatureAlgorithm(si, digestName);
  if (isIssue(alg)) return alg;
  const data = signedBytes(si);
  const sigBytes = bytes(si.signature.buffer);
  const bad = invalid("the token's CMS signature does not verify under the TSA certificate's key");
  if (crypto === undefined && nodeCrypto) {
    const ok = nodeVerify(nodeCrypto, alg, signer, data, sigBytes);
    return ok === true ? undefined : ok === false ? bad : ok;
  }
  const keyAlg = { ...(signer.cert.publicKey.algorithm as Algorithm), ...alg };
  let key: CryptoKey;
  try {
    key = await verifyKey(signer, keyAlg, web);
  } catch {
    return invalid(`the TSA certificate's key cannot verify ${alg.name} signatures`);
  }
  let signature: ArrayBuffer | null = sigBytes.slice().buffer;
  if (alg.name === 'ECDSA') signature = new x509.AsnEcSignatureFormatter().toWebSignature(keyAlg, signature);
  const ok =
    signature !== null && (await web.subtle.verify(keyAlg, key, signature, data as BufferSource).catch(() => false));
  return ok ? undefined : bad;
}

/** Forgets the imported keys and the attribute verdicts (tests and benchmarks). */
export function clearKeyCache(): void {
  keys = new WeakMap();
  nodeKeys = new Map();
  essVerdicts = new Map();
  contentTypes = new Map();
}
