import { ErstError, type ErrorCode, bytesToHex, escapeForDisplay, sha256 } from '@erst/core';
import type { X509Certificate } from '@peculiar/x509';
import { OID } from './asn1.js';
import { optionError } from './request.js';
import type { TokenCert } from './token.js';
import { x509 } from './x509.js';

/** Chains remembered; past this the cache starts over (a run meets a handful of TSAs). */
const CACHE_LIMIT = 1024;
/** keyCertSign in @peculiar/x509's KeyUsageFlags. */
const KEY_CERT_SIGN = 32;

/** A certificate's name as a message may show it: the token is untrusted, and so is every name in it. */
export function nameOf(c: X509Certificate, which: 'subject' | 'issuer' = 'subject'): string {
  return `"${escapeForDisplay(c[which])}"`;
}

interface Issue {
  code: ErrorCode;
  message: string;
}

/** The result of the per-chain work: the chain from the TSA certificate to a pinned root, or why there is none. */
export interface ChainVerdict {
  /** Leaf (the TSA certificate) first, ending at the pinned certificate. */
  readonly chain: readonly X509Certificate[];
  readonly issue: Issue | undefined;
}

// ---------- pinned roots, parsed once per array ----------

interface Roots {
  certs: X509Certificate[];
  fingerprints: Set<string>;
  key: string;
}
const rootsByArray = new WeakMap<readonly string[], Roots>();
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * The pinned TSA roots (PEM texts; one text may hold several certificates).
 *
 * @throws ERR_OPTIONS_INVALID naming `tsaRoots` when one holds no parseable certificate.
 */
export function parseRoots(pems: readonly string[]): Roots {
  let r = rootsByArray.get(pems);
  if (r) return r;
  if (!Array.isArray(pems) || pems.some((p) => typeof p !== 'string')) {
    throw optionError('tsaRoots', 'must be an array of PEM certificate texts');
  }
  const byFp = new Map<string, X509Certificate>();
  pems.forEach((text, i) => {
    const blocks = text.match(PEM_BLOCK) ?? [];
    if (blocks.length === 0) throw optionError('tsaRoots', `entry ${i} holds no PEM certificate`);
    for (const block of blocks) {
      try {
        const cert = new x509.X509Certificate(block);
        byFp.set(bytesToHex(sha256(new Uint8Array(cert.rawData))), cert);
      } catch (e) {
        throw Object.assign(optionError('tsaRoots', `entry ${i} holds a certificate that does not parse`), {
          cause: e,
        });
      }
    }
  });
  const fingerprints = new Set(byFp.keys());
  r = { certs: [...byFp.values()], fingerprints, key: [...fingerprints].sort().join(',') };
  rootsByArray.set(pems, r);
  return r;
}

// ---------- the per-chain analysis, cached ----------

const verdicts = new Map<string, Promise<ChainVerdict>>();

/**
 * The TSA certificate `signer` (one of the token's `certs`) checked for its
 * extended key usage, and chained to one of `roots`: cached per distinct
 * (signer, certificates, roots), so verifying many tokens from one TSA costs
 * one chain check. Dates are not part of it (they depend on each token's
 * genTime): see `datesHold`.
 */
export function chainVerdict(
  signer: TokenCert,
  certs: readonly TokenCert[],
  roots: Roots,
  crypto: Crypto,
): Promise<ChainVerdict> {
  const others = certs
    .map((c) => c.fingerprint)
    .filter((f) => f !== signer.fingerprint)
    .sort()
    .join(',');
  const key = `${signer.fingerprint}|${others}|${roots.key}`;
  let p = verdicts.get(key);
  if (!p) {
    if (verdicts.size >= CACHE_LIMIT) verdicts.clear();
    p = analyze(signer, certs, roots, crypto);
    // A crypto backend failing is not a verdict: do not keep it.
    p.catch(() => verdicts.delete(key));
    verdicts.set(key, p);
  }
  return p;
}

/**
 * RFC 3161 2.3: the TSA's certificate carries exactly one extended key
 * usage, id-kp-timeStamping, and the extension is critical.
 */
