import { escapeForDisplay } from '@erst/core';
import type { AttestationReport, VerifyResult } from '@erst/verify';

function shortKey(hex: string): string {
  return hex.length > 20 ? `${hex.slice(0, 8)}…${hex.slice(-8)}` : hex;
}

type VendorDetails = NonNullable<AttestationReport['vendor']>;

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

/** The token's claims, labelled as claims. */
export function describeClaims(c: AttestationReport['claims']): string {
  const attrs = c.key_attributes
    ? `; key attributes ${Object.entries(c.key_attributes)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`
    : '';
  return `token "${c.token_info}" claims key_non_exportable=${c.key_non_exportable}${attrs} (claims, not proof)`;
}

function describeAttestationReport(a: AttestationReport): string[] {
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
  lines.push(`     ${describeClaims(a.claims)}`);
  return lines;
}

/**
 * Lines for a person's terminal. Each line quotes file names, field names,
 * certificate subjects and token labels from untrusted input: escaped per line
 * so that none of them can add a line, erase one or move the cursor.
 */
export function displayLines(lines: readonly string[]): string {
  return lines.map(escapeForDisplay).join('\n');
}

/** The human lines for one verified file. */
export function describeResult(file: string, r: VerifyResult): string {
  const lines: string[] = [];
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
  lines.push(`${r.valid ? 'ok  ' : 'FAIL'} ${file}: ${status}${parts.length ? ` (${parts.join(', ')})` : ''}`);
  for (const e of r.errors) lines.push(`     error ${e.code}: ${e.message}`);
  for (const w of r.warnings) lines.push(`     warning ${w.code}: ${w.message}`);
  if (r.attestation) lines.push(...describeAttestationReport(r.attestation));
  return displayLines(lines);
}

/** The machine shape promised by the CLI contract (plus the detail fields). */
export function jsonResult(file: string, r: VerifyResult): Record<string, unknown> {
  return {
    file,
    valid: r.valid,
    format: r.format,
    trust: r.trust,
    errors: r.errors,
    warnings: r.warnings,
    integrity: r.integrity,
    key: r.key,
    trace_hash: r.trace_hash,
    transaction_hash: r.transaction_hash,
    timestamp: r.timestamp,
    covered: r.covered,
    uncovered: r.uncovered,
    attestation: r.attestation,
    log: r.log,
    timestamp_token: r.timestamp_token,
  };
}
