export { INPUT_OPEN_FLAGS, fileError, notRegularFile, openInputFile, readInputFile, readTextFile } from './files.js';
export {
  atomicTempPath,
  createAtomicTemp,
  fsyncDirectory,
  isAtomicTempName,
  writeFileAtomic,
  writeFileAtomicAsync,
  writeOutput,
} from './atomic.js';
export { loadTrustOptions } from './trust.js';
export { readSecret } from './secret.js';
export type { SecretSources } from './secret.js';
export type { TrustSources } from './trust.js';
