import { bytesToHex, type ErrorCode, publicKeyToSpki } from '@erst/core';
import { clearCertCache, KEY_CERT_SIGN, type ParsedCert, parsePem } from './certs.js';
import { clearStatedNameCache, statedFieldIssues } from './stated.js';
import { parseAttestationCerts, summarize, vendorOf } from './summary.js';
import type { AttestationCheck, AttestationReport } from './types.js';
import { webCrypto } from './x509.js';

type Issue = { code: ErrorCode; message: string };

const DEFAULT_SKEW_SECONDS = 300;
/** A token holds 2 to 4; more is an attack on the chain search, refused before any parsing or signature work. */
export const MAX_CERTIFICATES = 10;
const CACHE_LIMIT = 1024;

// ---------- signatures (the expensive part), cached per (child, issuer) pair ----------

const signatures = new Map<string, Promise<boolean>>();

function signedBy(child: ParsedCert, issuer: ParsedCert): Promise<boolean> {
  const key = `${child.fingerprint}:${issuer.spkiHex}`;
  let p = signatures.get(key);
  if (!p) {
    if (signatures.size >= CACHE_LIMIT * 4) signatures.clear();
    p = child.cert.verify({ publicKey: issuer.cert.publicKey, signatureOnly: true }, webCrypto()).catch(() => false);
    signatures.set(key, p);
  }
  return p;
}

/** Names link byte for byte and the issuer's key verifies the child's signature. */
async function issuedBy(child: ParsedCert, issuer: ParsedCert): Promise<boolean> {
  return child.issuerDer === issuer.subjectDer && (await signedBy(child, issuer));
}

function label(c: ParsedCert, i?: number): string {
  return `${i === undefined ? '' : `certificate ${i} `}"${c.subject}"`;
}

// ---------- pinned roots ----------

interface Roots {
  certs: ParsedCert[];
  key: string;
  unparseable: number;
}
const rootsByArray = new WeakMap<readonly string[], Roots>();
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function parseRoots(pems: readonly string[]): Roots {
  let r = rootsByArray.get(pems);
  if (r) return r;
  const byFp = new Map<string, ParsedCert>();
  let unparseable = 0;
  for (const text of pems) {
    const blocks = text.match(PEM_BLOCK) ?? [];
    if (blocks.length === 0) unparseable++;
    for (const block of blocks) {
      try {
        const c = parsePem(block, 'pinned attestation root');
        byFp.set(c.fingerprint, c);
      } catch {
        unparseable++;
      }
    }
  }
  const certs = [...byFp.values()];
  r = {
    certs,
    key: certs
      .map((c) => c.fingerprint)
      .sort()
      .join(','),
    unparseable,
  };
  rootsByArray.set(pems, r);
  return r;
}

// ---------- the structural analysis: time- and record-independent, cached ----------

interface ChainAnalysis {
  /** The chain leaf first, duplicates removed, reordered when the record's order was wrong but a valid order exists. */
  ordered: ParsedCert[];
  /** The pinned root the chain ends at, or null. */
  anchor: ParsedCert | null;
  /** Certificates whose validity dates must hold (the chain, plus the pinned root when it is not in the chain). */
  dated: ParsedCert[];
  errors: Issue[];
}

const analyses = new Map<string, Promise<ChainAnalysis>>();

function analyze(certs: ParsedCert[], roots: Roots): Promise<ChainAnalysis> {
  const key = `${certs.map((c) => c.fingerprint).join(',')}|${roots.key}`;
  let p = analyses.get(key);
  if (!p) {
    if (analyses.size >= CACHE_LIMIT) analyses.clear();
    p = analyzeUncached(certs, roots);
    // An unexpected failure is not an answer: do not keep it.
    p.catch(() => analyses.delete(key));
    analyses.set(key, p);
  }
  return p;
}

/**
 * The one order, leaf first, in which every certificate's issuer name is the
 * next one's subject, when names leave only one; undefined when they leave
 * none or several. Signatures are the caller's to check: this costs none, so
 * a chain of look-alike names cannot make the search quadratic in signatures.
 */
