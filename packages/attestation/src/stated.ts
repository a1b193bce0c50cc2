import type { ErrorCode, HardwareAttestation } from '@erst/core';
import { type ParsedCert, normalizeSerial } from './certs.js';
import { x509 } from './x509.js';

type Issue = { code: ErrorCode; message: string };

const CACHE_LIMIT = 4096;
const nameMatches = new Map<string, boolean>();

function canonicalName(text: string): string | undefined {
  try {
    const json = new x509.Name(text).toJSON();
    return json
      .flatMap((rdn) =>
        Object.entries(rdn).flatMap(([type, values]) => values.map((v) => `${type.toUpperCase()}=${v}`)),
      )
      .sort()
      .join('\n');
  } catch {
    return undefined;
  }
}

/** The record's name string says the same as the certificate's name (exactly, or the same attributes in another order or spacing). */
function sameName(stated: string, actual: string, actualDer: string): boolean {
  if (stated === actual) return true;
  const key = `${actualDer}\n${stated}`;
  let m = nameMatches.get(key);
  if (m === undefined) {
    if (nameMatches.size >= CACHE_LIMIT) nameMatches.clear();
    const a = canonicalName(stated);
    m = a !== undefined && a === canonicalName(actual);
    nameMatches.set(key, m);
  }
  return m;
}

/**
 * Where the subject, issuer and serial a record states for its certificates
 * differ from the certificates themselves. `erst audit inspect` and the
 * verifier both use this, so inspect never flags a record verify accepts.
 */
export function statedFieldIssues(attestation: HardwareAttestation, parsed: (ParsedCert | null)[]): Issue[] {
  const issues: Issue[] = [];
  (attestation.certificates ?? []).forEach((stated, i) => {
    const c = parsed[i];
    if (!c) return;
    const wrong: string[] = [];
    if (!sameName(stated.subject, c.subject, c.subjectDer))
      wrong.push(`subject "${stated.subject}" (the certificate says "${c.subject}")`);
    if (!sameName(stated.issuer, c.issuer, c.issuerDer))
      wrong.push(`issuer "${stated.issuer}" (the certificate says "${c.issuer}")`);
    if (normalizeSerial(stated.serial) !== c.serial)
      wrong.push(`serial "${stated.serial}" (the certificate says "${c.serial}")`);
    if (wrong.length) {
      issues.push({
        code: 'ERR_ATTESTATION_MALFORMED',
        message: `certificate ${i}: the record states ${wrong.join(', ')}`,
      });
    }
  });
  return issues;
}

/** Empties the name-comparison cache (tests and benchmarks). */
export function clearStatedNameCache(): void {
  nameMatches.clear();
}
