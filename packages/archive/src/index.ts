export type { ByteSource } from './bytes.js';
export { kindByName } from './item.js';
export type { InputKind, Item } from './item.js';
export { readJsonl } from './jsonl.js';
export { LineSplitter } from './lines.js';
export type { Line } from './lines.js';
export type { StreamOptions } from './jsonl.js';
export { readTar } from './tar.js';
export type { TarOptions } from './tar.js';
