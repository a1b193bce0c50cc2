import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErstError, bytesToBase64, equalBytes } from '@erst/core';
import { fsyncDirectory, writeFileAtomic, writeFileAtomicAsync } from '@erst/node-io';
import {
  MAX_NOTE_BYTES,
  MerkleTree,
  type NoteSigner,
  TLOG_PROOF_HEADER,
  type SignedCheckpoint,
  TILE_WIDTH,
  encodeEntryBundle,
  formatTlogProof,
  inclusionPath,
  noteVerifier,
  openCheckpoint,
  parseCheckpoint,
  rangeHash,
  signCheckpoint,
  tileData,
  tilePath,
  tilesForSize,
} from '@erst/tlog';
import { acquireLock } from './lock.js';
import { ENTRY_SIZE, readEntries } from './reader.js';
import { logReader } from './source.js';

export interface OpenLogOptions {
  /** The log's origin, also the checkpoint key's name. */
  origin: string;
  /** Signs checkpoints (from `noteSigner` or `noteSignerFromSigner` in @erst/tlog). */
  signer: NoteSigner;
  /** How long a second writer waits for the lock before ERR_LOG_LOCKED (default 2,000 ms). */
  lockTimeoutMs?: number;
}

const DEFAULT_LOCK_TIMEOUT_MS = 2_000;

/**
 * The one writer of a log directory, holding its lock until `close()`.
 * Entries are appended in memory; `checkpoint()` makes them durable and signed.
 */
export class LogWriter {
  readonly dir: string;
  readonly origin: string;
  readonly #signer: NoteSigner;
  readonly #tree: MerkleTree;
  readonly #entries: Uint8Array[];
  #checkpoint: SignedCheckpoint;
  #release: (() => void) | undefined;

  /** @internal Use `openLog` or `initLog`. */
  constructor(
    dir: string,
    options: OpenLogOptions,
    state: { tree: MerkleTree; entries: Uint8Array[]; checkpoint: SignedCheckpoint; release: () => void },
  ) {
    this.dir = dir;
    this.origin = options.origin;
    this.#signer = options.signer;
    this.#tree = state.tree;
    this.#entries = state.entries;
    this.#checkpoint = state.checkpoint;
    this.#release = state.release;
  }

  /** Entries appended so far, checkpointed or not. */
  get size(): number {
    return this.#entries.length;
  }

  /** The last signed checkpoint (what readers see). */
  get signedCheckpoint(): SignedCheckpoint {
    return this.#checkpoint;
  }

  /** Appends one entry (a record's 32-byte `trace_hash`); returns its index. Durable only after `checkpoint()`. */
  append(entry: Uint8Array): number {
    this.#open();
    if (!(entry instanceof Uint8Array) || entry.length !== ENTRY_SIZE) {
      throw new ErstError('ERR_OPTIONS_INVALID', `\`entry\` must be ${ENTRY_SIZE} bytes (a trace_hash)`, {
        details: { options: ['entry'] },
      });
    }
    const copy = entry.slice();
    this.#entries.push(copy);
    return this.#tree.append(copy);
  }

  /** The entry at `index` (checkpointed or appended since), so a rerun can skip inputs already logged. */
  entry(index: number): Uint8Array {
    const e = this.#entries[index];
    if (!e) {
      throw new ErstError('ERR_OPTIONS_INVALID', `\`index\` ${index} is not below the log's size ${this.size}`, {
        details: { options: ['index'] },
      });
    }
    return e.slice();
  }