function orderByNames(certs: readonly ParsedCert[]): ParsedCert[] | undefined {
  const bySubject = new Map<string, ParsedCert[]>();
  for (const c of certs) {
    const same = bySubject.get(c.subjectDer);
    if (same) same.push(c);
    else bySubject.set(c.subjectDer, [c]);
  }
  const parentOf = new Map<ParsedCert, ParsedCert>();
  const isParent = new Set<ParsedCert>();
  for (const c of certs) {
    const candidates = (bySubject.get(c.issuerDer) ?? []).filter((p) => p !== c);
    if (candidates.length > 1) return undefined;
    const parent = candidates[0];
    if (!parent) continue;
    if (isParent.has(parent)) return undefined; // two certificates name one issuer: no single chain holds both
    parentOf.set(c, parent);
    isParent.add(parent);
  }
  const leaves = certs.filter((c) => !isParent.has(c));
  if (leaves.length !== 1) return undefined;
  const path = [leaves[0]!];
  for (let next = parentOf.get(path[0]!); next && path.length < certs.length; next = parentOf.get(next))
    path.push(next);
  return path.length === certs.length ? path : undefined;
}

async function linksHold(path: readonly ParsedCert[]): Promise<boolean> {
  for (let i = 0; i + 1 < path.length; i++) {
    if (!(await issuedBy(path[i]!, path[i + 1]!))) return false;
  }
  return true;
}

/**
 * The expensive, per-chain part of verification, in four named steps: drop
 * duplicates, put the chain in order, check each issuer's constraints, find
 * the pinned root it ends at. The result is cached per chain and root set.
 */
async function analyzeUncached(given: ParsedCert[], roots: Roots): Promise<ChainAnalysis> {
  const { unique, errors } = dropDuplicates(given);
  const order = await orderChain(unique);
  errors.push(...order.errors);
  const { ordered } = order;
  errors.push(...leafIssues(ordered));
  ordered.forEach((c, i) => {
    if (i > 0) errors.push(...issuerIssues(c, i, `certificate ${i}`, ordered));
  });
  const found = await findAnchor(ordered, roots);
  errors.push(...found.errors);
  return { ordered, anchor: found.anchor, dated: found.dated, errors };
}

/** Duplicates, by DER bytes: each repeat is reported, and only the first occurrence is analyzed. */
function dropDuplicates(given: readonly ParsedCert[]): {
  unique: ParsedCert[];
  errors: Issue[];
} {
  const errors: Issue[] = [];
  const unique: ParsedCert[] = [];
  const firstAt = new Map<string, number>();
  given.forEach((c, i) => {
    const first = firstAt.get(c.fingerprint);
    if (first !== undefined) {
      errors.push({
        code: 'ERR_ATTESTATION_DUPLICATE_CERT',
        message: `certificate ${i} ${label(c)} repeats certificate ${first}`,
      });
    } else {
      firstAt.set(c.fingerprint, i);
      unique.push(c);
    }
  });
  return { unique, errors };
}

/**
 * Each certificate must be issued (names and signature) by the next. When a
 * link breaks but another order holds everywhere, the record's order is what
 * is wrong: that is reported, and the valid order is analyzed from then on.
 */
async function orderChain(unique: ParsedCert[]): Promise<{ ordered: ParsedCert[]; errors: Issue[] }> {
  const broken: Issue[] = [];
  for (let i = 0; i + 1 < unique.length; i++) {
    const child = unique[i]!;
    const parent = unique[i + 1]!;
    if (child.issuerDer !== parent.subjectDer) {
      broken.push({
        code: 'ERR_ATTESTATION_CHAIN_SIGNATURE',
        message: `${label(child, i)} names issuer "${child.issuer}", but the next certificate is ${label(parent)}`,
      });
    } else if (!(await signedBy(child, parent))) {
      broken.push({
        code: 'ERR_ATTESTATION_CHAIN_SIGNATURE',
        message: `the signature on ${label(child, i)} does not verify under the key of ${label(parent, i + 1)}`,
      });
    }
  }
  if (broken.length === 0) return { ordered: unique, errors: [] };
  const byNames = orderByNames(unique);
  const found = byNames && (await linksHold(byNames)) ? byNames : undefined;
  if (!found) return { ordered: unique, errors: broken };
  const valid = found.map((c) => unique.indexOf(c)).join(', ');
  return {
    ordered: found,
    errors: [
      {
        code: 'ERR_ATTESTATION_CHAIN_ORDER',
        message: `the certificates are not leaf first, each followed by its issuer; the valid order is ${valid}`,
      },
    ],
  };
}

