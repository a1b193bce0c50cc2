import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Signer, bytesToHex, sha256 } from '@erst/core';
import { tempDir } from '@erst/fixtures';
import { generateKeyPair } from '@erst/signer-memory';
import { describe, expect, it } from 'vitest';
import { type Loaded, loadSigned, loadStrict } from '../state.js';
import { summarize, summarizeShared } from '../outcome.js';
import type { RecordOutcome } from '../protocol.js';

// loadSigned (a signed state read whole, authenticated, then scanned byte by
// byte) must give what loadStrict (every line JSON.parse'd and re-serialised)
// gives for the same file, or leave the file to loadStrict (undefined).

const key = generateKeyPair().signer;
const other = generateKeyPair().signer;
const dir = tempDir('erst-batch-state-fast-');
const CONFIG = 'c'.repeat(64);
const HEX = (c: string) => c.repeat(64);
const ok = (extra = '') =>
  `{"valid":true,"format":"2.0.0","key":"ed25519:${'ab'.repeat(32)}","label":null,"day":"2026-10-01","trust":"pinned","errors":[],"warnings":[]${extra}}`;
const bad =
  '{"valid":false,"format":null,"key":null,"label":null,"day":null,"trust":"untrusted","errors":[["ERR_X","no"]],"warnings":["W"]}';

function header(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ erst_batch_state: 3, shard: null, sequence: 2, previous: null, config: CONFIG, ...extra });
}