function ekuIssue(cert: X509Certificate): Issue | undefined {
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const problem = !eku
    ? 'has no extendedKeyUsage extension'
    : !eku.critical
      ? 'has a non-critical extendedKeyUsage'
      : eku.usages.length !== 1 || eku.usages[0] !== OID.timeStamping
        ? `has extendedKeyUsage ${eku.usages.join(', ')}, not timeStamping alone`
        : undefined;
  if (!problem) return undefined;
  return {
    code: 'ERR_TIMESTAMP_TSA_EKU',
    message: `the TSA certificate ${nameOf(cert)} ${problem}; RFC 3161 requires timeStamping alone, critical`,
  };
}

/** A certificate that issues another must be a CA allowed to sign certificates, within its path length. */
function issuerIssue(chain: readonly X509Certificate[], i: number): Issue | undefined {
  const c = chain[i]!;
  const bc = c.getExtension(x509.BasicConstraintsExtension);
  const ku = c.getExtension(x509.KeyUsagesExtension);
  // Non-self-issued certificates between this one and the leaf (RFC 5280 4.2.1.9).
  const below = chain.slice(1, i).filter((x) => x.subject !== x.issuer).length;
  const problem = !bc?.ca
    ? 'is not a CA'
    : ku && (ku.usages & KEY_CERT_SIGN) === 0
      ? 'may not sign certificates (its keyUsage lacks keyCertSign)'
      : bc.pathLength !== undefined && below > bc.pathLength
        ? `allows ${bc.pathLength} intermediate certificate(s) below it, and the chain has ${below}`
        : undefined;
  return problem
    ? {
        code: 'ERR_TIMESTAMP_CHAIN_INVALID',
        message: `${nameOf(c)} issues a certificate in the TSA's chain but ${problem}`,
      }
    : undefined;
}

async function analyze(
  signer: TokenCert,
  certs: readonly TokenCert[],
  roots: Roots,
  crypto: Crypto,
): Promise<ChainVerdict> {
  const leaf = signer.cert;
  const eku = ekuIssue(leaf);
  if (eku) return { chain: [leaf], issue: eku };
  if (roots.certs.length === 0) {
    return { chain: [leaf], issue: { code: 'ERR_TIMESTAMP_UNTRUSTED_ROOT', message: 'no TSA root is pinned' } };
  }
  // Pinned roots first: when a token carries a look-alike of a root (same
  // name, same key), the builder takes the pinned certificate.
  const pool = [...roots.certs, ...certs.filter((c) => !roots.fingerprints.has(c.fingerprint)).map((c) => c.cert)];
  let built: X509Certificate[];
  try {
    built = [...(await new x509.X509ChainBuilder({ certificates: pool }).build(leaf, crypto))];
  } catch (e) {
    // The builder's one refusal is a certificate cycle; its own text says so.
    return {
      chain: [leaf],
      issue: { code: 'ERR_TIMESTAMP_CHAIN_INVALID', message: `the TSA's certificates form no chain: ${String(e)}` },
    };
  }
  const anchor = built.findIndex((c) => roots.fingerprints.has(bytesToHex(sha256(new Uint8Array(c.rawData)))));
  if (anchor < 0) {
    const last = built[built.length - 1]!;
    return {
      chain: built,
      issue: {
        code: 'ERR_TIMESTAMP_UNTRUSTED_ROOT',
        message: `the TSA certificate ${nameOf(leaf)} chains to ${nameOf(last)}, issued by ${nameOf(last, 'issuer')}, which is neither a pinned TSA root nor signed by one`,
      },
    };
  }
  const chain = built.slice(0, anchor + 1);
  for (let i = 1; i < chain.length; i++) {
    const issue = issuerIssue(chain, i);
    if (issue) return { chain, issue };
  }
  return { chain, issue: undefined };
}

/** Every certificate of the chain is within its validity at `at` (the token's genTime). */
export function datesIssue(chain: readonly X509Certificate[], at: Date): Issue | undefined {
  const t = at.getTime();
  const bad = chain.find((c) => t < c.notBefore.getTime() || t > c.notAfter.getTime());
  if (!bad) return undefined;
  return {
    code: 'ERR_TIMESTAMP_CHAIN_INVALID',
    message:
      `${nameOf(bad)} is valid from ${bad.notBefore.toISOString()} to ${bad.notAfter.toISOString()}, ` +
      `not at the token's genTime ${at.toISOString()}`,
  };
}

export function raise(issue: Issue): never {
  throw new ErstError(issue.code, issue.message);
}

/** Empties the chain cache (tests and benchmarks). */
export function clearChainCache(): void {
  verdicts.clear();
}