/** The leaf certifies an end-entity key: a CA certificate there is refused. */
function leafIssues(ordered: readonly ParsedCert[]): Issue[] {
  const leaf = ordered[0];
  if (leaf?.basicConstraints?.ca !== true) return [];
  return [
    {
      code: 'ERR_ATTESTATION_LEAF_IS_CA',
      message: `the leaf ${label(leaf)} is a CA certificate; an attestation leaf must certify an end-entity key`,
    },
  ];
}

/** A certificate that issues another (at `position` in `ordered`) must be a CA allowed to sign certificates. */
function issuerIssues(c: ParsedCert, position: number, where: string, ordered: readonly ParsedCert[]): Issue[] {
  const issues: Issue[] = [];
  if (c.basicConstraints?.ca !== true) {
    const why = c.basicConstraints ? 'basicConstraints cA is false' : 'no basicConstraints';
    issues.push({
      code: 'ERR_ATTESTATION_NOT_CA',
      message: `${where} ${label(c)} issues a certificate but is not a CA (${why})`,
    });
  }
  // RFC 5280 4.2.1.3: without keyUsage every use is allowed; with it, keyCertSign is required.
  if (c.keyUsage !== undefined && (c.keyUsage & KEY_CERT_SIGN) === 0) {
    issues.push({
      code: 'ERR_ATTESTATION_KEY_USAGE',
      message: `${where} ${label(c)} issues a certificate but its keyUsage lacks keyCertSign`,
    });
  }
  const maxPath = c.basicConstraints?.pathLength;
  if (maxPath !== undefined) {
    // Non-self-issued intermediates below this CA (the leaf does not count).
    const below = ordered.slice(1, position).filter((x) => !x.selfIssued).length;
    if (below > maxPath) {
      issues.push({
        code: 'ERR_ATTESTATION_PATH_LENGTH',
        message:
          `${where} ${label(c)} allows ${maxPath} intermediate certificate(s) below it, and the chain has ` +
          `${below}`,
      });
    }
  }
  return issues;
}

/**
 * Anchor: the chain ends at a pinned root itself (same DER), or at a
 * certificate the pinned root signed. Either way the root's own dates and
 * constraints are what count: a certificate that merely carries a root's key
 * stands in for nothing. `dated` is every certificate whose dates must hold.
 */
async function findAnchor(
  ordered: readonly ParsedCert[],
  roots: Roots,
): Promise<{
  anchor: ParsedCert | null;
  dated: ParsedCert[];
  errors: Issue[];
}> {
  const dated = [...ordered];
  const last = ordered[ordered.length - 1];
  if (!last || roots.certs.length === 0) return { anchor: null, dated, errors: [] };
  const pinned = roots.certs.find((r) => r.fingerprint === last.fingerprint);
  // In the chain, so its constraints and dates were checked with the rest.
  if (pinned) return { anchor: pinned, dated, errors: [] };

  // Signature under the root's key decides; names only order the search.
  const candidates = [...roots.certs].sort(
    (a, b) => Number(b.subjectDer === last.issuerDer) - Number(a.subjectDer === last.issuerDer),
  );
  for (const r of candidates) {
    if (await signedBy(last, r)) {
      dated.push(r);
      return {
        anchor: r,
        dated,
        errors: issuerIssues(r, ordered.length, 'the pinned root', ordered),
      };
    }
  }

  const sameKey = roots.certs.find((r) => r.spkiHex === last.spkiHex);
  if (sameKey) {
    const errors: Issue[] = [
      {
        code: 'ERR_ATTESTATION_CHAIN_SIGNATURE',
        message:
          `${label(last, ordered.length - 1)} carries a pinned root's key but is neither that root's ` +
          `certificate nor signed by it`,
      },
    ];
    // The certificates below it verify under the root's key: judge them
    // against the real root, so its own defects are reported too.
    if (ordered.length > 1) errors.push(...issuerIssues(sameKey, ordered.length - 1, 'the pinned root', ordered));
    dated.push(sameKey);
    return { anchor: null, dated, errors };
  }
  const unparseable = roots.unparseable
    ? ` (${roots.unparseable} pinned root text(s) held no parseable certificate)`
    : '';
  return {
    anchor: null,
    dated,
    errors: [
      {
        code: 'ERR_ATTESTATION_UNTRUSTED_ROOT',
        message:
          `the chain ends at ${label(last)}, issued by "${last.issuer}", which is neither a pinned root nor ` +
          `signed by one${unparseable}`,
      },
    ],
  };
}

