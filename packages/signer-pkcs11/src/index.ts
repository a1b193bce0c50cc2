export { Pkcs11Signer, defaultPoolSize, openPkcs11Signer, signingMechanisms } from './signer.js';
export type { ThreadSignerData } from './thread-sign.js';
// The contract these threads and @erst/batch-sign's share, defined beside Signer.
export type { ThreadSigning } from '@erst/core';
export type { Pkcs11SignerStats } from './signer.js';
export {
  ENV as PKCS11_ENV,
  parseAlgorithm,
  parseCertificateBundle,
  parseKeyId,
  parsePivSlot,
  parseSlot,
  pkcs11ConfigFromEnv,
} from './config.js';
export type { AttestationMode, Pkcs11Config } from './config.js';
export { generateTokenKeyPair, hsmInfo } from './admin.js';
export { describeHsmInfoText } from './describe-text.js';
export type {
  GenerateKeyOptions,
  GeneratedTokenKey,
  HsmCertificate,
  HsmInfo,
  HsmKey,
  HsmMechanism,
  HsmSlot,
  HsmToken,
  TokenSelection,
} from './admin.js';
export { PIV_ATTESTATION_LABEL, findAttestationLeaf } from './attestation.js';
export {
  CKK_EC_EDWARDS,
  CKM_EC_EDWARDS_KEY_PAIR_GEN,
  CKM_EDDSA,
  EC_PARAMS_ED25519,
  EC_PARAMS_P256,
  PIV_SLOT_IDS,
  mechanismName,
  pivSlotForId,
} from './constants.js';
export { decodeEcPoint } from './objects.js';
