import { isUtf8 } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fsyncSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErstError, bytesToHex, equalBytes, hexToBytes, type Signer } from '@erst/core';
import { selectBackend, signatureIsStrictlyEncoded } from '@erst/verify';
import { LineSplitter } from '@erst/archive';
import { createAtomicTemp, fsyncDirectory, openInputFile } from '@erst/node-io';

/*
 * The state file is JSON Lines, so that it is written and read as a stream
 * (it holds one line per record, and archives hold millions):
 *
 *   {"erst_batch_state":3,"shard":"1/4","sequence":N,"previous":"<hex>" | null}   header
 *   ["logs/a.json","<trace_hash>","<sha256 of the record's bytes>"]   one per record
 *   {"end":{"records":N,"sha256":"<hex>","signature":{...} | null}}  trailer
 *
 * `sha256` is SHA-256 of every byte before the trailer line. With
 * a `state.key`, `signature` is {"algorithm":"ed25519","public_key":"<hex>",
 * "value":"<hex>"}: Ed25519 over those 32 digest bytes. The key that checks
 * it is the one given as `state.key`, never the one the file names.
 *
 * That `sha256` is the state's digest. `sequence` counts the runs that wrote
 * a state (1 for a baseline) and `previous` is the digest of the state the
 * run compared against: a chain, so that a state put back from an older run
 * shows up against a digest kept elsewhere (`state.expect`). Version 1 files
 * (no sequence) still load, as sequence 0 with no previous digest.
 *
 * A run with a verifiable log (`log`) adds the log's checkpoint to the header,
 * `"log":{"origin":"...","size":N,"root":"<base64>"}`, covered by the digest
 * and the signature: the next run requires the log to be consistent with it
 * (only grown). A run without a log carries the previous one's forward.
 *
 * Version 3: a signed state (`state.key`) also keeps each record's result,
 * as a fourth element (a `StoredOutcome` object), and the header names the
 * configuration those results hold under, `"config":"<hex>"` (see
 * `configDigest` in run.ts: the trust material, the record size limit and
 * the tool's version). The next run with the same key and configuration
 * verifies again only the records whose bytes changed; any other record's
 * result is the one the state keeps. Version 2 and 1 files still load: they
 * keep no results, so everything is verified again.
 *
 * A version 3 state that keeps results may end, before its trailer, with one
 * line per `.jsonl`, `.tar` or `.tar.gz` input read whole without a failure:
 *
 *   {"input":{"path":"logs.jsonl","sha256":"<hex>","first":N,"records":N}}
 *
 * `sha256` is the digest of every byte of the file (compressed, for .tar.gz)
 * that `inputDigest` of @erst/archive gives: SHA-256 over the SHA-256 of
 * each 8 MiB block, so that the next run hashes the blocks on every core;
 * `first` and `records` the place of its records' lines among the entries.
 * The same bytes at the same path, read under the same configuration and
 * shard, are the same records: the next run checks that one digest and
 * reuses those lines' results without splitting, decompressing or hashing
 * the records one by one. Covered by the digest and the signature like every
 * line before the trailer; any mismatch reads the input record by record.
 *
 * A directory read whole without a failure has a line too, with no digest:
 *
 *   {"input":{"path":"logs","directory":true,"first":N,"records":N}}
 *
 * The next run lists its files as a read would (same walk, same order) and
 * hashes every one of them, on threads of their own: the same files, each
 * hashing to its entry's content hash, reuse those lines' results in one go.
 */

export const STATE_VERSION = 3;
/** Versions that still load: no results kept (1: no sequence either). */
const V1 = 1;
const V2 = 2;

export interface StateOptions {
  path: string;
  /** Signs the new state and checks the previous one. */
  key?: Signer;
  /** Allow starting without a previous state when a key is given. */
  init: boolean;
  /** `K/N` of this run, or null. */
  shard: string | null;
  /** The digest the previous state must have (kept outside the archive by whoever runs erst-batch). */
  expect?: string;
  /** The log checkpoint this run verified, recorded in the new state (else the previous state's is kept). */
  log?: StateLog;
  /**
   * With `key`: the digest of everything that can change a verdict. The new
   * state keeps every result under it, and the previous state's results
   * are reused where it names the same digest.
   */
  config?: string;
  /** Verify everything again even where the previous state's results hold. */
  full?: boolean;
}

/** A log checkpoint as a state file keeps it: enough to require consistency with it later. */
export interface StateLog {
  origin: string;
  size: number;
  /** The root hash, base64 as in the checkpoint. */
  root: string;
}

const BASE64_ROOT = /^[A-Za-z0-9+/]{43}=$/;

function isStateLog(v: unknown): v is StateLog {
  const l = v as StateLog;
  return (
    typeof l === 'object' &&
    l !== null &&
    typeof l.origin === 'string' &&
    l.origin !== '' &&
    Number.isSafeInteger(l.size) &&
    l.size >= 0 &&
    typeof l.root === 'string' &&
    BASE64_ROOT.test(l.root)
  );
}

/** Which state a file holds: its place in the chain of runs, and its digest. */
export interface StateIdentity {
  sequence: number;
  /** SHA-256 of the state file before its trailer (hex). */
  digest: string;
  /** The digest of the state the run that wrote it compared against. */
  previous: string | null;
}

export interface StateDiff {
  missing: string[];
  changed: { source: string; message: string }[];
  added: string[];
}

/**
 * A record's trace hash and content hash as one string (compact in a Map),
 * then, when the state kept its result, that result's index in
 * `Loaded.outcomes` (results repeat: each distinct text is held once).
 */
