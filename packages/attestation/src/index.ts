export { verifyAttestation } from './verify-chain.js';
export type { AttestationCheck, AttestationReport, CertificateSummary, VendorDetails } from './types.js';
