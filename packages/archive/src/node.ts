export * from './index.js';
export { checkInputs, inputDigest, readInputs } from './node/inputs.js';
export type { ReadOptions } from './node/options.js';
