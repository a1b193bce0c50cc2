import { utf8Bytes } from './bytes.js';
import { goBool, goString, goStringSlice, goStruct } from './gojson.js';
import { canonicalize } from './jcs.js';
import type { JsonObject } from './json.js';
import type { ErstPayload, HardwareAttestation } from './record.js';

/** Fields of a 2.0.0 record that are not part of its own hash input. */
export const V2_SEAL_FIELDS = ['trace_hash', 'signature'] as const;

/** 2.0.0: JCS of the whole record less `trace_hash` and `signature`, as text. */
export function hashInputTextV2(record: Readonly<Record<string, unknown>>): string {
  const { trace_hash: _h, signature: _s, ...covered } = record;
  return canonicalize(covered);
}

/** 2.0.0: the hash input bytes. */
export function hashInputV2(record: Readonly<Record<string, unknown>>): Uint8Array {
  return utf8Bytes(hashInputTextV2(record));
}

/** Fields of a 2.1.0 record that are not part of its own hash input: each is made from `trace_hash`. */
export const V2_1_SEAL_FIELDS = ['trace_hash', 'signature', 'timestamp_token', 'log_proof'] as const;

/**
 * 2.1.0: JCS of the whole record less `trace_hash`, `signature`,
 * `timestamp_token` and `log_proof` (the proof and the token are made from
 * `trace_hash`, so they cannot be inside what `trace_hash` hashes). A 2.0.0
 * record's `log_proof` or `timestamp_token` member, if it had one, stays
 * covered: each version keeps its own rule.
 */
export function hashInputTextV2_1(record: Readonly<Record<string, unknown>>): string {
  const { trace_hash: _h, signature: _s, timestamp_token: _t, log_proof: _p, ...covered } = record;
  return canonicalize(covered);
}

/** 2.1.0: the hash input bytes. */
export function hashInputV2_1(record: Readonly<Record<string, unknown>>): Uint8Array {
  return utf8Bytes(hashInputTextV2_1(record));
}

function goPayload(p: ErstPayload): string {
  return goStruct([
    ['envelope_xdr', goString(p.envelope_xdr)],
    ['result_meta_xdr', goString(p.result_meta_xdr)],
    ['events', goStringSlice(p.events)],
    ['logs', goStringSlice(p.logs)],
  ]);
}

function goAttestation(a: HardwareAttestation): string {
  const certs =
    a.certificates === null
      ? 'null'
      : '[' +
        a.certificates
          .map((c) =>
            goStruct([
              ['pem', goString(c.pem)],
              ['subject', goString(c.subject)],
              ['issuer', goString(c.issuer)],
              ['serial', goString(c.serial)],
            ]),
          )
          .join(',') +
        ']';
  return goStruct([
    ['certificates', certs],
    ['token_info', goString(a.token_info)],
    ['key_non_exportable', goBool(a.key_non_exportable)],
    ['retrieved_at', goString(a.retrieved_at)],
  ]);
}

/** 1.0.0: Go's json.Marshal(payload). */
export function hashInputTextV1_0(payload: ErstPayload): string {
  return goPayload(payload);
}

/** 1.1.0: Go's json.Marshal of {payload, hardware_attestation,omitempty}. */
export function hashInputTextV1_1(payload: ErstPayload, attestation: HardwareAttestation | undefined): string {
  const fields: [string, string][] = [['payload', goPayload(payload)]];
  if (attestation) fields.push(['hardware_attestation', goAttestation(attestation)]);
  return goStruct(fields);
}

/** erst TypeScript audit:sign: JCS of {trace, hardware_attestation?}. */
export function hashInputTextLegacyTs(trace: JsonObject, attestation: HardwareAttestation | undefined): string {
  return canonicalize(attestation ? { trace, hardware_attestation: attestation } : { trace });
}

export function hashInputV1_0(payload: ErstPayload): Uint8Array {
  return utf8Bytes(hashInputTextV1_0(payload));
}

export function hashInputV1_1(payload: ErstPayload, attestation: HardwareAttestation | undefined): Uint8Array {
  return utf8Bytes(hashInputTextV1_1(payload, attestation));
}

export function hashInputLegacyTs(trace: JsonObject, attestation: HardwareAttestation | undefined): Uint8Array {
  return utf8Bytes(hashInputTextLegacyTs(trace, attestation));
}
