/**
 * Bounds on everything read from a log, a note or a proof, so that no input
 * can make a reader spend unbounded memory or time.
 */

/** A signed note (a checkpoint with its signatures) is at most this many bytes of UTF-8. */
export const MAX_NOTE_BYTES = 256 * 1024;
/**
 * At most this many signature lines in a note (Go's sumdb/note stops at 100;
 * signed-note requires at least 16 to be accepted).
 */
export const MAX_NOTE_SIGNATURES = 100;
/** Any one line of a note or proof (a post-quantum signature line is about 6.6 KB). */
export const MAX_LINE_BYTES = 64 * 1024;
/** At most this many extension lines after a checkpoint's root hash. */
export const MAX_CHECKPOINT_EXTENSIONS = 16;
/** An inclusion proof for a tree of up to 2^64 leaves has at most 64 hashes. */
export const MAX_PROOF_HASHES = 64;
/** A tlog-proof is at most this many bytes (its `extra` line, hashes and the checkpoint). */
export const MAX_PROOF_BYTES = MAX_NOTE_BYTES + 2 * MAX_LINE_BYTES;
/** Tree sizes and indexes are JavaScript safe integers (2^53 - 1 entries). */
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;
