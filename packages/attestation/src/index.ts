export { buildAttestation } from './build.js';
export { verifyAttestation } from './verify-chain.js';
export type { AttestationCheck, AttestationReport, CertificateSummary, CollectedAttestation, VendorDetails } from './types.js';
