import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type JsonValue, type Signer, bytesToHex, generateWithSigner, sha256 } from '@erst/core';
import { tempDir } from '@erst/fixtures';
import { generateKeyPair } from '@erst/signer-memory';
import { parseTrustFile } from '@erst/verify';
import { describe, expect, it } from 'vitest';
// The built package: its worker threads run dist/worker.js, which only exists built.
import { type Report, STATE_VERSION, type VerifyProgress, type VerifyRunOptions, runVerify } from '../../dist/index.js';

const pinned = generateKeyPair();
const other = generateKeyPair();
const stateKey = generateKeyPair().signer;
const anotherStateKey = generateKeyPair().signer;

const RECORDS = 9;

/** A whole file's digest as a state names it (`inputDigest`): SHA-256 over its one block's SHA-256 (these files are small). */
const fileDigest = (path: string) => bytesToHex(sha256(sha256(readFileSync(path))));

async function recordText(i: number, signer: Signer = pinned.signer): Promise<string> {
  const record = await generateWithSigner(
    signer,
    { transactionHash: (i + 1).toString(16).padStart(64, '0'), payload: { events: [], n: i } },
    // Two days, so that the report's per-day counts have something to count.
    { attestation: null, now: () => new Date(Date.UTC(2026, 9, 1 + (i % 2), 12)) },
  );
  return JSON.stringify(record);
}

interface Archive {
  root: string;
  dir: string;
  jsonl: string;
  tar: string;
  /** The same tar, gzip-compressed (used by the tests of inputs read whole). */
  targz: string;
  /** The records, as written to each input. */
  texts: string[];
}

/** The same records as a directory, a .jsonl and a .tar; one of them signed by a key that is not pinned. */
async function archive(): Promise<Archive> {
  const root = tempDir('erst-batch-incremental-');
  const texts: string[] = [];
  for (let i = 0; i < RECORDS; i++) texts.push(await recordText(i, i === 2 ? other.signer : pinned.signer));
  const dir = join(root, 'logs');
  const members = join(root, 'members');
  mkdirSync(dir);
  mkdirSync(members);
  texts.forEach((t, i) => {
    writeFileSync(join(dir, `r${i}.json`), t);
    writeFileSync(join(members, `r${i}.json`), t);
  });
  const jsonl = join(root, 'logs.jsonl');
  writeFileSync(jsonl, `${texts.join('\n')}\n`);
  const tar = join(root, 'logs.tar');
  execFileSync('tar', ['--format=ustar', '-cf', tar, '-C', members, ...texts.map((_, i) => `r${i}.json`)]);
  const targz = join(root, 'logs.tar.gz');
  writeFileSync(targz, gzipSync(readFileSync(tar)));
  return { root, dir, jsonl, tar, targz, texts };
}

function options(a: Archive, state: string, extra: Partial<VerifyRunOptions> = {}): VerifyRunOptions {
  return {
    inputs: [a.dir, a.jsonl, a.tar],
    verify: { publicKeys: [pinned.publicKeyHex] },
    workers: 2,
    state: { path: state, key: stateKey },
    ...extra,
  };
}

/** Changes one byte of a record's signature (a hex digit), where it sits in `file`. */
function flipSignatureByte(file: string, text: string): void {
  const bytes = readFileSync(file);
  const at = bytes.indexOf(Buffer.from(text));
  expect(at).toBeGreaterThanOrEqual(0);
  const sig = text.indexOf('"signature":"') + '"signature":"'.length + 10;
  bytes[at + sig] = bytes[at + sig] === 0x30 ? 0x31 : 0x30;
  writeFileSync(file, bytes);
}

