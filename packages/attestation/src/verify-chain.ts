import type { AttestationCheck, AttestationReport } from './types.js';

// Placeholder until chain validation lands (issue 4): reports claims, proves nothing.
export async function verifyAttestation(check: AttestationCheck): Promise<AttestationReport> {
  const a = check.attestation;
  const claims: AttestationReport['claims'] = { key_non_exportable: a.key_non_exportable, token_info: a.token_info };
  if (a.key_attributes) claims.key_attributes = a.key_attributes;
  return {
    attested: false,
    claims,
    chain: [],
    vendor: null,
    errors: [{ code: 'ERR_ATTESTATION_INVALID', message: 'attestation chain validation is not implemented yet' }],
  };
}
