import { escapeForDisplay } from '@erst/core';
import type { VerifyResult } from '@erst/verify';

/**
 * Lines for a person's terminal. Each line quotes file names, field names,
 * certificate subjects and token labels from untrusted input: escaped per line
 * so that none of them can add a line, erase one or move the cursor.
 */
export function displayLines(lines: readonly string[]): string {
  return lines.map(escapeForDisplay).join('\n');
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
