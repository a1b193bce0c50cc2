export * from './index.js';
export { DIGEST_BLOCK, checkInputs, inputDigest, readInputs, startInputDigests } from './node/inputs.js';
export type { InputDigests } from './node/inputs.js';
export { directoryFiles, hashFiles } from './node/file-hashes.js';
export type { ReadOptions } from './node/options.js';
