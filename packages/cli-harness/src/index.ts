export { handle, run } from './run.js';
export type { CliApp, RunContext } from './run.js';
export { packageVersion } from './parser.js';
export type { ParserSetup } from './parser.js';
export { errorReporting } from './errors.js';
export type { ErrorReporting, ErrorTable } from './errors.js';
export { TRUST_FLAGS, trustOptions, withTrustOptions } from './trust-args.js';
export type { TrustArgs } from './trust-args.js';
export { helpExample, helpWidth, joinPemValues, redactUsageMessage } from './cli-args.js';
