export { InMemorySigner, generateKeyPair, loadSoftwareSigner } from './memory-signer.js';
export { ThreadedSigner } from './threaded-signer.js';
export type { GeneratedKey, SoftwareKeySource } from './memory-signer.js';
