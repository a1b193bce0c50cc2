import type { AttestationReport, VendorDetails } from '@erst/attestation';
import type { DescribedTimestampToken, RecordDescription } from './describe.js';
import type { VerifyResult } from './verify.js';

/**
 * Where the text of `describeRecordText` points its reader for what reading
 * a record does not do (verify it, print the hashed bytes). A program fills
 * in its own commands; left out, the text says only what was not done.
 */
export interface DescribeTextHints {
  /** How to print the bytes that are hashed. */
  hashInput?: string;
  /** How to verify the record's log proof. */
  verifyLog?: string;
  /** How to verify its timestamp token (against pinned TSA roots). */
  verifyTimestamp?: string;
  /** How to validate its attestation chain (against pinned roots). */
  verifyAttestation?: string;
  /** What alone proves the vendor details of an attestation leaf. */
  proveVendor?: string;
}

const hinted = (hint: string | undefined): string => (hint ? ` (${hint})` : '');

/** "yubico: firmware 5.7.1, serial 12345678, PIN policy once, touch policy never, form factor USB-C keychain" */
export function describeVendor(v: VendorDetails): string {
  const parts = [
    v.firmware !== undefined && `firmware ${v.firmware}`,
    v.serial !== undefined && `serial ${v.serial}`,
    v.pin_policy !== undefined && `PIN policy ${v.pin_policy}`,
    v.touch_policy !== undefined && `touch policy ${v.touch_policy}`,
    v.form_factor !== undefined && `form factor ${v.form_factor}`,
  ].filter((x): x is string => typeof x === 'string');
  return `${v.vendor}: ${parts.length ? parts.join(', ') : 'no details'}`;
}

/**
 * The lines for a record's timestamp token: what the token says, read
 * without verifying it (that needs pinned TSA roots), and whether it is over
 * this record's trace_hash at all.
 */
export function timestampLines(t: DescribedTimestampToken | null, hints: DescribeTextHints = {}): string[] {
  if (!t) return ['timestamp token:  (none)'];
  if (t.error) return [`timestamp token:  does not parse (${t.error})`];
  const accuracy = t.accuracy === null ? 'no stated accuracy' : `accuracy ±${t.accuracy} ms`;
  const imprint = t.imprint_matches_trace_hash
    ? 'matches trace_hash'
    : `does NOT match trace_hash (a ${t.hash_algorithm} imprint of something else: a token moved from another record)`;
  return [
    `timestamp token:  genTime ${t.gen_time} (${accuracy}); not verified here${hinted(hints.verifyTimestamp)}`,
    `  TSA:            ${t.tsa ?? '(the token does not carry its certificate)'}`,
    `  serial:         ${t.serial}`,
    `  policy:         ${t.policy}`,
    `  imprint:        ${imprint}`,
    `  certificates:   ${t.certificates.length ? t.certificates.join('; ') : '(none)'}`,
  ];
}

function attestationLines(a: RecordDescription['attestation'], hints: DescribeTextHints): string[] {
  if (!a) return ['attestation:      (none)'];
  const out = [
    `attestation:      token "${a.token_info}"; claims key_non_exportable=${a.key_non_exportable}; retrieved ${a.retrieved_at}`,
  ];
  if (a.key_attributes) {
    const attrs = Object.entries(a.key_attributes).map(([k, v]) => `${k}=${v}`);
    out.push(`key attributes:   ${attrs.join(' ') || '(none)'} (claims, not proof)`);
  }
  if (a.vendor) {
    const proof = hints.proveVendor ?? 'verification against a pinned root';
    out.push(`vendor details:   ${describeVendor(a.vendor)} (from the leaf; proven only by ${proof})`);
  }
  out.push(
    `chain:            ${a.certificates.length} certificate(s), leaf first as stated; not validated here${hinted(hints.verifyAttestation)}`,
  );
  a.certificates.forEach((c, i) => {
    const p = c.parsed;
    out.push(
      `  [${i}] subject:     ${p?.subject ?? c.subject}`,
      `      issuer:      ${p?.issuer ?? c.issuer}`,
      `      serial:      ${p?.serial ?? c.serial}`,
    );
    if (!p) out.push('      (the PEM does not parse as an X.509 certificate)');
    else
      out.push(
        `      valid:       ${p.not_before} to ${p.not_after}`,
        `      CA:          ${p.is_ca ? 'yes' : 'no'}`,
        `      key:         ${p.key_algorithm}, SPKI SHA-256 ${p.key_sha256_fingerprint}`,
        `      SHA-256:     ${p.sha256_fingerprint}`,
      );
  });
  for (const e of a.errors) out.push(`  error ${e.code}: ${e.message}`);
  return out;
}