function fingerprint(traceHash: string, contentHash: string, outcome?: number): string {
  return outcome === undefined ? `${traceHash}:${contentHash}` : `${traceHash}:${contentHash}:${outcome}`;
}

/** The trace and content hashes of a Map value, without the result. */
function hashesOf(value: string): string {
  const second = value.indexOf(':', value.indexOf(':') + 1);
  return second < 0 ? value : value.slice(0, second);
}

/** A previous result that may stand for a record whose bytes did not change. */
export interface KeptResult {
  traceHash: string;
  contentHash: string;
  /** The `StoredOutcome`, as JSON text. */
  outcome: string;
}

/** What a kept result must look like to be used (the state is signed by our key: this is a check for bugs). */
function isStoredOutcome(v: unknown): boolean {
  const o = v as Record<string, unknown>;
  const nullableString = (x: unknown) => x === null || typeof x === 'string';
  return (
    typeof o === 'object' &&
    o !== null &&
    !Array.isArray(o) &&
    typeof o.valid === 'boolean' &&
    nullableString(o.format) &&
    nullableString(o.key) &&
    nullableString(o.label) &&
    nullableString(o.day) &&
    typeof o.trust === 'string' &&
    Array.isArray(o.errors) &&
    o.errors.every((e) => Array.isArray(e) && e.length === 2 && e.every((x) => typeof x === 'string')) &&
    Array.isArray(o.warnings) &&
    o.warnings.every((w) => typeof w === 'string') &&
    (o.timestamp === undefined || nullableString(o.timestamp)) &&
    (o.proof === undefined || (Number.isSafeInteger(o.proof) && (o.proof as number) >= 0)) &&
    (o.note === undefined || typeof o.note === 'string')
  );
}

const VISITED = '';

/**
 * Where an input read whole sits in a state: its file's digest (null for a
 * directory: each of its files' digests is its entry's content hash), and
 * its records' lines.
 */
interface InputLine {
  sha256: string | null;
  first: number;
  records: number;
}

function isInputLine(v: unknown): v is { path: string; sha256?: string; directory?: true } & Omit<InputLine, 'sha256'> {
  const l = v as { path?: unknown; directory?: unknown } & Record<keyof InputLine, unknown>;
  return (
    typeof l === 'object' &&
    l !== null &&
    !Array.isArray(l) &&
    typeof l.path === 'string' &&
    l.path !== '' &&
    (l.directory === undefined
      ? typeof l.sha256 === 'string' && SHA256_HEX.test(l.sha256)
      : l.directory === true && l.sha256 === undefined) &&
    Number.isSafeInteger(l.first) &&
    (l.first as number) >= 0 &&
    Number.isSafeInteger(l.records) &&
    (l.records as number) >= 1
  );
}

/** An input read whole, as the previous state keeps it: its digest and the place of its records' lines. */
export type KeptRange = Readonly<InputLine>;

/** An input read whole whose every record kept its result: those results, in reading order. */
export interface KeptInput {
  sha256: string;
  sources: string[];
  kept: KeptResult[];
}

export interface Loaded {
  log: StateLog | undefined;
  /** The configuration the kept results hold under (version 3 with results only). */
  config: string | undefined;
  entries: Map<string, string>;
  /** Each distinct kept result's JSON text, as written; entries name them by index. */
  outcomes: string[];
  /** Inputs read whole, by path (states that keep results only). */
  inputs: Map<string, InputLine>;
  /** Each entry line's source, fingerprint and kept result's index (-1: none), in order (states that keep results only). */
  lines: { sources: string[]; prints: string[]; kept: number[] };
  /**
   * A state read whole (`loadSigned`): its bytes, and where each entry line
   * starts (one more: where the last one ends), so that a range of them can
   * be written again as they are.
   */
  raw?: { bytes: Buffer; starts: number[] };
  records: number;
  signatureChecked: boolean;
  identity: StateIdentity;
}

class Tampered extends Error {
  constructor(
    message: string,
    readonly code: 'ERR_STATE_TAMPERED' | 'ERR_STATE_ROLLBACK' = 'ERR_STATE_TAMPERED',
  ) {
    super(message);
  }
}

function stateMalformed(why: string): Tampered {
  return new Tampered(`the state file is not a valid erst-batch state (${why})`);
}

const UTF8 = new TextDecoder();

type Header = { shard: string | null; sequence: number; previous: string | null; log?: StateLog; config?: string };

/** The first line of a state, parsed: its version, shard, place in the chain, log checkpoint and configuration. */
function parseHeader(value: unknown): Header {
  const h = value as {
    erst_batch_state?: unknown;
    shard?: unknown;
    sequence?: unknown;
    previous?: unknown;
    log?: unknown;
    config?: unknown;
  };
  if (typeof h !== 'object' || h === null || !(typeof h.shard === 'string' || h.shard === null))
    throw stateMalformed('no header');
  if (h.erst_batch_state === V1) return { shard: h.shard, sequence: 0, previous: null };
  if (
    (h.erst_batch_state === STATE_VERSION || h.erst_batch_state === V2) &&
    Number.isSafeInteger(h.sequence) &&
    (h.sequence as number) >= 1 &&
    (h.previous === null || (typeof h.previous === 'string' && SHA256_HEX.test(h.previous))) &&
    (h.log === undefined || isStateLog(h.log)) &&
    (h.config === undefined || (h.erst_batch_state === STATE_VERSION && SHA256_HEX.test(h.config as string)))
  ) {
    const header: Header = { shard: h.shard, sequence: h.sequence as number, previous: h.previous as string | null };
    if (h.log !== undefined) header.log = h.log as StateLog;
    if (h.config !== undefined) header.config = h.config as string;
    return header;
  }
  throw stateMalformed('no header');
}

