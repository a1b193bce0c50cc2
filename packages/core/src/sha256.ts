import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

type NodeCrypto = typeof import('node:crypto');

// Node's native SHA-256 runs about 8x faster than pure JS on 17 KB records.
// getBuiltinModule is synchronous and leaves browser bundles untouched.
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;

/** SHA-256, synchronous everywhere: native in Node, @noble/hashes in browsers. */
export const sha256: (data: Uint8Array) => Uint8Array = nodeCrypto
  ? (data) => nodeCrypto.createHash('sha256').update(data).digest()
  : (data) => nobleSha256(data);

const encoder = new TextEncoder();

/**
 * SHA-256 of a string's UTF-8 bytes. In Node the hash encodes as it reads,
 * which saves flattening and copying a 17 KB canonical string first.
 */
export const sha256Utf8: (text: string) => Uint8Array = nodeCrypto
  ? (text) => nodeCrypto.createHash('sha256').update(text, 'utf8').digest()
  : (text) => nobleSha256(encoder.encode(text));
