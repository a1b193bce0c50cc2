export { LogWriter, initLog, openLog } from './writer.js';
export type { OpenLogOptions } from './writer.js';
export { ENTRY_SIZE, readLog, verifyLogConsistency } from './reader.js';
export type { LogContents, ReadLogOptions } from './reader.js';
export type { LogSourceOptions } from './source.js';
export { LOCK_FILE } from './lock.js';
