export { buildAttestation } from './build.js';
export { verifyAttestation, clearValidationCache } from './verify-chain.js';
export { describeAttestation } from './summary.js';
export { YUBICO_OID } from './yubikey.js';
export type {
  AttestationCheck,
  AttestationReport,
  CertificateSummary,
  CollectedAttestation,
  VendorDetails,
} from './types.js';
