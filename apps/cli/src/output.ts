import type { VerifyResult } from '@erst/verify';

function shortKey(hex: string): string {
  return hex.length > 20 ? `${hex.slice(0, 8)}…${hex.slice(-8)}` : hex;
}

/** The human lines for one verified file. */
export function describeResult(file: string, r: VerifyResult): string {
  const lines: string[] = [];
  const status = r.valid ? 'VALID' : r.format === null ? 'UNREADABLE' : 'INVALID';
  const parts: string[] = [];
  if (r.format) parts.push(`format ${r.format}`);
  if (r.key) parts.push(`${r.key.algorithm} key ${shortKey(r.key.public_key)}${r.key.label ? ` "${r.key.label}"` : ''}`);
  if (r.format) parts.push(`trust ${r.trust}`);
  lines.push(`${r.valid ? 'ok  ' : 'FAIL'} ${file}: ${status}${parts.length ? ` (${parts.join(', ')})` : ''}`);
  for (const e of r.errors) lines.push(`     error ${e.code}: ${e.message}`);
  for (const w of r.warnings) lines.push(`     warning ${w.code}: ${w.message}`);
  if (r.attestation) {
    const a = r.attestation;
    lines.push(`     attestation: ${a.attested ? 'hardware-attested to a pinned root' : 'not proven'}; token claims key_non_exportable=${a.claims.key_non_exportable} (${a.claims.token_info})`);
    if (a.vendor) {
      const v = a.vendor;
      lines.push(
        `     ${v.vendor}: firmware ${v.firmware ?? '?'}, serial ${v.serial ?? '?'}, PIN policy ${v.pin_policy ?? '?'}, touch policy ${v.touch_policy ?? '?'}, form factor ${v.form_factor ?? '?'}`,
      );
    }
  }
  return lines.join('\n');
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
  };
}
