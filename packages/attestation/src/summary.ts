import type { HardwareAttestation } from '@erst/core';
import { bytesToHex, isErstError, sha256 } from '@erst/core';
import { type ParsedCert, parsePem } from './certs.js';
import { statedFieldIssues } from './stated.js';
import type { AttestationReport, CertificateSummary, VendorDetails } from './types.js';
import { yubicoDetails } from './yubikey.js';

const summaries = new WeakMap<ParsedCert, CertificateSummary>();
const vendors = new WeakMap<ParsedCert, VendorDetails | null>();

export function summarize(c: ParsedCert): CertificateSummary {
  let s = summaries.get(c);
  if (!s) {
    s = {
      subject: c.subject,
      issuer: c.issuer,
      serial: c.serial,
      not_before: c.notBefore.toISOString(),
      not_after: c.notAfter.toISOString(),
      sha256_fingerprint: c.fingerprint,
      is_ca: c.basicConstraints?.ca === true,
      key_algorithm: c.keyAlgorithm,
      key_sha256_fingerprint: bytesToHex(sha256(c.spki)),
    };
    summaries.set(c, s);
  }
  return { ...s };
}

export function vendorOf(leaf: ParsedCert): VendorDetails | null {
  let v = vendors.get(leaf);
  if (v === undefined) {
    v = yubicoDetails(leaf);
    vendors.set(leaf, v);
  }
  return v ? { ...v } : null;
}

export interface ParsedAttestation {
  /** One entry per certificate in the record, null where it did not parse. */
  parsed: (ParsedCert | null)[];
  errors: AttestationReport['errors'];
}

/** Parses every certificate of an attestation (cached by PEM text); unparseable ones become errors. */
export function parseAttestationCerts(attestation: HardwareAttestation): ParsedAttestation {
  const list = attestation.certificates ?? [];
  const parsed: (ParsedCert | null)[] = [];
  const errors: AttestationReport['errors'] = [];
  if (list.length === 0) {
    errors.push({ code: 'ERR_ATTESTATION_MALFORMED', message: 'the attestation holds no certificates' });
  }
  list.forEach((c, i) => {
    try {
      parsed.push(parsePem(c.pem, `certificate ${i}`));
    } catch (e) {
      if (!isErstError(e)) throw e;
      parsed.push(null);
      errors.push({ code: e.code, message: e.message });
    }
  });
  return { parsed, errors };
}

/**
 * What an attestation's certificates say, without judging them: each
 * certificate summarized in the record's order (null where it does not
 * parse), the vendor details decoded from the first one, and where the
 * record's stated names and serials differ from its certificates (compared as
 * the verifier compares them). For display (`erst audit inspect`);
 * verifyAttestation is what validates.
 */
export function describeAttestation(attestation: HardwareAttestation): {
  certificates: (CertificateSummary | null)[];
  vendor: VendorDetails | null;
  errors: AttestationReport['errors'];
} {
  const { parsed, errors } = parseAttestationCerts(attestation);
  const first = parsed[0];
  return {
    certificates: parsed.map((c) => (c ? summarize(c) : null)),
    vendor: first ? vendorOf(first) : null,
    errors: [...errors, ...statedFieldIssues(attestation, parsed)],
  };
}