  /**
   * Writes the tiles and entry bundles for the current size (each through a
   * temporary file, fsynced, renamed; then their directories fsynced), and
   * only then signs the checkpoint and replaces `checkpoint` atomically. A
   * crash at any point leaves the previous checkpoint and every file it
   * references intact: files it references are never rewritten, since a
   * partial tile of a new size has a new name.
   */
  async checkpoint(): Promise<SignedCheckpoint> {
    this.#open();
    const size = this.size;
    if (size === this.#checkpoint.size) return this.#checkpoint;
    const dirs = new Set<string>();
    const writes: { path: string; data: Uint8Array }[] = [];
    for (const ref of tilesForSize(size, { fromSize: this.#checkpoint.size })) {
      const path = join(this.dir, ...tilePath(ref).split('/'));
      const data =
        ref.level === 'entries'
          ? encodeEntryBundle(this.#entries.slice(ref.index * TILE_WIDTH, ref.index * TILE_WIDTH + ref.width))
          : tileData(this.#tree, ref.level, ref.index, ref.width);
      writes.push({ path, data });
      for (let d = dirname(path); d.length > this.dir.length; d = dirname(d)) dirs.add(d);
    }
    for (const d of [...dirs].sort()) mkdirSync(d, { recursive: true });
    for (let i = 0; i < writes.length; i += 32) {
      await Promise.all(writes.slice(i, i + 32).map((w) => writeFileAtomicAsync(w.path, w.data)));
    }
    // New directories are durable once their parents are synced too, so sync the log directory last.
    for (const d of [...dirs].sort().reverse()) fsyncDirectory(d);
    fsyncDirectory(this.dir);
    const note = await signCheckpoint({ origin: this.origin, size, root: this.#tree.root(size), extensions: [] }, [
      this.#signer,
    ]);
    const checkpoint = checkSigned(note, this.#signer, this.origin);
    writeFileAtomic(join(this.dir, 'checkpoint'), note);
    this.#checkpoint = checkpoint;
    return checkpoint;
  }

  /**
   * The tlog-proof text for the entry at `index` against the last signed
   * checkpoint (call `checkpoint()` first for entries appended since).
   * `extra` goes in the proof's unauthenticated `extra` line.
   */
  proof(index: number, options: { extra?: Uint8Array } = {}): string {
    return this.prover(options)(index);
  }

  /**
   * `proof` for many entries, against the last signed checkpoint as it is
   * now: checkpoints signed later do not change what it returns (records a
   * checkpoint releases keep their proofs against it, and its timestamp
   * token in `extra`, however late they are written).
   */
  prover(options: { extra?: Uint8Array } = {}): (index: number) => string {
    const checkpoint = this.#checkpoint;
    const { size } = checkpoint;
    const extra = options.extra ? { extra: options.extra } : {};
    return (index) => {
      if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
        throw new ErstError('ERR_OPTIONS_INVALID', `\`index\` ${index} is not in the last checkpoint (size ${size})`, {
          details: { options: ['index'] },
        });
      }
      return formatTlogProof({
        ...extra,
        index,
        hashes: this.#tree.inclusionProof(index, size),
        checkpoint: checkpoint.note,
      });
    };
  }

  /**
   * `JSON.stringify` of what `prover` returns, for many entries (a log stage
   * splices it into each compact record line): the same text, made without
   * the proof's text or a base64 encoding per hash per entry. The checkpoint
   * note is escaped once; each proof hash is encoded once per prover
   * (neighbouring entries share most of their proof); the proof's other
   * lines (header, `extra`, `index`, base64) need no escaping, and a line
   * break is `\n`. Its memo grows with the entries it proves (two ranges each at most).
   */
  jsonProver(options: { extra?: Uint8Array } = {}): (index: number) => string {
    const checkpoint = this.#checkpoint;
    const { size } = checkpoint;
    const tree = this.#tree;
    const note = JSON.stringify(checkpoint.note).slice(1, -1);
    const extra = options.extra && options.extra.length > 0 ? `extra ${bytesToBase64(options.extra)}\\n` : '';
    const head = `"${TLOG_PROOF_HEADER}\\n${extra}index `;
    // Base64 of the hash of leaves [lo, hi), by width then start.
    const memo = new Map<number, Map<number, string>>();
    const encoded = (lo: number, hi: number): string => {
      let byStart = memo.get(hi - lo);
      if (!byStart) {
        byStart = new Map();
        memo.set(hi - lo, byStart);
      }
      let text = byStart.get(lo);
      if (text === undefined) {
        text = bytesToBase64(rangeHash(tree, lo, hi));
        byStart.set(lo, text);
      }
      return text;
    };
    return (index) => {
      if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
        throw new ErstError('ERR_OPTIONS_INVALID', `\`index\` ${index} is not in the last checkpoint (size ${size})`, {
          details: { options: ['index'] },
        });
      }
      let text = `${head}${index}\\n`;
      for (const hash of inclusionPath(index, size, encoded)) text += `${hash}\\n`;
      return `${text}\\n${note}"`;
    };
  }

  /** A consistency proof from an older size to the last checkpoint's. */
  consistencyProof(oldSize: number): Uint8Array[] {
    return this.#tree.consistencyProof(oldSize, this.#checkpoint.size);
  }

  /** Releases the lock. Entries appended since the last checkpoint are dropped. Idempotent. */
  async close(): Promise<void> {
    this.#release?.();
    this.#release = undefined;
  }

  #open(): void {
    if (!this.#release) throw new ErstError('ERR_OPTIONS_INVALID', 'the log writer is closed');
  }
}

/** Verifies a checkpoint note just signed (or read back) when the signer's public key is known. */
function checkSigned(note: string, signer: NoteSigner, origin: string): SignedCheckpoint {
  if (signer.publicKey) return openCheckpoint(note, noteVerifier(signer.name, signer.publicKey), { origin });
  // Without a public key only the text can be checked; the signature is the signer's word.
  const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
  const parsed = parseCheckpoint(text);
  if (parsed.origin !== origin) {
    throw new ErstError('ERR_CHECKPOINT_ORIGIN_MISMATCH', `the checkpoint's origin is not ${origin}`, {
      details: { expected: origin, origin: parsed.origin },
    });
  }
  return { ...parsed, note, text, verified: [] };
}

function checkOptions(options: OpenLogOptions): void {
  if (!options || typeof options.origin !== 'string' || !options.signer) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`origin` and `signer` are required', {
      details: { options: ['origin', 'signer'] },
    });
  }
  if (options.signer.name !== options.origin) {
    throw new ErstError('ERR_OPTIONS_INVALID', "the signer's key name must be the log's `origin`", {
      details: { options: ['origin'] },
    });
  }
}

/**
 * Creates a log in `dir` (made if missing) with a signed checkpoint of size
 * 0 and returns its writer. A directory that already holds a checkpoint
 * throws ERR_LOG_EXISTS.
 */
export async function initLog(dir: string, options: OpenLogOptions): Promise<LogWriter> {
  checkOptions(options);
  mkdirSync(dir, { recursive: true });
  const release = await acquireLock(dir, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  try {
    if (existsSync(join(dir, 'checkpoint'))) {
      throw new ErstError('ERR_LOG_EXISTS', `${dir} already holds a log`, { details: { dir } });
    }
    const tree = new MerkleTree();
    const note = await signCheckpoint({ origin: options.origin, size: 0, root: tree.root(), extensions: [] }, [
      options.signer,
    ]);
    const checkpoint = checkSigned(note, options.signer, options.origin);
    writeFileAtomic(join(dir, 'checkpoint'), note);
    return new LogWriter(dir, options, { tree, entries: [], checkpoint, release });
  } catch (e) {
    release();
    throw e;
  }
}

/**
 * Opens an existing log in `dir` for appending: takes the lock (waiting up
 * to `lockTimeoutMs`, then ERR_LOG_LOCKED), verifies the checkpoint (with the
 * signer's public key when it has one) and rebuilds the tree from the entry
 * bundles, which must hash to the checkpoint's root (ERR_TLOG_ROOT_MISMATCH).
 * Whatever a killed writer left beyond the checkpoint is ignored, and
 * overwritten by the next `checkpoint()`.
 */
export async function openLog(dir: string, options: OpenLogOptions): Promise<LogWriter> {
  checkOptions(options);
  const release = await acquireLock(dir, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  try {
    const read = logReader(dir);
    const data = await read('checkpoint', MAX_NOTE_BYTES);
    if (!data) throw new ErstError('ERR_FILE_NOT_FOUND', `${dir} holds no log checkpoint`, { details: { dir } });
    const checkpoint = checkSigned(new TextDecoder().decode(data), options.signer, options.origin);
    const { entries, tree } = await readEntries(read, checkpoint.size);
    if (!equalBytes(tree.root(), checkpoint.root)) {
      throw new ErstError('ERR_TLOG_ROOT_MISMATCH', `the entry bundles in ${dir} do not hash to its checkpoint`, {
        details: { dir, size: checkpoint.size },
      });
    }
    return new LogWriter(dir, options, { tree, entries, checkpoint, release });
  } catch (e) {
    release();
    throw e;
  }
}