/** Two runs from the same previous state: one reusing results, one (`full`) verifying everything. */
async function bothWays(a: Archive, state: string, extra: Partial<VerifyRunOptions> = {}): Promise<Report> {
  const copy = `${state}.copy`;
  copyFileSync(state, copy);
  const incremental = await runVerify(options(a, state, extra));
  const full = await runVerify(options(a, copy, { ...extra, full: true }));
  // The same report, state digests included: the new states are the same bytes.
  expect(incremental).toEqual({
    ...full,
    state: { ...full.state, files: [state], digests: [{ ...full.state!.digests![0]!, file: state }] },
  });
  expect(readFileSync(state)).toEqual(readFileSync(copy));
  return incremental;
}

/**
 * Rewrites a state file as a run signed by `key` would have written it,
 * with `edit` applied to each record line: a state whose kept results say
 * what the test wants, to see whether a run uses them.
 */
async function reSign(path: string, key: Signer, edit: (entry: unknown[]) => unknown[]): Promise<void> {
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  const body = [
    lines[0]!,
    ...lines.slice(1, -1).map((l) => {
      const v = JSON.parse(l) as unknown;
      // Input lines (an input read whole) are kept as they are.
      return Array.isArray(v) ? JSON.stringify(edit(v)) : l;
    }),
  ];
  const text = body.map((l) => `${l}\n`).join('');
  const digest = sha256(Buffer.from(text));
  const end = JSON.parse(lines.at(-1)!) as { end: { records: number } };
  const signature = {
    algorithm: key.algorithm,
    public_key: bytesToHex((await key.publicKey()).raw),
    value: bytesToHex(await key.sign(digest)),
  };
  writeFileSync(
    path,
    `${text}${JSON.stringify({ end: { records: end.end.records, sha256: bytesToHex(digest), signature } })}\n`,
  );
}

/** Marks every kept result of record r3 (line 4 of the .jsonl) as failed with a code no verifier gives. */
function forgeR3(entry: unknown[]): unknown[] {
  const source = entry[0] as string;
  if (!source.endsWith('r3.json') && !source.endsWith('.jsonl:4')) return entry;
  const outcome = entry[3] as Record<string, unknown>;
  return [...entry.slice(0, 3), { ...outcome, valid: false, errors: [['ERR_FORGED', 'kept result']] }];
}