// ---------- per-record checks: cheap ----------

function dateIssues(dated: ParsedCert[], times: readonly Date[], skewMs: number): Issue[] {
  const issues: Issue[] = [];
  for (const t of times) {
    const ms = t.getTime();
    if (Number.isNaN(ms)) {
      issues.push({
        code: 'ERR_ATTESTATION_MALFORMED',
        message: 'a time to check the certificates at is not a valid date',
      });
      continue;
    }
    for (const c of dated) {
      if (ms + skewMs < c.notBefore.getTime()) {
        issues.push({
          code: 'ERR_ATTESTATION_NOT_YET_VALID',
          message: `${label(c)} is valid from ${c.notBefore.toISOString()}, after ${t.toISOString()}`,
        });
      } else if (ms - skewMs > c.notAfter.getTime()) {
        issues.push({
          code: 'ERR_ATTESTATION_EXPIRED',
          message: `${label(c)} expired ${c.notAfter.toISOString()}, before ${t.toISOString()}`,
        });
      }
    }
  }
  return issues;
}

/**
 * Validates a record's hardware attestation: the chain verifies signature by
 * signature to a pinned root (matched by public key), CA constraints hold above
 * the leaf, every certificate is valid at every time in `times`, and the leaf
 * certifies the record's signing key. `attested` only when all hold.
 *
 * More than MAX_CERTIFICATES certificates are refused unread.
 *
 * Signature and constraint checks are cached by the chain's and the roots'
 * fingerprints; dates, the stated fields and the key are checked per call.
 * Never throws for bad input: every problem is an error in the report.
 */
export async function verifyAttestation(check: AttestationCheck): Promise<AttestationReport> {
  const a = check.attestation;
  const claims: AttestationReport['claims'] = {
    key_non_exportable: a.key_non_exportable,
    token_info: a.token_info,
  };
  if (a.key_attributes) claims.key_attributes = { ...a.key_attributes };

  const count = a.certificates?.length ?? 0;
  if (count > MAX_CERTIFICATES) {
    const errors = [
      {
        code: 'ERR_ATTESTATION_TOO_MANY_CERTS' as const,
        message: `the attestation holds ${count} certificates; at most ${MAX_CERTIFICATES} are accepted`,
      },
    ];
    return { attested: false, claims, chain: [], vendor: null, errors };
  }
  const { parsed, errors } = parseAttestationCerts(a);
  const certs = parsed.filter((c): c is ParsedCert => c !== null);
  const report: AttestationReport = {
    attested: false,
    claims,
    chain: certs.map(summarize),
    vendor: parsed[0] ? vendorOf(parsed[0]) : null,
    errors,
  };
  if (errors.length > 0) return report;

  errors.push(...statedFieldIssues(a, parsed));
  const roots = parseRoots(check.roots);
  const analysis = await analyze(certs, roots);
  errors.push(...analysis.errors);

  const leaf = analysis.ordered[0]!;
  const recordSpki = bytesToHex(publicKeyToSpki(check.publicKey));
  if (leaf.spkiHex !== recordSpki) {
    errors.push({
      code: 'ERR_ATTESTATION_KEY_MISMATCH',
      message:
        `the leaf ${label(leaf)} certifies a ${leaf.keyAlgorithm} key that is not the record's ` +
        `${check.publicKey.algorithm} signing key`,
    });
  }
  const skewMs = (check.clockSkewSeconds ?? DEFAULT_SKEW_SECONDS) * 1000;
  errors.push(...dateIssues(analysis.dated, check.times, skewMs));

  report.attested = errors.length === 0 && analysis.anchor !== null;
  return report;
}

/** Empties the validation caches (tests and benchmarks). */
export function clearValidationCache(): void {
  signatures.clear();
  analyses.clear();
  clearStatedNameCache();
  clearCertCache();
}