/** What a state's lines hold, as both loaders collect them. */
class Collected {
  readonly entries = new Map<string, string>();
  readonly outcomes: string[] = [];
  readonly outcomeIds = new Map<string, number>();
  readonly inputs = new Map<string, InputLine>();
  readonly lines = { sources: [] as string[], prints: [] as string[], kept: [] as number[] };
  /** `loadSigned` only: where each entry line starts, and where the last one ends. */
  readonly starts: number[] = [];

  /** The index of a kept result's text (each distinct text is held once). */
  outcome(text: string): number {
    let kept = this.outcomeIds.get(text);
    if (kept === undefined) {
      kept = this.outcomes.push(text) - 1;
      this.outcomeIds.set(text, kept);
    }
    return kept;
  }

  entry(header: Header, source: string, print: string, kept: number | undefined): void {
    this.entries.set(source, print);
    if (header.config !== undefined) {
      this.lines.sources.push(source);
      this.lines.prints.push(print);
      this.lines.kept.push(kept ?? -1);
    }
  }

  /** An `{"input":...}` line (header.config is set); throws unless it is one. */
  input(value: object, line: number): void {
    const input = (value as { input: unknown }).input;
    if (!isInputLine(input) || input.first + input.records > this.lines.sources.length) {
      throw stateMalformed(`line ${line} is not an input`);
    }
    // The same path twice (an input named twice): the first is the one kept, as for entries it makes no odds.
    if (!this.inputs.has(input.path)) {
      this.inputs.set(input.path, { sha256: input.sha256 ?? null, first: input.first, records: input.records });
    }
  }
}

/** The longest line a state may have. */
const MAX_STATE_LINE = 64 * 1024 * 1024;
/** A signed state up to this size is read whole and authenticated before it is parsed (see `loadSigned`). */
const SIGNED_READ_WHOLE_MAX = 1 << 30;

/**
 * The previous state, checked: its digest against its trailer, its
 * signature against `state.key`, its header, every line. A signed state is
 * authenticated first and then read by `loadSigned`; anything that path does
 * not take (and every unsigned state) is read by `loadStrict`.
 */
async function loadState(opts: StateOptions): Promise<Loaded> {
  if (opts.key) {
    const signed = await loadSigned(opts as StateOptions & { key: Signer });
    if (signed) return signed;
  }
  return loadStrict(opts);
}

/**
 * Reads every line as JSON, as it streams in, then checks the digest and the
 * signature: the reader for a state nothing vouches for yet.
 */
export async function loadStrict(opts: StateOptions): Promise<Loaded> {
  const got = new Collected();
  const hash = createHash('sha256');
  const splitter = new LineSplitter(MAX_STATE_LINE);
  let header: Header | undefined;
  let trailer: Record<string, unknown> | undefined;
  const take = (bytes: Uint8Array, line: number): void => {
    if (trailer) throw stateMalformed(`line ${line} follows the trailer`);
    let value: unknown;
    const text = UTF8.decode(bytes);
    try {
      value = JSON.parse(text);
    } catch {
      throw stateMalformed(`line ${line} is not JSON`);
    }
    if (!header) {
      header = parseHeader(value);
    } else if (Array.isArray(value)) {
      const [source, trace, content, outcome] = value as unknown[];
      if (
        got.inputs.size > 0 ||
        !(value.length === 3 || (value.length === 4 && header.config !== undefined)) ||
        typeof source !== 'string' ||
        typeof trace !== 'string' ||
        typeof content !== 'string'
      ) {
        throw stateMalformed(`line ${line} is not an entry`);
      }
      let kept: number | undefined;
      if (value.length === 4) {
        // The result's own text, as written: the next state repeats it byte for byte.
        const prefix = `[${JSON.stringify(source)},${JSON.stringify(trace)},${JSON.stringify(content)},`;
        if (!isStoredOutcome(outcome) || !text.startsWith(prefix) || !text.endsWith(']')) {
          throw stateMalformed(`line ${line} is not an entry`);
        }
        kept = got.outcome(text.slice(prefix.length, -1));
      }
      got.entry(header, source, fingerprint(trace, content, kept), kept);
    } else if (header.config !== undefined && typeof value === 'object' && value !== null && 'input' in value) {
      got.input(value, line);
    } else if (typeof value === 'object' && value !== null && 'end' in value) {
      trailer = (value as { end: Record<string, unknown> }).end;
      return;
    } else {
      throw stateMalformed(`line ${line} is not an entry`);
    }
    hash.update(bytes).update('\n');
  };
  // Never blocks on a FIFO; anything but a regular file is refused (ERR_FILE_NOT_REGULAR).
  const stream = (await openInputFile(opts.path)).createReadStream({ highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (const l of splitter.push(chunk)) {
        if ('tooLong' in l) throw stateMalformed(`line ${l.line} is too long`);
        take(l.bytes, l.line);
      }
    }
    for (const l of splitter.end()) {
      if ('tooLong' in l) throw stateMalformed(`line ${l.line} is too long`);
      take(l.bytes, l.line);
    }
  } catch (e) {
    if (e instanceof Tampered) throw e;
    throw new ErstError(
      'ERR_FILE_UNREADABLE',
      `${opts.path}: cannot read the state file (${(e as { code?: string }).code ?? 'error'})`,
    );
  } finally {
    stream.destroy();
  }
  if (!header) throw stateMalformed('empty');
  if (!trailer || typeof trailer !== 'object') throw stateMalformed('no trailer: the file is cut short');
  const digest = hash.digest();
  if (trailer.sha256 !== bytesToHex(digest))
    throw new Tampered('the state file was changed after it was written: its SHA-256 does not match its trailer');
  if (opts.key) await checkSignature(opts.key, trailer, digest);
  return loaded(opts, header, got, digest, opts.key !== undefined);
}

