export { fileError, readInputFile, readTextFile } from './files.js';
export { atomicTempPath, fsyncDirectory, isAtomicTempName, writeFileAtomic, writeFileAtomicAsync } from './atomic.js';
export { trustOptions, withTrustOptions } from './trust-args.js';
export type { TrustArgs } from './trust-args.js';
export { LineSplitter } from './lines.js';
export type { Line } from './lines.js';