/** A state file of `lines` (header first), its trailer made and signed by `signer` over exactly these bytes. */
async function signed(lines: string[], signer: Signer = key, raw?: string): Promise<string> {
  const body = raw ?? lines.map((l) => `${l}\n`).join('');
  const digest = sha256(Buffer.from(body));
  const signature = {
    algorithm: 'ed25519',
    public_key: bytesToHex((await signer.publicKey()).raw),
    value: bytesToHex(await signer.sign(digest)),
  };
  const path = join(dir, `s${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(
    path,
    `${body}${JSON.stringify({ end: { records: lines.length - 1, sha256: bytesToHex(digest), signature } })}\n`,
  );
  return path;
}

const options = (path: string) => ({ path, key, init: false, shard: null });

/** Both loaders on one file: the fast one's answer, if it gives one, is the strict one's. Returns whether it gave one. */
async function same(path: string): Promise<boolean> {
  let strict: Loaded | Error;
  try {
    strict = await loadStrict(options(path));
  } catch (e) {
    strict = e as Error;
  }
  const fast = await loadSigned(options(path));
  if (fast === undefined) return false;
  expect(strict).not.toBeInstanceOf(Error);
  const { raw, ...rest } = fast;
  expect(rest).toEqual(strict);
  expect(raw?.starts.length).toBe((strict as Loaded).lines.sources.length + 1);
  return true;
}

const entry = (source: string, outcome = ok(), trace = HEX('1'), content = HEX('2')) =>
  `[${JSON.stringify(source)},"${trace}","${content}",${outcome}]`;

describe('a signed state read whole (loadSigned) is what the strict reader reads', () => {
  it('takes the lines erst-batch writes, and gives the same entries, results, inputs and identity', async () => {
    const lines = [
      header({ log: { origin: 'o', size: 3, root: `${'A'.repeat(43)}=` } }),
      entry('logs/a.json'),
      entry('logs/b.json', bad),
      '["logs/c.json","",""]',
      entry('logs.jsonl:1', ok(), HEX('3'), HEX('4')),
      entry('logs.jsonl:2', ok(',"proof":7,"note":"n"')),
      entry('日本/ü.json'),
      entry('__proto__'),
      entry('logs/a.json', bad, HEX('5'), HEX('6')),
      '{"input":{"path":"logs","directory":true,"first":0,"records":3}}',
      `{"input":{"path":"logs.jsonl","sha256":"${HEX('e')}","first":3,"records":2}}`,
    ];
    expect(await same(await signed(lines))).toBe(true);
    // Versions 1 and 2, no results kept.
    expect(await same(await signed([JSON.stringify({ erst_batch_state: 1, shard: null }), '["a","",""]']))).toBe(true);
    expect(await same(await signed([header({ erst_batch_state: 2, config: undefined }), '["a","b","c"]']))).toBe(true);
    expect(await same(await signed([header()]))).toBe(true);
  });

  const odd: [string, string[]][] = [
    ['whitespace in an entry', [header(), `[ "a","${HEX('1')}","${HEX('2')}",${ok()}]`]],
    ['whitespace around a result', [header(), `["a","${HEX('1')}","${HEX('2')}", ${ok()} ]`]],
    ['whitespace after an entry', [header(), `${entry('a')} `]],
    ['an escape in a source', [header(), entry('a"b')]],
    ['a \\u escape in a source', [header(), `["\\u0061","${HEX('1')}","${HEX('2')}",${ok()}]`]],
    ['a lone surrogate in a source', [header(), entry('a\ud800b')]],
    ['a control character in a source', [header(), entry('a\tb')]],
    ['upper-case hex', [header(), entry('a', ok(), 'A'.repeat(64))]],
    ['a hash that is not hex', [header(), entry('a', ok(), 'xyz')]],
    [
      'results in another member order',
      [header(), entry('a', ok().replace('"valid":true,', '').replace('}', ',"valid":true}'))],
    ],
    ['a duplicate key in a result', [header(), entry('a', ok().replace('{', '{"valid":false,'))]],
    ['a result that is not one', [header(), entry('a', '{"valid":"yes"}')]],
    ['a big number in a result', [header(), entry('a', ok(',"proof":9007199254740993'))]],
    ['1e400 in a result', [header(), entry('a', ok(',"proof":1e400'))]],
    ['-0 in a result', [header(), entry('a', ok(',"proof":-0'))]],
    ['__proto__ in a result', [header(), entry('a', ok(',"__proto__":{"valid":false}'))]],
    ['five elements', [header(), `${entry('a').slice(0, -1)},1]`]],
    ['a result in a state that keeps none', [header({ config: undefined }), entry('a')]],
    [
      'an entry after an input line',
      [header(), entry('a'), `{"input":{"path":"x","directory":true,"first":0,"records":1}}`, entry('b')],
    ],
    [
      'an input line past the entries',
      [header(), entry('a'), `{"input":{"path":"x","directory":true,"first":0,"records":2}}`],
    ],
    [
      'an input line with a digest and a directory',
      [header(), entry('a'), `{"input":{"path":"x","directory":true,"sha256":"${HEX('e')}","first":0,"records":1}}`],
    ],
    [
      'an input line with __proto__',
      [header(), entry('a'), `{"__proto__":{},"input":{"path":"x","directory":true,"first":0,"records":1}}`],
    ],
    ['a second trailer', [header(), entry('a'), '{"end":{}}']],
    ['a line that is neither', [header(), '"a"']],
    ['a header that is not one', ['{"erst_batch_state":4,"shard":null}', entry('a')]],
  ];
  for (const [what, lines] of odd) {
    it(`${what}: the same verdict`, async () => {
      await same(await signed(lines));
    });
  }

  it('a blank line, a carriage return, a byte-order mark: left to the strict reader, which decides', async () => {
    const base = [header(), entry('a'), entry('b')];
    for (const raw of [
      `${base[0]}\n\n${base[1]}\n${base[2]}\n`,
      `${base[0]}\n${base[1]}\r\n${base[2]}\n`,
      `${base[0]}\n\ufeff${base[1]}\n${base[2]}\n`,
      `${base[0]}\n${base[1]}\n${base[2]}`,
    ]) {
      expect(await same(await signed(base, key, raw))).toBe(false);
    }
  });

  it('anything not authenticated by the key is left to the strict reader', async () => {
    const lines = [header(), entry('a')];
    expect(await same(await signed(lines, other))).toBe(false);
    const path = await signed(lines);
    const text = (await import('node:fs')).readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('"a"', '"b"'));
    expect(await same(path)).toBe(false);
  });

  it('random edits of a signed state, signed again: the same verdict every time', async () => {
    const lines = [
      header(),
      entry('logs/a.json'),
      entry('logs/b.json', bad),
      '["logs/c.json","",""]',
      entry('x.jsonl:1'),
      `{"input":{"path":"x.jsonl","sha256":"${HEX('e')}","first":3,"records":1}}`,
    ];
    const body = lines.map((l) => `${l}\n`).join('');
    const alphabet = ' \t\r\n"\\,:[]{}0aA\u00e9\ud83d\ude00-1e9';
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let taken = 0;
    for (let t = 0; t < 150; t++) {
      const chars = [...body];
      for (let e = 1 + rand(3); e > 0; e--) {
        const at = rand(chars.length);
        const c = [...alphabet][rand([...alphabet].length)]!;
        if (rand(2)) chars[at] = c;
        else chars.splice(at, 0, c);
      }
      const raw = chars.join('');
      if (!raw.endsWith('\n')) continue;
      if (await same(await signed(raw.trimEnd().split('\n'), key, raw))) taken++;
    }
    // Some edits keep the one form (a changed hex digit, a letter of a source): the fast reader took them.
    expect(taken).toBeGreaterThan(0);
  });
});

describe('summarizeShared', () => {
  it('is summarize() of the records one by one', () => {
    const outcomes: RecordOutcome[] = [
      {
        valid: true,
        format: '2.0.0',
        key: 'k:1',
        label: null,
        trust: 'pinned',
        day: 'd1',
        timestamp: null,
        traceHash: null,
        contentHash: null,
        errors: [],
        warnings: [],
      },
      {
        valid: true,
        format: '2.0.0',
        key: 'k:1',
        label: 'ops',
        trust: 'pinned',
        day: 'd2',
        timestamp: 'verified',
        traceHash: null,
        contentHash: null,
        errors: [],
        warnings: ['W'],
      },
      {
        valid: false,
        format: null,
        key: null,
        label: null,
        trust: 'untrusted',
        day: null,
        timestamp: 'unverified',
        traceHash: null,
        contentHash: null,
        errors: [['E', 'm']],
        warnings: ['W', 'V'],
      },
    ];
    const of = [0, 0, 2, 1, 0, 2, 1, 1, 0];
    expect(summarizeShared(outcomes, of)).toEqual(
      summarize(
        of.map((j) => outcomes[j]!),
        false,
      ),
    );
  });
});