/** The trailer's signature must be `key`'s over `digest`; throws Tampered if not. */
async function checkSignature(key: Signer, trailer: Record<string, unknown>, digest: Uint8Array): Promise<void> {
  const sig = trailer.signature as { algorithm?: unknown; public_key?: unknown; value?: unknown } | null | undefined;
  if (!sig || typeof sig !== 'object') throw new Tampered('the state file is not signed, and `state.key` was given');
  const expected = (await key.publicKey()).raw;
  const named = typeof sig.public_key === 'string' ? hexToBytes(sig.public_key) : undefined;
  if (sig.algorithm !== 'ed25519' || !named || !equalBytes(named, expected)) {
    throw new Tampered('the state file is signed by a different key than `state.key`');
  }
  const value = typeof sig.value === 'string' ? hexToBytes(sig.value) : undefined;
  const backend = await selectBackend('auto');
  if (!value || !signatureIsStrictlyEncoded(value) || !(await backend.verify(expected, digest, value))) {
    throw new Tampered("the state file's signature does not verify under `state.key`");
  }
}

/** What both loaders return once every line is read and the state is trusted as far as it can be. */
function loaded(
  opts: StateOptions,
  header: Header,
  got: Collected,
  digest: Uint8Array,
  signatureChecked: boolean,
  raw?: Buffer,
): Loaded {
  if (header.shard !== opts.shard) {
    // Not a finding about the archive: this run was pointed at another shard's state.
    throw new ErstError(
      'ERR_OPTIONS_INVALID',
      `\`state.path\` ${opts.path} was written by a run with \`shard\` ${header.shard ?? '(none)'}, and this run has \`shard\` ${opts.shard ?? '(none)'}: give each shard its own state file`,
      { details: { options: ['state.path', 'shard'] } },
    );
  }
  return {
    log: header.log,
    config: header.config,
    entries: got.entries,
    outcomes: got.outcomes,
    inputs: got.inputs,
    lines: got.lines,
    ...(raw ? { raw: { bytes: raw, starts: got.starts } } : {}),
    records: got.entries.size,
    signatureChecked,
    identity: { sequence: header.sequence, digest: bytesToHex(digest), previous: header.previous },
  };
}

const NL = 0x0a;
const QUOTE = 0x22;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Index of the first byte at or after `i` that is not a lowercase hex digit. */
function hexEnd(raw: Uint8Array, i: number): number {
  for (;;) {
    const c = raw[i]!;
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)) i++;
    else return i;
  }
}

/**
 * A signed state (`state.key`), read whole: the SHA-256 of every byte
 * before the trailer and the trailer's signature are checked first, and only
 * a state they authenticate is parsed, by a scan of each line's bytes rather
 * than JSON.parse and the re-serialising checks of `loadStrict` (most of the
 * time of a rerun over an unchanged archive went there).
 *
 * Undefined, so that `loadStrict` reads the file instead, for anything this
 * path does not take as it is: a file over SIGNED_READ_WHOLE_MAX, one that
 * cannot be read, is not UTF-8, does not authenticate, has a blank line, a
 * carriage return, a line over MAX_STATE_LINE, or any line not in the one
 * form erst-batch writes (entries `["source","hex","hex"]` or
 * `["source","hex","hex",{result}]` with no escape in `source`). What this
 * path returns is what `loadStrict` returns for the same file: on the lines
 * it takes, the two agree (see `state-fast.test.ts`), and on every other file
 * `loadStrict` decides, errors included.
 */
