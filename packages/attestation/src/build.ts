import {
  ErstError,
  type HardwareAttestation,
  KEY_ATTRIBUTE_NAMES,
  type KeyAttributes,
  equalBytes,
  publicKeyToSpki,
} from '@erst/core';
import { type ParsedCert, derToPem, parseDer } from './certs.js';
import type { CollectedAttestation } from './types.js';

interface NodeX509 {
  verify(key: unknown): boolean;
  publicKey: unknown;
}
type NodeCrypto = { X509Certificate: new (der: Uint8Array) => NodeX509 };

// buildAttestation is synchronous (the signer calls it inline), and WebCrypto
// is not: in Node, check links with node:crypto's synchronous X509 verify; in
// other runtimes fall back to byte-exact name links (the verifier checks
// signatures either way).
let nodeCrypto: NodeCrypto | null | undefined;
function syncCrypto(): NodeCrypto | null {
  if (nodeCrypto === undefined) {
    try {
      const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
      nodeCrypto = (proc?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined) ?? null;
    } catch {
      nodeCrypto = null;
    }
  }
  return nodeCrypto;
}

const nodeCerts = new WeakMap<ParsedCert, NodeX509 | null>();
function nodeCert(c: ParsedCert): NodeX509 | null {
  let n = nodeCerts.get(c);
  if (n === undefined) {
    const nc = syncCrypto();
    try {
      n = nc ? new nc.X509Certificate(c.der) : null;
    } catch {
      n = null;
    }
    nodeCerts.set(c, n);
  }
  return n;
}

/** True when `issuer` issued `child`: names link byte for byte and, where it can be checked synchronously, the signature verifies. */
function issued(child: ParsedCert, issuer: ParsedCert): boolean {
  if (child.issuerDer !== issuer.subjectDer) return false;
  const c = nodeCert(child);
  const i = nodeCert(issuer);
  if (!c || !i) return true;
  try {
    return c.verify(i.publicKey);
  } catch {
    return false;
  }
}

/**
 * Builds the `hardware_attestation` object from what a token holds: orders the
 * certificates leaf first by following issuer links through `pool` (dropping
 * duplicates and unrelated certificates), and records the key's attributes.
 * `key_non_exportable` is true only when the token says the key is sensitive,
 * not extractable, never extractable and generated on the token (local).
 * Throws ERR_ATTESTATION_MALFORMED for an unparseable leaf, and
 * ERR_ATTESTATION_KEY_MISMATCH when `publicKey` is given and the leaf certifies another key.
 */
export function buildAttestation(collected: CollectedAttestation): HardwareAttestation {
  const leaf = parseDer(collected.leaf, 'attestation leaf certificate');
  if (collected.publicKey && !equalBytes(leaf.spki, publicKeyToSpki(collected.publicKey))) {
    throw new ErstError(
      'ERR_ATTESTATION_KEY_MISMATCH',
      'the attestation leaf certificate certifies a different key than the signing key',
    );
  }
  const pool: ParsedCert[] = [];
  const seen = new Set<string>([leaf.fingerprint]);
  for (const der of collected.pool) {
    let c: ParsedCert;
    try {
      c = parseDer(der);
    } catch {
      continue; // an unparseable token object is not part of the chain
    }
    if (seen.has(c.fingerprint)) continue;
    seen.add(c.fingerprint);
    pool.push(c);
  }

  const chain: ParsedCert[] = [leaf];
  const used = new Set<string>([leaf.fingerprint]);
  let current = leaf;
  while (!(current.selfIssued && issued(current, current))) {
    const candidates = pool.filter((c) => !used.has(c.fingerprint) && issued(current, c));
    // Prefer a certificate that is a CA; then the one valid longest (re-issued CAs).
    candidates.sort(
      (a, b) =>
        Number(b.basicConstraints?.ca === true) - Number(a.basicConstraints?.ca === true) ||
        b.notAfter.getTime() - a.notAfter.getTime(),
    );
    const next = candidates[0];
    if (!next) break;
    chain.push(next);
    used.add(next.fingerprint);
    current = next;
  }

  const attrs: KeyAttributes = {};
  for (const name of KEY_ATTRIBUTE_NAMES) {
    const v = collected.keyAttributes[name];
    if (typeof v === 'boolean') attrs[name] = v;
  }
  const retrievedAt = collected.retrievedAt ?? new Date();
  if (Number.isNaN(retrievedAt.getTime()))
    throw new ErstError('ERR_ATTESTATION_MALFORMED', 'retrievedAt is not a valid date');
  return {
    certificates: chain.map((c) => ({ pem: derToPem(c.der), subject: c.subject, issuer: c.issuer, serial: c.serial })),
    token_info: collected.tokenInfo,
    key_non_exportable:
      attrs.sensitive === true &&
      attrs.extractable === false &&
      attrs.never_extractable === true &&
      attrs.local === true,
    retrieved_at: retrievedAt.toISOString(),
    key_attributes: attrs,
  };
}
