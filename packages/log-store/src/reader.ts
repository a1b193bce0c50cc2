import { ErstError, equalBytes } from '@erst/core';
import {
  type Checkpoint,
  HASH_SIZE,
  MAX_NOTE_BYTES,
  MerkleTree,
  type NoteVerifier,
  type SignedCheckpoint,
  TILE_WIDTH,
  openCheckpoint,
  parseEntryBundle,
  parseTile,
  tileData,
  tilePath,
  tilesForSize,
  verifyConsistency,
} from '@erst/tlog';
import { type LogReader, type LogSourceOptions, logReader } from './source.js';

/** Every entry of an erst log is one record's 32-byte `trace_hash`. */
export const ENTRY_SIZE = 32;

export interface ReadLogOptions extends LogSourceOptions {
  /** The log's key(s) (from `parseVerifierKey`); the checkpoint must be signed by one. */
  verifiers: NoteVerifier | readonly NoteVerifier[];
  /** The expected origin (default: the first verifier's name). */
  origin?: string;
  /** Use this signed checkpoint instead of fetching `checkpoint` (e.g. one a record's proof carries). */
  checkpoint?: string;
}

/** A log read and checked in full. */
export interface LogContents {
  readonly checkpoint: SignedCheckpoint;
  /** Entry i is the entry at index i, for every index below `checkpoint.size`. */
  readonly entries: readonly Uint8Array[];
  /** The tree of those entries, for proofs (`tree.inclusionProof(i)`, `tree.consistencyProof(old)`). */
  readonly tree: MerkleTree;
}

// A bundle of 256 32-byte entries is 8,704 bytes; leave room for a log of longer entries to be refused by parse, not by size.
const MAX_BUNDLE_BYTES = TILE_WIDTH * (2 + 0xffff);

/**
 * Reads a log from a directory or an http(s) URL and checks all of it: the
 * checkpoint's signature and origin, every entry bundle (each 32-byte entries,
 * exactly as many as the checkpoint's size), every Merkle tile recomputed from
 * the entries and compared byte for byte, and the root. Throws
 * ERR_NOTE_UNVERIFIED, ERR_CHECKPOINT_ORIGIN_MISMATCH, ERR_TLOG_BUNDLE_INVALID,
 * ERR_TLOG_TILE_INVALID, ERR_TLOG_ROOT_MISMATCH, ERR_LOG_FETCH_FAILED, ...
 */
export async function readLog(source: string | URL, options: ReadLogOptions): Promise<LogContents> {
  const read = logReader(source, options);
  const note = options.checkpoint ?? (await readCheckpointNote(read));
  const checkpoint = openCheckpoint(note, options.verifiers, { origin: options.origin });
  const { entries, tree } = await readEntries(read, checkpoint.size);
  if (!equalBytes(tree.root(), checkpoint.root)) {
    throw new ErstError(
      'ERR_TLOG_ROOT_MISMATCH',
      `the entries do not hash to the checkpoint's root (size ${checkpoint.size})`,
      {
        details: { size: checkpoint.size },
      },
    );
  }
  await checkTiles(read, tree, checkpoint.size);
  return { checkpoint, entries, tree };
}

async function readCheckpointNote(read: LogReader): Promise<Uint8Array> {
  const data = await read('checkpoint', MAX_NOTE_BYTES);
  if (!data)
    throw new ErstError('ERR_FILE_NOT_FOUND', 'the log has no checkpoint', { details: { file: 'checkpoint' } });
  return data;
}

/** The entries of a log of `size`, from its bundles, and their tree. */
export async function readEntries(read: LogReader, size: number): Promise<{ entries: Uint8Array[]; tree: MerkleTree }> {
  const tree = new MerkleTree();
  const entries: Uint8Array[] = [];
  const refs = tilesForSize(size).filter((t) => t.level === 'entries');
  // A few requests in flight at once (a log served over HTTP is many small files); each batch's entries join the
  // tree as it arrives, so that the thread (which may also be reading an archive) is never held long.
  await inBatches(
    refs,
    16,
    async (ref) => {
      const path = tilePath(ref);
      const data = await read(path, MAX_BUNDLE_BYTES);
      if (!data)
        throw new ErstError('ERR_TLOG_BUNDLE_INVALID', `entry bundle ${path} is missing`, { details: { path } });
      return parseEntryBundle(data, ref.width, { entrySize: ENTRY_SIZE, path });
    },
    (bundles) => {
      for (const bundle of bundles) {
        for (const e of bundle) {
          entries.push(e);
          tree.append(e);
        }
      }
    },
  );
  return { entries, tree };
}

async function checkTiles(read: LogReader, tree: MerkleTree, size: number): Promise<void> {
  const refs = tilesForSize(size, { entries: false });
  await inBatches(refs, 16, async (ref) => {
    const path = tilePath(ref);
    const data = await read(path, TILE_WIDTH * HASH_SIZE);
    if (!data) throw new ErstError('ERR_TLOG_TILE_INVALID', `tile ${path} is missing`, { details: { path } });
    parseTile(data, ref.width, path);
    if (!equalBytes(data, tileData(tree, ref.level as number, ref.index, ref.width))) {
      throw new ErstError('ERR_TLOG_TILE_INVALID', `tile ${path} does not match the entries`, { details: { path } });
    }
  });
}

/**
 * `fn` over `items`, `width` at a time; `then` sees each batch's results, in
 * order. Between batches the thread's event loop gets a turn: a directory's
 * files are read synchronously, so without one a whole log's reading and
 * hashing ran as one chain of microtasks, and a reader of the same thread (an
 * archive's, in erst-batch) waited for all of it (0.45 s for 50,000 entries,
 * while the verifier threads had nothing to do).
 */
async function inBatches<T, R>(
  items: readonly T[],
  width: number,
  fn: (item: T) => Promise<R>,
  then?: (results: R[]) => void,
): Promise<void> {
  for (let i = 0; i < items.length; i += width) {
    const results = await Promise.all(items.slice(i, i + width).map(fn));
    then?.(results);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Checks that `log` grew from `old` (a checkpoint seen earlier, e.g. kept in
 * a state file): same origin, not smaller, and a consistency proof computed
 * from the log's tree verifies between the two roots. A rewritten or
 * rolled-back log throws ERR_TLOG_CONSISTENCY_INVALID.
 */
export function verifyLogConsistency(old: Checkpoint, log: LogContents): void {
  const now = log.checkpoint;
  if (old.origin !== now.origin) {
    throw new ErstError('ERR_CHECKPOINT_ORIGIN_MISMATCH', `the old checkpoint is for another log (${old.origin})`, {
      details: { expected: now.origin, origin: old.origin },
    });
  }
  if (old.size > now.size) {
    throw new ErstError('ERR_TLOG_CONSISTENCY_INVALID', `the log shrank from ${old.size} to ${now.size} entries`, {
      details: { oldSize: old.size, newSize: now.size },
    });
  }
  verifyConsistency(old.size, now.size, log.tree.consistencyProof(old.size, now.size), old.root, now.root);
}