export async function loadSigned(opts: StateOptions & { key: Signer }): Promise<Loaded | undefined> {
  let raw: Buffer;
  try {
    const handle = await openInputFile(opts.path);
    try {
      if ((await handle.stat()).size > SIGNED_READ_WHOLE_MAX) return undefined;
      raw = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
  const size = raw.length;
  if (size > SIGNED_READ_WHOLE_MAX || size < 2 || raw[size - 1] !== NL) return undefined;
  const trailerStart = raw.lastIndexOf(NL, size - 2) + 1;
  if (trailerStart === 0 || !isUtf8(raw)) return undefined;
  // Read before authentication: parsed as loadStrict parses it.
  let trailer: Record<string, unknown>;
  try {
    const value = JSON.parse(raw.toString('utf8', trailerStart, size - 1)) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const keys = Object.keys(value);
    if (keys.length !== 1 || keys[0] !== 'end') return undefined;
    trailer = (value as { end: Record<string, unknown> }).end;
    if (typeof trailer !== 'object' || trailer === null || raw[trailerStart] !== OPEN_BRACE) return undefined;
  } catch {
    return undefined;
  }
  const digest = createHash('sha256').update(raw.subarray(0, trailerStart)).digest();
  if (trailer.sha256 !== bytesToHex(digest)) return undefined;
  try {
    await checkSignature(opts.key, trailer, digest);
  } catch (e) {
    if (e instanceof Tampered) return undefined;
    throw e;
  }
  // Authenticated: these are the bytes a run with this key wrote.
  return parseSigned(opts, raw, trailerStart, digest);
}

/** The lines of an authenticated state (see loadSigned), or undefined for loadStrict to read it. */
function parseSigned(opts: StateOptions, raw: Buffer, end: number, digest: Uint8Array): Loaded | undefined {
  const got = new Collected();
  let header: Header | undefined;
  let line = 0;
  // The previous line's result, as bytes: consecutive records mostly share it.
  let lastStart = 0;
  let lastEnd = 0;
  let lastId = -1;
  let entriesEnd = end;
  for (let s = 0; s < end; ) {
    const e = raw.indexOf(NL, s);
    line++;
    if (e - s > MAX_STATE_LINE || e - s < 2) return undefined;
    const first = raw[s]!;
    const last = raw[e - 1]!;
    if (!header) {
      if (first !== OPEN_BRACE || last !== CLOSE_BRACE) return undefined;
      try {
        header = parseHeader(JSON.parse(raw.toString('utf8', s, e)));
      } catch {
        return undefined;
      }
    } else if (first === OPEN_BRACKET) {
      // ["source","trace","content"] or ["source","trace","content",result], as `observe` writes them.
      if (got.inputs.size > 0 || raw[s + 1] !== QUOTE || last !== CLOSE_BRACKET) return undefined;
      let i = s + 2;
      for (;;) {
        const c = raw[i]!;
        if (c === QUOTE) break;
        // An escape, a control character or the line's end: loadStrict reads it.
        if (c === BACKSLASH || c < 0x20) return undefined;
        i++;
      }
      const sourceEnd = i;
      if (raw[i + 1] !== COMMA || raw[i + 2] !== QUOTE) return undefined;
      const traceStart = i + 3;
      i = hexEnd(raw, traceStart);
      const traceEnd = i;
      if (raw[i] !== QUOTE || raw[i + 1] !== COMMA || raw[i + 2] !== QUOTE) return undefined;
      const contentStart = i + 3;
      i = hexEnd(raw, contentStart);
      const contentEnd = i;
      if (raw[i] !== QUOTE) return undefined;
      i++;
      let kept: number | undefined;
      if (i === e - 1) {
        // Three elements: a record that could not be read, or a state that keeps no results.
      } else if (raw[i] === COMMA && header.config !== undefined) {
        const resultStart = i + 1;
        const resultEnd = e - 1;
        if (lastId >= 0 && raw.compare(raw, lastStart, lastEnd, resultStart, resultEnd) === 0) {
          kept = lastId;
        } else {
          const text = raw.toString('utf8', resultStart, resultEnd);
          kept = got.outcomeIds.get(text);
          if (kept === undefined) {
            try {
              if (!isStoredOutcome(JSON.parse(text))) return undefined;
            } catch {
              return undefined;
            }
            kept = got.outcome(text);
          }
          lastStart = resultStart;
          lastEnd = resultEnd;
          lastId = kept;
        }
      } else {
        return undefined;
      }
      if (header.config !== undefined) got.starts.push(s);
      got.entry(
        header,
        raw.toString('utf8', s + 2, sourceEnd),
        fingerprint(
          raw.toString('latin1', traceStart, traceEnd),
          raw.toString('latin1', contentStart, contentEnd),
          kept,
        ),
        kept,
      );
    } else if (first === OPEN_BRACE && last === CLOSE_BRACE && header.config !== undefined) {
      if (got.inputs.size === 0) entriesEnd = s;
      let value: unknown;
      try {
        value = JSON.parse(raw.toString('utf8', s, e));
      } catch {
        return undefined;
      }
      if (typeof value !== 'object' || value === null || !('input' in value)) return undefined;
      try {
        got.input(value, line);
      } catch {
        return undefined;
      }
    } else {
      return undefined;
    }
    s = e + 1;
  }
  if (!header) return undefined;
  // Where the last entry line ends: the first input line, or the trailer.
  got.starts.push(entriesEnd);
  return loaded(opts, header, got, digest, true, raw);
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * SHA-256 (hex) of `material` in one canonical JSON form (object members
 * sorted, dates as ISO text, bytes as hex): the configuration a signed
 * state's results hold under. Undefined when `material` holds anything that
 * form cannot represent exactly (a function, a class instance): then no
 * result is kept, rather than one kept under a digest that misses something.
 */
export function configDigest(material: unknown): string | undefined {
  const text = canonicalJson(material);
  return text === undefined ? undefined : createHash('sha256').update(text).digest('hex');
}

function canonicalJson(v: unknown): string | undefined {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : undefined;
  if (typeof v !== 'object') return undefined;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : JSON.stringify({ $date: v.toISOString() });
  if (v instanceof Uint8Array) return JSON.stringify({ $bytes: bytesToHex(v) });
  if (Array.isArray(v)) {
    const items = v.map((x) => (x === undefined ? 'null' : canonicalJson(x)));
    return items.includes(undefined) ? undefined : `[${items.join(',')}]`;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const members: string[] = [];
  for (const k of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined) continue;
    const text = canonicalJson(x);
    if (text === undefined) return undefined;
    members.push(`${JSON.stringify(k)}:${text}`);
  }
  return `{${members.join(',')}}`;
}

/** Whether `value` is a state digest as erst-batch prints it. */
export function isStateDigest(value: string): boolean {
  return SHA256_HEX.test(value);
}

/**
 * The state file must be the one the last run left, as named by the digest
 * kept outside the archive. Only that outside digest can tell an older,
 * validly signed state from the current one: the file alone cannot.
 */
function checkExpected(found: StateIdentity, expect: string): void {
  if (found.digest === expect) return;
  const why =
    found.previous === expect
      ? `it is the state of a later run (sequence ${found.sequence}) that started from the expected one: a run whose digest was not kept`
      : `it is state sequence ${found.sequence}, digest ${found.digest}: an older state put back, or another state put in its place`;
  throw new Tampered(
    `the state file is not the state \`state.expect\` names (${expect}): ${why}`,
    'ERR_STATE_ROLLBACK',
  );
}

/**
 * Compares what this run sees with what the previous run saw, and streams
 * the new state to a temporary file that replaces the old one only at the
 * end of a complete run. Memory: the previous state, about 200 bytes per
 * record; the new state is never held in memory.
 */
export class StateTracker {
  readonly path: string;
  readonly status: 'baseline' | 'compared' | 'tampered';
  readonly tamperReason: string | undefined;
  /** ERR_STATE_TAMPERED, or ERR_STATE_ROLLBACK when the state is not the one `state.expect` names. */
  readonly tamperCode: 'ERR_STATE_TAMPERED' | 'ERR_STATE_ROLLBACK';
  /** The state this run compared against (undefined for a baseline or a state not trusted). */
  readonly previous: StateIdentity | undefined;
  /** The log checkpoint the previous state recorded, if any. */
  readonly previousLog: StateLog | undefined;
  readonly #log: StateLog | undefined;
  /** The new state's identity, once finish() has put it in place. */
  written: StateIdentity | undefined;
  readonly previousRecords: number;
  readonly signatureChecked: boolean;
  /** Whether this run reuses the previous state's results for records whose bytes did not change. */
  readonly reuses: boolean;
  /** The configuration the new state's results hold under (undefined: it keeps none). */
  readonly #config: string | undefined;
  readonly #previous: Map<string, string>;
  readonly #previousOutcomes: string[];
  readonly #previousInputs: Map<string, InputLine>;
  readonly #previousLines: Loaded['lines'];
  readonly #previousRaw: Loaded['raw'];
  /** This run's inputs read whole, for the new state's input lines. */
  readonly #inputs: string[] = [];
  readonly #key: Signer | undefined;
  readonly #shard: string | null;
  readonly #added: string[] = [];
  readonly #changed: { source: string; message: string }[] = [];
  #tmp: string | undefined;
  /** Where the new state goes: the path, or the file a symbolic link at the path points to. */
  #target: string | undefined;
  #fd: number | undefined;
  #hash: Hash | undefined;
  #buffer: string[] = [];
  #bufferBytes = 0;
  #records = 0;
  #sequence = 0;
  #finalDigest: Uint8Array | undefined;

  private constructor(
    opts: StateOptions,
    status: StateTracker['status'],
    loaded: Loaded | undefined,
    tampered?: Tampered,
  ) {
    this.path = opts.path;
    this.status = status;
    this.tamperReason = tampered?.message;
    this.tamperCode = tampered?.code ?? 'ERR_STATE_TAMPERED';
    this.previous = loaded?.identity;
    this.previousLog = loaded?.log;
    this.#log = opts.log ?? loaded?.log;
    this.written = undefined;
    this.#previous = loaded?.entries ?? new Map();
    this.#previousOutcomes = loaded?.outcomes ?? [];
    this.#previousInputs = loaded?.inputs ?? new Map();
    this.#previousLines = loaded?.lines ?? { sources: [], prints: [], kept: [] };
    this.#previousRaw = loaded?.raw;
    this.previousRecords = loaded?.records ?? 0;
    this.signatureChecked = loaded?.signatureChecked ?? false;
    // Only a state whose signature was checked here vouches for its results.
    this.#config = opts.key ? opts.config : undefined;
    this.reuses =
      status === 'compared' &&
      this.signatureChecked &&
      this.#config !== undefined &&
      loaded?.config === this.#config &&
      opts.full !== true;
    this.#key = opts.key;
    this.#shard = opts.shard;
  }

  static async open(opts: StateOptions): Promise<StateTracker> {
    let exists = true;
    try {
      await stat(opts.path);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') {
        throw new ErstError(
          'ERR_FILE_UNREADABLE',
          `${opts.path}: cannot read the state file (${(e as { code?: string }).code ?? 'error'})`,
        );
      }
      exists = false;
    }
    let tracker: StateTracker;
    if (!exists) {
      if (opts.expect !== undefined) {
        const gone = new Tampered(
          `the state file is gone, and \`state.expect\` names the state ${opts.expect}`,
          'ERR_STATE_ROLLBACK',
        );
        tracker = new StateTracker(opts, 'tampered', undefined, gone);
      } else if (opts.key && !opts.init) {
        tracker = new StateTracker(
          opts,
          'tampered',
          undefined,
          new Tampered(
            'the state file is gone, and `state.key` says one was kept; if this is the first run, pass `state.init`',
          ),
        );
      } else {
        tracker = new StateTracker(opts, 'baseline', undefined);
      }
    } else {
      try {
        const loaded = await loadState(opts);
        if (opts.expect !== undefined) checkExpected(loaded.identity, opts.expect);
        tracker = new StateTracker(opts, 'compared', loaded);
      } catch (e) {
        if (!(e instanceof Tampered)) throw e;
        tracker = new StateTracker(opts, 'tampered', undefined, e);
      }
    }
    if (tracker.status !== 'tampered') tracker.#begin();
    return tracker;
  }

  #begin(): void {
    const temp = createAtomicTemp(this.path);
    this.#tmp = temp.temp;
    this.#target = temp.target;
    this.#fd = temp.fd;
    process.once('exit', this.#discard);
    this.#hash = createHash('sha256');
    this.#sequence = (this.previous?.sequence ?? 0) + 1;
    const header = {
      erst_batch_state: STATE_VERSION,
      shard: this.#shard,
      sequence: this.#sequence,
      previous: this.previous?.digest ?? null,
      ...(this.#log ? { log: this.#log } : {}),
      ...(this.#config !== undefined ? { config: this.#config } : {}),
    };
    this.#write(`${JSON.stringify(header)}\n`, true);
  }

  /** Removes the unfinished new state if the process ends before finish(). */
  readonly #discard = (): void => {
    if (this.#fd === undefined) return;
    try {
      closeSync(this.#fd);
      unlinkSync(this.#tmp!);
    } catch {
      // already gone
    }
  };

  /**
   * Every line but the trailer is `hashed`: buffered lines are hashed when
   * they are written out, one hash update per megabyte rather than one per
   * line (the same digest: SHA-256 of the same bytes in the same order).
   */
  #write(line: string, hashed: boolean): void {
    if (!hashed) this.#flush();
    this.#buffer.push(line);
    this.#bufferBytes += line.length;
    if (!hashed) this.#flush(false);
    else if (this.#bufferBytes >= 1 << 20) this.#flush();
  }

  /** Bytes for the new state, after every line written before them (hashed: they are entry lines). */
  #writeBytes(bytes: Uint8Array): void {
    this.#flush();
    if (this.#fd === undefined) return;
    this.#hash!.update(bytes);
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(this.#fd, bytes, off);
    } catch (e) {
      throw new ErstError(
        'ERR_OUTPUT_WRITE',
        `cannot write the state file next to ${this.path} (${(e as { code?: string }).code ?? 'error'})`,
      );
    }
  }

  #flush(hashed = true): void {
    if (this.#fd === undefined || this.#buffer.length === 0) return;
    const data = Buffer.from(this.#buffer.join(''), 'utf8');
    if (hashed) this.#hash!.update(data);
    this.#buffer = [];
    this.#bufferBytes = 0;
    try {
      writeSync(this.#fd, data);
    } catch (e) {
      throw new ErstError(
        'ERR_OUTPUT_WRITE',
        `cannot write the state file next to ${this.path} (${(e as { code?: string }).code ?? 'error'})`,
      );
    }
  }

  /** Whether the new state keeps results (then every verified record's `observe` passes its outcome). */
  get keepsResults(): boolean {
    return this.#config !== undefined;
  }

  /**
   * The previous run's result for `source`, if this run may reuse it: the
   * caller still checks that the record's bytes hash to `contentHash`.
   */
  kept(source: string): KeptResult | undefined {
    if (!this.reuses) return undefined;
    const value = this.#previous.get(source);
    if (value === undefined || value === VISITED) return undefined;
    return this.#keptResult(value);
  }

  #keptResult(value: string): KeptResult | undefined {
    const first = value.indexOf(':');
    const second = value.indexOf(':', first + 1);
    if (second < 0) return undefined;
    return {
      traceHash: value.slice(0, first),
      contentHash: value.slice(first + 1, second),
      outcome: this.#previousOutcomes[Number(value.slice(second + 1))]!,
    };
  }

  /**
   * The previous run's digest of `path` (an input read whole) and the results
   * of its records, in reading order, if this run may reuse them: the caller
   * still checks that the file's bytes hash to `sha256`. Undefined unless
   * every record of it kept a result.
   */
  keptInput(path: string): KeptInput | undefined {
    if (!this.reuses) return undefined;
    const input = this.#previousInputs.get(path);
    if (!input?.sha256) return undefined;
    const { sources, prints } = this.#previousLines;
    const out: KeptInput = { sha256: input.sha256, sources: [], kept: [] };
    for (let k = input.first; k < input.first + input.records; k++) {
      const kept = this.#keptResult(prints[k]!);
      if (!kept?.contentHash) return undefined;
      out.sources.push(sources[k]!);
      out.kept.push(kept);
    }
    return out;
  }

  /**
   * Where the previous state keeps the records of `path` (an input read
   * whole), if this run may reuse them all: as `keptInput`, without a
   * `KeptResult` per record. The caller still checks the file's digest.
   */
  keptRange(path: string, directory: boolean): KeptRange | undefined {
    if (!this.reuses) return undefined;
    const input = this.#previousInputs.get(path);
    if (!input || (input.sha256 === null) !== directory) return undefined;
    const { prints } = this.#previousLines;
    for (let k = input.first; k < input.first + input.records; k++) {
      // "trace:content:result": a result kept, for a record whose bytes were hashed.
      const print = prints[k]!;
      const first = print.indexOf(':');
      const second = print.indexOf(':', first + 1);
      if (second < 0 || second === first + 1) return undefined;
    }
    return input;
  }

  /** The sources of a kept range's records and their content hashes (hex), in order. */
  rangeHashes(range: KeptRange): { sources: string[]; hashes: string[] } {
    const end = range.first + range.records;
    const { sources, prints } = this.#previousLines;
    const hashes: string[] = [];
    for (let k = range.first; k < end; k++) {
      const print = prints[k]!;
      const first = print.indexOf(':');
      hashes.push(print.slice(first + 1, print.indexOf(':', first + 1)));
    }
    return { sources: sources.slice(range.first, end), hashes };
  }

  /** The sources of a kept range's records and their kept results (`StoredOutcome` JSON text), in order. */
  rangeResults(range: KeptRange): { sources: string[]; outcomes: string[]; of: Int32Array } {
    const end = range.first + range.records;
    const { sources, kept } = this.#previousLines;
    // Each distinct result once, in the order records first have it; `of[i]`: record i's.
    const outcomes: string[] = [];
    const index = new Map<number, number>();
    const of = new Int32Array(range.records);
    for (let k = range.first; k < end; k++) {
      const id = kept[k]!;
      let j = index.get(id);
      if (j === undefined) {
        j = outcomes.push(this.#previousOutcomes[id]!) - 1;
        index.set(id, j);
      }
      of[k - range.first] = j;
    }
    return { sources: sources.slice(range.first, end), outcomes, of };
  }

  /** A kept range's records, each shown to this run's state as `observe` shows a record whose result is reused. */
  observeRange(range: KeptRange): void {
    const { sources, prints } = this.#previousLines;
    const end = range.first + range.records;
    const raw = this.#previousRaw;
    if (!raw || this.#fd === undefined || this.status !== 'compared') {
      for (let k = range.first; k < end; k++) {
        const kept = this.#keptResult(prints[k]!)!;
        this.observe(sources[k]!, kept.traceHash || null, kept.contentHash || null, kept.outcome);
      }
      return;
    }
    // What `observe` does for each, without making its line again: the line
    // it would write is the previous state's, byte for byte (the same source,
    // hashes and result text; `loadSigned` took only lines in that one form).
    for (let k = range.first; k < end; k++) {
      const source = sources[k]!;
      const before = this.#previous.get(source);
      if (before === undefined) {
        this.#added.push(source);
      } else if (before !== VISITED) {
        this.#previous.set(source, VISITED);
        // The same string unless the source is on another line too (an input named twice).
        if (before !== prints[k]) {
          const hashes = hashesOf(before);
          const now = hashesOf(prints[k]!);
          if (hashes !== now) this.#changed.push({ source, message: describeChange(hashes, now) });
        }
      }
    }
    this.#records += range.records;
    this.#writeBytes(raw.bytes.subarray(raw.starts[range.first]!, raw.starts[end]!));
  }

  /**
   * A `.jsonl`, `.tar` or `.tar.gz` input (`sha256`: its digest) or a
   * directory (`sha256` null) read whole, every record of it seen (no
   * failure), `records` of them from the `first`-th entry on: the new state
   * names it, so that the next run may reuse it whole (a directory: when its
   * files are the same, in the same order, and each hashes to its entry's
   * content hash).
   */
  inputRead(path: string, sha256: string | null, first: number, records: number): void {
    if (this.#fd === undefined || this.#config === undefined || records < 1) return;
    const input = sha256 === null ? { path, directory: true, first, records } : { path, sha256, first, records };
    this.#inputs.push(`${JSON.stringify({ input })}\n`);
  }

  /**
   * One record seen in this run (empty hashes for a record that could not be
   * read); `outcome`: its `StoredOutcome` JSON text, when the state keeps results.
   */
  observe(source: string, traceHash: string | null, contentHash: string | null, outcome?: string): void {
    const now = fingerprint(traceHash ?? '', contentHash ?? '');
    if (this.#fd !== undefined) {
      this.#records++;
      const line =
        outcome !== undefined && this.#config !== undefined
          ? `[${JSON.stringify(source)},${JSON.stringify(traceHash ?? '')},${JSON.stringify(contentHash ?? '')},${outcome}]\n`
          : `${JSON.stringify([source, traceHash ?? '', contentHash ?? ''])}\n`;
      this.#write(line, true);
    }
    if (this.status !== 'compared') return;
    const before = this.#previous.get(source);
    if (before === undefined) {
      this.#added.push(source);
    } else if (before !== VISITED) {
      this.#previous.set(source, VISITED);
      const hashes = hashesOf(before);
      if (hashes !== now) this.#changed.push({ source, message: describeChange(hashes, now) });
    }
  }

  /** What changed since the previous run (empty unless compared). */
  diff(): StateDiff {
    const missing: string[] = [];
    if (this.status === 'compared') for (const [source, v] of this.#previous) if (v !== VISITED) missing.push(source);
    return { missing, changed: this.#changed, added: [...new Set(this.#added)] };
  }

  get records(): number {
    return this.#records;
  }

  /** Writes the trailer and puts the new state in place, or throws the temporary file away. */
  async finish(keep: boolean): Promise<boolean> {
    const fd = this.#fd;
    if (fd === undefined) return false;
    let renamed = false;
    try {
      if (keep) {
        for (const line of this.#inputs) this.#write(line, true);
        this.#flush();
        const digest = this.#hash!.digest();
        this.#finalDigest = digest;
        let signature: { algorithm: string; public_key: string; value: string } | null = null;
        if (this.#key) {
          const value = await this.#key.sign(digest);
          signature = {
            algorithm: this.#key.algorithm,
            public_key: bytesToHex((await this.#key.publicKey()).raw),
            value: bytesToHex(value),
          };
        }
        this.#write(
          `${JSON.stringify({ end: { records: this.#records, sha256: bytesToHex(digest), signature } })}\n`,
          false,
        );
        this.#flush();
        try {
          fsyncSync(fd);
        } catch (e) {
          throw new ErstError(
            'ERR_OUTPUT_WRITE',
            `cannot write ${this.path} (${(e as { code?: string }).code ?? 'error'})`,
          );
        }
      }
    } finally {
      this.#fd = undefined;
      process.removeListener('exit', this.#discard);
      closeSync(fd);
    }
    try {
      if (keep) {
        try {
          renameSync(this.#tmp!, this.#target!);
          renamed = true;
          this.written = {
            sequence: this.#sequence,
            digest: bytesToHex(this.#finalDigest!),
            previous: this.previous?.digest ?? null,
          };
        } catch (e) {
          throw new ErstError(
            'ERR_OUTPUT_WRITE',
            `cannot write ${this.path} (${(e as { code?: string }).code ?? 'error'})`,
          );
        }
        fsyncDirectory(dirname(this.#target!));
      }
    } finally {
      if (!renamed) {
        try {
          unlinkSync(this.#tmp!);
        } catch {
          // never created
        }
      }
    }
    return renamed;
  }
}

function describeChange(before: string, now: string): string {
  const bTrace = before.slice(0, before.indexOf(':'));
  const nTrace = now.slice(0, now.indexOf(':'));
  if (bTrace !== nTrace) {
    return `trace_hash was ${bTrace || '(none: the record could not be read)'}, now ${nTrace || '(none: the record cannot be read)'}`;
  }
  return `the record's bytes changed but its trace_hash did not (${nTrace || 'none'}): fields outside the signature, or formatting, were edited`;
}
