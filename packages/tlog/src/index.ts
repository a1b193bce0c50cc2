export {
  MAX_CHECKPOINT_EXTENSIONS,
  MAX_LINE_BYTES,
  MAX_NOTE_BYTES,
  MAX_NOTE_SIGNATURES,
  MAX_PROOF_BYTES,
  MAX_PROOF_HASHES,
} from './limits.js';
export {
  EMPTY_ROOT,
  MerkleTree,
  consistencyProof,
  inclusionPath,
  inclusionProof,
  leafHash,
  nodeHash,
  rangeHash,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
  InclusionMemo,
} from './merkle.js';
export type { HashSource } from './merkle.js';
export {
  HASH_SIZE,
  MAX_ENTRY_BYTES,
  TILE_HEIGHT,
  TILE_WIDTH,
  encodeEntryBundle,
  encodeTileIndex,
  parseEntryBundle,
  parseTile,
  tileData,
  tileHashSource,
  tilePath,
  tilesForSize,
} from './tiles.js';
export type { TileRef } from './tiles.js';
export {
  SIGNATURE_TYPE,
  formatVerifierKey,
  isValidKeyName,
  keyIdHex,
  noteKeyId,
  noteSigner,
  noteSignerFromSigner,
  noteVerifier,
  parseVerifierKey,
} from './keys.js';
export type { MessageSigner, NoteSigner, NoteVerifier } from './keys.js';
export { openNote, parseNote, signNote } from './note.js';
export type { Note, NoteSignature, OpenedNote } from './note.js';
export { formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from './checkpoint.js';
export type { Checkpoint, SignedCheckpoint } from './checkpoint.js';
export { HashLineMemo, TLOG_PROOF_HEADER, formatTlogProof, parseTlogProof, verifyTlogProof } from './proof.js';
export type { TlogProof, VerifiedTlogProof, VerifyTlogProofOptions } from './proof.js';
