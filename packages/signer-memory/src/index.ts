export { InMemorySigner, generateKeyPair, loadSoftwareSigner } from './memory-signer.js';
export type { GeneratedKey, SoftwareKeySource } from './memory-signer.js';
