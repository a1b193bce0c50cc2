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
export { trustOptions, withTrustOptions } from './trust-args.js';
export { helpExample, helpWidth, joinPemValues, redactUsageMessage } from './cli-args.js';
export type { TrustArgs } from './trust-args.js';
export { LineSplitter } from './lines.js';
export type { Line } from './lines.js';