describe('a signed state keeps results: the next run verifies again only what changed', () => {
  it('an unchanged archive: the kept results are used, and the report is the one a full run gives', async () => {
    const a = await archive();
    const state = join(a.root, 'state.jsonl');
    const first = await runVerify(options(a, state, { state: { path: state, key: stateKey, init: true } }));
    expect(first.totals).toEqual({ records: 27, valid: 24, invalid: 3, unreadable: 0 });
    const header = JSON.parse(readFileSync(state, 'utf8').split('\n')[0]!) as {
      erst_batch_state: number;
      config: string;
    };
    expect(header.erst_batch_state).toBe(STATE_VERSION);
    expect(header.config).toMatch(/^[0-9a-f]{64}$/);
    const again = await bothWays(a, state);
    expect(again.exit_code).toBe(1);
    expect(again.state).toMatchObject({ status: 'compared', signature_checked: true, written: true });
    expect({ ...again, state: undefined }).toEqual({ ...first, state: undefined });
  });

  it('uses a kept result only for the same bytes under the same configuration, and never with `full`', async () => {
    const a = await archive();
    const state = join(a.root, 'state.jsonl');
    await runVerify(options(a, state, { state: { path: state, key: stateKey, init: true } }));
    // A kept result the records do not deserve: a run that reuses it reports it.
    await reSign(state, stateKey, forgeR3);
    const saved = `${state}.forged`;
    copyFileSync(state, saved);
    const reused = await runVerify(options(a, state));
    expect(reused.by_code.ERR_FORGED).toBe(3);

    const fresh = async (extra: Partial<VerifyRunOptions>) => {
      copyFileSync(saved, state);
      const r = await runVerify(options(a, state, extra));
      expect(r.by_code.ERR_FORGED, JSON.stringify(extra)).toBeUndefined();
      return r;
    };
    await fresh({ full: true });
    await fresh({ maxBytes: 1 << 20 });
    await fresh({ verify: { publicKeys: [pinned.publicKeyHex, other.publicKeyHex] } });
    await fresh({ verify: { publicKeys: [pinned.publicKeyHex], requireTimestamp: false } });
    // Without the key the state's results are not trusted: nothing vouches for them.
    await fresh({ state: { path: state } });

    // One record's bytes changed: that one is verified again, the others keep their result.
    copyFileSync(saved, state);
    flipSignatureByte(join(a.dir, 'r3.json'), a.texts[3]!);
    const changed = await runVerify(options(a, state));
    expect(changed.by_code.ERR_FORGED).toBe(2);
    expect(changed.changed).toEqual([join(a.dir, 'r3.json')]);
    expect(changed.failures.filter((f) => f.source === join(a.dir, 'r3.json')).map((f) => f.code)).toEqual([
      'ERR_SIGNATURE_INVALID',
      'ERR_STATE_CHANGED',
    ]);
  });

  for (const kind of ['dir', 'jsonl', 'tar'] as const) {
    for (const [where, i] of [
      ['first', 0],
      ['middle', 4],
      ['last', RECORDS - 1],
    ] as const) {
      it(`one changed byte in the ${where} record of a ${kind}: caught, and the report is a full run's`, async () => {
        const a = await archive();
        const state = join(a.root, 'state.jsonl');
        await runVerify(options(a, state, { state: { path: state, key: stateKey, init: true } }));
        const file = kind === 'dir' ? join(a.dir, `r${i}.json`) : a[kind];
        flipSignatureByte(file, a.texts[i]!);
        const r = await bothWays(a, state);
        expect(r.exit_code).toBe(1);
        expect(r.changed).toHaveLength(1);
        const source = r.changed![0]!;
        expect(source.startsWith(file)).toBe(true);
        expect(r.failures.filter((f) => f.source === source).map((f) => f.code)).toEqual([
          'ERR_SIGNATURE_INVALID',
          'ERR_STATE_CHANGED',
        ]);
      });
    }
  }

  it('a changed trust file: every record is verified again under it', async () => {
    const a = await archive();
    const state = join(a.root, 'state.jsonl');
    const trust = (file: JsonValue) => ({ verify: { trust: parseTrustFile(file) } });
    const before = trust({ keys: [{ public_key: pinned.publicKeyHex, label: 'ops' }] });
    const first = await runVerify(options(a, state, { ...before, state: { path: state, key: stateKey, init: true } }));
    expect(first.totals.valid).toBe(24);
    // The key's window now ends before any record was made.
    const after = trust({ keys: [{ public_key: pinned.publicKeyHex, label: 'ops', not_after: '2026-01-01' }] });
    const r = await bothWays(a, state, after);
    expect(r.totals.valid).toBe(0);
    expect(r.by_code.ERR_KEY_OUTSIDE_VALIDITY).toBe(24);
  });

  it('a replaced state file is caught, and its results are not used', async () => {
    const a = await archive();
    const state = join(a.root, 'state.jsonl');
    await runVerify(options(a, state, { state: { path: state, key: stateKey, init: true } }));
    const older = `${state}.older`;
    copyFileSync(state, older);
    await reSign(older, stateKey, forgeR3);
    const second = await runVerify(options(a, state));
    const digest = second.state!.digests![0]!.digest;

    // An older state (validly signed, its results forged) put back: a rollback, and nothing of it is used.
    copyFileSync(older, state);
    const rolledBack = await runVerify(options(a, state, { state: { path: state, key: stateKey, expect: digest } }));
    expect(rolledBack.by_code).toEqual({ ERR_KEY_NOT_TRUSTED: 3, ERR_STATE_ROLLBACK: 1 });

    // Another key's state, whose results say the tampered record is fine: tampered, and every record verified.
    copyFileSync(older, state);
    await reSign(state, anotherStateKey, (e) => e);
    flipSignatureByte(join(a.dir, 'r3.json'), a.texts[3]!);
    const other = await runVerify(options(a, state));
    expect(other.state?.status).toBe('tampered');
    expect(other.by_code).toEqual({ ERR_KEY_NOT_TRUSTED: 3, ERR_SIGNATURE_INVALID: 1, ERR_STATE_TAMPERED: 1 });
  });

  it('a version 2 state (no results kept) still loads: compared, and every record verified', async () => {
    const a = await archive();
    const state = join(a.root, 'state.jsonl');
    await runVerify(options(a, state, { state: { path: state, key: stateKey, init: true } }));
    await reSign(state, stateKey, (e) => e.slice(0, 3));
    // A version 2 state names no input read whole.
    const lines = readFileSync(state, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('{"input"'));
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    lines[0] = JSON.stringify({ ...header, erst_batch_state: 2, config: undefined });
    writeFileSync(state, lines.join('\n'));
    await reSign(state, stateKey, (e) => e);
    const r = await runVerify(options(a, state));
    expect(r.state).toMatchObject({ status: 'compared', signature_checked: true, written: true });
    expect(r.exit_code).toBe(1);
    expect(r.by_code).toEqual({ ERR_KEY_NOT_TRUSTED: 3 });
    expect(JSON.parse(readFileSync(state, 'utf8').split('\n')[0]!).erst_batch_state).toBe(3);
  });
});