/**
 * What `describeRecord` found, as lines of text for a person (`erst audit
 * inspect`). The lines quote the record (field names, certificate subjects,
 * token labels) as they are: escape each one (`escapeForDisplay` of
 * `@erst/core`) before it reaches a terminal.
 *
 * @example
 * const lines = describeRecordText('log.json', await describeRecord(bytes));
 */
export function describeRecordText(file: string, d: RecordDescription, hints: DescribeTextHints = {}): string[] {
  const out = [
    `file:             ${file}`,
    `format:           ${d.format}`,
    `key:              ${d.algorithm} ${d.public_key}`,
    `transaction hash: ${d.transaction_hash ?? '(none)'}`,
    `timestamp:        ${d.timestamp ?? '(none)'}`,
    `hash:             ${d.claimed_hash} (${d.hash_matches ? 'matches the content' : `content hashes to ${d.computed_hash}`})`,
    `signature over:   ${d.has_signature ? d.signs : '(no signature: sealed by its log proof)'}`,
    `hash input:       ${d.hash_input_bytes} bytes${hinted(hints.hashInput)}`,
    `signed fields:    ${d.covered.join(', ')}`,
    `unsigned fields:  ${d.uncovered.length ? `${d.uncovered.join(', ')} (can be changed without detection)` : '(none)'}`,
  ];
  const proof = d.log_proof;
  if (proof?.error) out.push(`log proof:        does not parse (${proof.error})`);
  else if (proof) {
    const signers = proof.signatures.map((x) => `${x.name}+${x.key_id}`).join(', ') || 'nobody';
    out.push(
      `log proof:        index ${proof.index} of ${proof.tree_size} in log "${proof.origin}", ${proof.proof_hashes} proof hash(es); checkpoint signed by ${signers}; not verified here${hinted(hints.verifyLog)}`,
    );
  }
  if (d.format === '2.1.0') out.push(...timestampLines(d.timestamp_token, hints));
  out.push(...attestationLines(d.attestation, hints));
  return out;
}

function shortKey(hex: string): string {
  return hex.length > 20 ? `${hex.slice(0, 8)}…${hex.slice(-8)}` : hex;
}

function attestationReportLines(a: AttestationReport): string[] {
  const lines: string[] = [];
  const chain = a.chain.map((c) => `"${c.subject}"`).join(' <- ');
  if (a.attested) {
    lines.push(`     attestation: hardware-attested to a pinned root; chain ${chain}`);
  } else {
    const why = a.errors.length
      ? `: ${[...new Set(a.errors.map((e) => e.code))].join(', ')}`
      : ' (no attestation root pinned)';
    lines.push(`     attestation: NOT proven${why}; chain ${chain || '(none parsed)'}`);
  }
  if (a.vendor) lines.push(`     ${a.attested ? '' : 'unproven '}${describeVendor(a.vendor)}`);
  const c = a.claims;
  const attrs = c.key_attributes
    ? `; key attributes ${Object.entries(c.key_attributes)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`
    : '';
  lines.push(
    `     token "${c.token_info}" claims key_non_exportable=${c.key_non_exportable}${attrs} (claims, not proof)`,
  );
  return lines;
}

/**
 * A verification result as lines of text for a person (`erst audit verify`):
 * the verdict with format, key, trust, log position and timestamp, then each
 * error and warning, then the attestation. Quotes the record as it is:
 * escape each line before it reaches a terminal.
 *
 * @example
 * const lines = describeResultText('log.json', await new Verifier({ publicKeys }).verify(bytes));
 */
export function describeResultText(file: string, r: VerifyResult): string[] {
  const status = r.valid ? 'VALID' : r.format === null ? 'UNREADABLE' : 'INVALID';
  const parts: string[] = [];
  if (r.format) parts.push(`format ${r.format}`);
  if (r.key)
    parts.push(`${r.key.algorithm} key ${shortKey(r.key.public_key)}${r.key.label ? ` "${r.key.label}"` : ''}`);
  if (r.format) parts.push(`trust ${r.trust}`);
  // Where the record's log proof puts it; "unchecked" when no key that vouches for its checkpoint was given.
  if (r.log)
    parts.push(`log ${r.log.origin} index ${r.log.index} of ${r.log.tree_size}${r.log.verified ? '' : ' unchecked'}`);
  // When a TSA vouched for the record's time, and who (only shown once its token verified).
  const t = r.timestamp_token;
  if (t?.verified) parts.push(`timestamped ${t.timestamped_at} by "${t.tsa}"`);
  const lines = [`${r.valid ? 'ok  ' : 'FAIL'} ${file}: ${status}${parts.length ? ` (${parts.join(', ')})` : ''}`];
  for (const e of r.errors) lines.push(`     error ${e.code}: ${e.message}`);
  for (const w of r.warnings) lines.push(`     warning ${w.code}: ${w.message}`);
  if (r.attestation) lines.push(...attestationReportLines(r.attestation));
  return lines;
}