describe('an input read whole (.jsonl, .tar, .tar.gz): reused by its file digest', () => {
  const wholeOptions = (a: Archive, state: string, extra: Partial<VerifyRunOptions> = {}): VerifyRunOptions => ({
    ...options(a, state, extra),
    inputs: [a.dir, a.jsonl, a.tar, a.targz],
  });
  const inputLines = (state: string) =>
    readFileSync(state, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{"input"'))
      .map(
        (l) => (JSON.parse(l) as { input: { path: string; sha256?: string; first: number; records: number } }).input,
      );

  /**
   * A state whose r3 entries name a content hash no record has, and a forged
   * result: only a run that takes a whole file's digest for its records
   * (never hashing r3 on its own) reports ERR_FORGED for it.
   */
  async function forgedState(a: Archive, state: string): Promise<string> {
    await runVerify(wholeOptions(a, state, { state: { path: state, key: stateKey, init: true } }));
    await reSign(state, stateKey, (e) => {
      const forged = forgeR3(e);
      return forged === e ? e : [forged[0], forged[1], '0'.repeat(64), forged[3]];
    });
    const saved = `${state}.forged`;
    copyFileSync(state, saved);
    return saved;
  }

  it("the state names each file's SHA-256; the same bytes reuse every result without a record hashed", async () => {
    const a = await archive();
    const state = join(a.root, 'state.jsonl');
    await forgedState(a, state);
    expect(inputLines(state)).toEqual([
      // A directory's line names no digest: its files' are its entries' content hashes.
      { path: a.dir, directory: true, first: 0, records: RECORDS },
      ...[a.jsonl, a.tar, a.targz].map((path, i) => ({
        path,
        sha256: fileDigest(path),
        first: RECORDS * (i + 1),
        records: RECORDS,
      })),
    ]);
    const r = await runVerify(wholeOptions(a, state));
    // The three files' r3 results were taken as kept; the directory's r3 was hashed, found changed, verified again.
    expect(r.by_code.ERR_FORGED).toBe(3);
    expect(r.changed).toEqual([join(a.dir, 'r3.json')]);
    // The new state names the same digests.
    expect(inputLines(state).map((l) => l.sha256)).toEqual([
      undefined,
      ...[a.jsonl, a.tar, a.targz].map((p) => fileDigest(p)),
    ]);
  });

  const edits: [string, (a: Archive) => string, (bytes: Buffer) => Buffer][] = [
    ['a blank line after the last record of the .jsonl', (a) => a.jsonl, (b) => Buffer.concat([b, Buffer.from('\n')])],
    ['a zero block after the end of the .tar', (a) => a.tar, (b) => Buffer.concat([b, Buffer.alloc(512)])],
    // Byte 4 of a gzip header is its mtime: the same tar decompresses from it.
    ['the gzip header of the .tar.gz', (a) => a.targz, (b) => Buffer.from(b.map((x, i) => (i === 4 ? x ^ 1 : x)))],
  ];
  for (const [where, file, edit] of edits) {
    it(`one changed byte outside every record (${where}): the file is read record by record`, async () => {
      const a = await archive();
      const state = join(a.root, 'state.jsonl');
      await forgedState(a, state);
      writeFileSync(file(a), edit(readFileSync(file(a))));
      const r = await runVerify(wholeOptions(a, state));
      // That file's r3 was hashed on its own: its forged result did not stand.
      expect(r.by_code.ERR_FORGED).toBe(2);
      expect(r.changed).toHaveLength(2);
      expect(r.changed).toContain(join(a.dir, 'r3.json'));
      expect(r.changed!.filter((s) => s.startsWith(`${file(a)}:`))).toHaveLength(1);
    });
  }

  it("a directory's file changed in place, its size and times put back: caught, and the report is a full run's", async () => {
    const a = await archive();
    const state = join(a.root, 'state.jsonl');
    // Whole seconds, so that the times put back are the same to the nanosecond.
    const when = 1_790_000_000;
    for (let i = 0; i < RECORDS; i++) utimesSync(join(a.dir, `r${i}.json`), when, when);
    await runVerify(wholeOptions(a, state, { state: { path: state, key: stateKey, init: true } }));
    for (const i of [0, 4, RECORDS - 1]) {
      const file = join(a.dir, `r${i}.json`);
      const before = statSync(file);
      flipSignatureByte(file, a.texts[i]!);
      utimesSync(file, when, when);
      const after = statSync(file);
      expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
      const r = await bothWays(a, state, { inputs: [a.dir, a.jsonl, a.tar, a.targz] });
      expect(r.changed).toEqual([file]);
      expect(r.failures.filter((f) => f.source === file).map((f) => f.code)).toEqual([
        'ERR_SIGNATURE_INVALID',
        'ERR_STATE_CHANGED',
      ]);
      // The next run starts from this one's state: the same directory, unchanged since, is reused whole.
      const again = await bothWays(a, state, { inputs: [a.dir, a.jsonl, a.tar, a.targz] });
      expect(again.changed).toEqual([]);
      writeFileSync(file, a.texts[i]!);
      utimesSync(file, when, when);
      await runVerify(wholeOptions(a, state));
    }
  });

  it('a directory whose files changed in number or name is read record by record, and the differences are reported', async () => {
    const a = await archive();
    const state = join(a.root, 'state.jsonl');
    await runVerify(wholeOptions(a, state, { state: { path: state, key: stateKey, init: true } }));
    renameSync(join(a.dir, 'r4.json'), join(a.dir, 'r4b.json'));
    const r = await bothWays(a, state, { inputs: [a.dir, a.jsonl, a.tar, a.targz] });
    expect(r.missing).toEqual([join(a.dir, 'r4.json')]);
    expect(r.new).toEqual([join(a.dir, 'r4b.json')]);
    writeFileSync(join(a.dir, 'r9.json'), a.texts[1]!);
    const more = await bothWays(a, state, { inputs: [a.dir, a.jsonl, a.tar, a.targz] });
    expect(more.new).toEqual([join(a.dir, 'r9.json')]);
    expect(more.totals.records).toBe(4 * RECORDS + 1);
  });

  it("a directory's file swapped for a FIFO or a link out of it: the rerun never blocks and reports what a full run does", async () => {
    const a = await archive();
    const state = join(a.root, 'state.jsonl');
    await runVerify(wholeOptions(a, state, { state: { path: state, key: stateKey, init: true } }));
    // Same names, same bytes behind the link: only what each file now is differs. The file hashing threads open
    // without blocking and refuse what is not a regular file; a FIFO opened for reading as a plain open would wait
    // forever for a writer (this test's timeout).
    const fifo = join(a.dir, 'r3.json');
    rmSync(fifo);
    execFileSync('mkfifo', [fifo]);
    const outside = join(a.root, 'outside.json');
    writeFileSync(outside, a.texts[5]!);
    const link = join(a.dir, 'r5.json');
    rmSync(link);
    symlinkSync(outside, link);
    const r = await bothWays(a, state, { inputs: [a.dir] });
    const codes = (source: string) => r.failures.filter((f) => f.source === source).map((f) => f.code);
    // Neither is a record any more: the state's entry for each is gone, as for a deleted file.
    expect(codes(fifo)).toEqual(['ERR_FILE_NOT_REGULAR', 'ERR_STATE_MISSING']);
    expect(codes(link)).toEqual(['ERR_FILE_OUTSIDE_ROOT', 'ERR_STATE_MISSING']);
    expect(r.totals.valid).toBe(RECORDS - 3);
  });

  it("one changed byte in a record of a .tar.gz: caught, and the report is a full run's", async () => {
    const a = await archive();
    const state = join(a.root, 'state.jsonl');
    await runVerify(wholeOptions(a, state, { state: { path: state, key: stateKey, init: true } }));
    flipSignatureByte(a.tar, a.texts[RECORDS - 1]!);
    writeFileSync(a.targz, gzipSync(readFileSync(a.tar)));
    const copy = `${state}.copy`;
    copyFileSync(state, copy);
    const r = await runVerify(wholeOptions(a, state));
    const full = await runVerify(wholeOptions(a, copy, { full: true }));
    expect(readFileSync(state)).toEqual(readFileSync(copy));
    expect(r.failures).toEqual(full.failures);
    expect(r.changed!.map((s) => s.slice(0, s.indexOf(':'))).sort()).toEqual([a.tar, a.targz].sort());
    expect(r.by_code).toMatchObject({ ERR_SIGNATURE_INVALID: 2, ERR_STATE_CHANGED: 2 });
  });

  it("an input line edited without the state key's signature: the state is tampered, nothing reused", async () => {
    const a = await archive();
    const state = join(a.root, 'state.jsonl');
    await forgedState(a, state);
    const text = readFileSync(state, 'utf8');
    const [line] = text.split('\n').filter((l) => l.startsWith('{"input"'));
    writeFileSync(state, text.replace(line!, line!.replace('"records":9', '"records":8')));
    const r = await runVerify(wholeOptions(a, state));
    expect(r.state?.status).toBe('tampered');
    expect(r.by_code.ERR_FORGED).toBeUndefined();
  });
});

describe('onProgress', () => {
  it('counts every record, learns the total once everything is read, and ends on it', async () => {
    const a = await archive();
    writeFileSync(join(a.dir, 'big.json'), `${a.texts[0]!}${' '.repeat(1000)}`);
    const seen: VerifyProgress[] = [];
    const report = await runVerify({
      inputs: [a.dir, a.jsonl, a.tar],
      verify: { publicKeys: [pinned.publicKeyHex] },
      workers: 2,
      // A record over the limit is finished too: it counts, unread.
      maxBytes: a.texts[0]!.length + 500,
      onProgress: (p) => seen.push({ ...p }),
    });
    expect(report.totals.records).toBe(28);
    expect(report.by_code.ERR_INPUT_TOO_LARGE).toBe(1);
    expect(seen.at(-1)).toEqual({ done: 28, total: 28 });
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.done).toBeGreaterThanOrEqual(seen[i - 1]!.done);
    for (const p of seen) if (p.total !== undefined) expect(p.done).toBeLessThanOrEqual(p.total);
  });
});
