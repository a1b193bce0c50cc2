import { readVectorLines } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../bytes.js';
import { isErstError } from '../errors.js';
import { canonicalize } from '../jcs.js';
import { type ScannedObject, assembleCanonical, scanCanonical, scanCanonicalPortable } from '../jcs-text.js';
import { type JsonObject, type JsonValue, MAX_JSON_DEPTH, parseStrictJson } from '../json.js';
import { type SignedRecord, hashInputDigest, parseRecord, parseRecordBytes } from '../parse.js';
import { sha256Utf8 } from '../sha256.js';
import { generateWithSigner, seedSigner, withLogProof } from '../sign.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** What a scan found, copied out of the scratch space the next scan reuses (its bytes as text: a fast comparison). */
function snapshot(s: ScannedObject | undefined) {
  const bytes = s && Buffer.from(s.bytes.subarray(0, s.used)).toString('latin1');
  return s && { keys: s.keys, starts: s.starts, ends: s.ends, order: [...s.order], bytes };
}

/**
 * scanCanonical, after checking that the scan as it runs where there is no
 * node:buffer (browsers: a Uint8Array's own methods) finds exactly the same:
 * every text of this suite is scanned both ways.
 */
function scanBoth(bytes: Uint8Array): ScannedObject | undefined {
  const portable = snapshot(scanCanonicalPortable(bytes));
  const scanned = scanCanonical(bytes);
  expect(portable).toEqual(snapshot(scanned));
  return scanned;
}

/** What the general path makes of bytes: the value, or the error's code and message. */
function strict(bytes: Uint8Array): { value: JsonValue } | { error: string } {
  try {
    return { value: parseStrictJson(bytes) };
  } catch (e) {
    if (!isErstError(e)) throw e;
    return { error: `${e.code}: ${e.message}` };
  }
}

/**
 * The fast path's canonical bytes of a text, checked against the general
 * path: when the scan answers, the general path must accept the text too and
 * canonicalize it to exactly these bytes. Returns whether the scan answered.
 */
function agrees(text: string | Uint8Array): boolean {
  const bytes = typeof text === 'string' ? enc.encode(text) : text;
  const scanned = scanBoth(bytes);
  if (!scanned) return false;
  const canonical = dec.decode(assembleCanonical(scanned, []));
  const slow = strict(bytes);
  expect(slow).toHaveProperty('value');
  expect(canonical).toBe(canonicalize((slow as { value: JsonValue }).value));
  return true;
}

/** A record's observable parts (the record itself as JSON: an own `__proto__` member included). */
function view(r: SignedRecord): unknown {
  return {
    format: r.format,
    algorithm: r.algorithm,
    publicKey: bytesToHex(r.publicKey.raw),
    signature: r.signature && bytesToHex(r.signature),
    logProof: r.logProof,
    timestampToken: r.timestampToken,
    claimedHash: r.claimedHash,
    hashInputText: r.hashInputText,
    hashInput: bytesToHex(r.hashInput),
    signedMessage: r.signedMessage,
    covered: r.covered,
    uncovered: r.uncovered,
    transactionHash: r.transactionHash,
    timestamp: r.timestamp,
    attestation: r.attestation,
    record: JSON.stringify(r.record),
  };
}

function outcome(fn: () => SignedRecord): { record: unknown } | { error: string } {
  try {
    return { record: view(fn()) };
  } catch (e) {
    if (!isErstError(e)) throw e;
    return { error: `${e.code}: ${e.message}` };
  }
}

/** parseRecordBytes is parseRecord(parseStrictJson(...)): same record or same error, same digest. */
async function sameRecord(text: string | Uint8Array, maxBytes?: number): Promise<void> {
  const bytes = typeof text === 'string' ? enc.encode(text) : text;
  const fast = outcome(() => parseRecordBytes(bytes, { maxBytes }));
  const slow = outcome(() => parseRecord(parseStrictJson(bytes, { maxBytes })));
  expect(fast).toEqual(slow);
  if ('record' in slow) {
    const rec = parseRecordBytes(bytes, { maxBytes });
    expect(bytesToHex(await hashInputDigest(rec))).toBe(
      bytesToHex(sha256Utf8(parseRecord(parseStrictJson(bytes)).hashInputText)),
    );
  }
}

/** Re-spells a JSON value's text: `gap` between every token, members in `order`. */
function spell(v: JsonValue, gap: string, order: (keys: string[]) => string[]): string {
  if (Array.isArray(v)) return `[${gap}${v.map((x) => spell(x, gap, order)).join(`${gap},${gap}`)}${gap}]`;
  if (v !== null && typeof v === 'object') {
    const members = order(Object.keys(v)).map((k) => `${JSON.stringify(k)}${gap}:${gap}${spell(v[k]!, gap, order)}`);
    return `{${gap}${members.join(`${gap},${gap}`)}${gap}}`;
  }
  return JSON.stringify(v);
}

const reversed = (keys: string[]) => [...keys].reverse();

describe('scanCanonical: canonical bytes read off the text', () => {
  it('gives canonicalize(JSON.parse(text)) whatever the whitespace and member order', () => {
    const value = JSON.parse(
      '{"b":[1,{"z":true,"a":null,"m":[{"y":1,"x":2}]}],"a":{"d":"x","c":-1.5e-7,"__proto__":{"q":0}},"10":1,"2":2,"1":3,"":[]}',
    ) as JsonValue;
    for (const gap of ['', ' ', '\n', '\t\r\n ']) {
      for (const order of [(k: string[]) => k, reversed, (k: string[]) => [...k].sort()]) {
        const text = spell(value, gap, order);
        expect(agrees(text)).toBe(true);
        expect(agrees(`${gap}${text}${gap}`)).toBe(true);
      }
    }
  });

  it('keeps an own __proto__ member, at the top and nested', () => {
    expect(agrees('{"__proto__":{"polluted":1},"a":{"__proto__":[1]}}')).toBe(true);
    const scanned = scanBoth(enc.encode('{"__proto__":{"polluted":1},"a":1}'))!;
    expect(dec.decode(assembleCanonical(scanned, []))).toBe('{"__proto__":{"polluted":1},"a":1}');
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
  });

  it('orders keys by UTF-16 code units, not by UTF-8 bytes', () => {
    // U+1F600 is D83D DE00 in UTF-16 (before U+FF5A) but F0 9F.. in UTF-8 (after EF BD ..).
    const text = '{"\uff5a":1,"\u{1f600}":2,"é":3,"e":4}';
    expect(agrees(text)).toBe(true);
    expect(dec.decode(assembleCanonical(scanBoth(enc.encode(text))!, []))).toBe(
      '{"e":4,"é":3,"\u{1f600}":2,"\uff5a":1}',
    );
  });

  it('takes the escapes JSON.stringify writes, and the characters it leaves alone', () => {
    expect(agrees('{"a":"\\" \\\\ \\b \\f \\n \\r \\t \\u0000 \\u001f \\u000b \\u007f"}')).toBe(false); // \u007f: not written
    expect(agrees('{"a":"\\" \\\\ \\b \\f \\n \\r \\t \\u0000 \\u001f \\u000b"}')).toBe(true);
    expect(agrees('{"a":"\u2028\u2029\u007f é 日本 \u{1f600} /"}')).toBe(true);
    expect(agrees('{"k\\n\\"":1,"k":2}')).toBe(true);
  });

  it.each([
    ['\\/', 'a solidus written as an escape'],
    ['\\u0041', 'an ASCII letter as an escape'],
    ['\\u001F', 'uppercase hex'],
    ['\\u000a', 'a control character with a short form'],
    ['\\u00e9', 'a non-ASCII character as an escape'],
    ['\\u2028', 'U+2028 as an escape'],
    ['\\ud83d\\ude00', 'a surrogate pair as escapes'],
    ['\\ud800', 'a lone surrogate'],
  ])('leaves %s (%s) to the general path, which agrees on the result', async (spelling) => {
    const text = `{"version":"2.0.0","a":"x${spelling}y"}`;
    expect(scanBoth(enc.encode(text))).toBeUndefined();
    expect(scanBoth(enc.encode(`{"x${spelling}":1}`))).toBeUndefined();
    await sameRecord(text);
  });

  it('takes numbers spelled as JSON.stringify spells them, and only those', () => {
    for (const n of [
      '0',
      '-1',
      '1.5',
      '0.1',
      '1e+21',
      '1e-7',
      '123456789012345680000',
      '5e-324',
      '-1.7976931348623157e+308',
    ]) {
      expect(agrees(`{"n":${n}}`)).toBe(true);
    }
    for (const n of [
      '-0',
      '1.0',
      '1e2',
      '1E2',
      '1e+2',
      '0.10',
      '100e-2',
      '9007199254740993',
      '1e400',
      '00',
      '1.',
      '-',
    ]) {
      expect(scanBoth(enc.encode(`{"n":${n}}`))).toBeUndefined();
    }
  });

  it('refuses repeated keys (top-level and nested), nesting past the limit, and text that is not one object', () => {
    for (const text of [
      '{"a":1,"a":1}',
      '{"b":1,"a":2,"b":3}',
      '{"x":{"a":1,"a":1}}',
      '{"x":{"b":1,"a":1,"b":1}}',
      '{"a":1,"\\u0061":2}',
      '[1]',
      '"s"',
      '{"a":1}x',
      '{"a":1}{}',
      '{"a":1,}',
      '{"a" 1}',
      '{"a":tru}',
      '{"a":"unterminated}',
      '',
      '\ufeff{"a":1}',
    ]) {
      expect(scanBoth(enc.encode(text))).toBeUndefined();
    }
    const nested = (depth: number) => `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    expect(agrees(nested(MAX_JSON_DEPTH))).toBe(true);
    expect(scanBoth(enc.encode(nested(MAX_JSON_DEPTH + 1)))).toBeUndefined();
  });

  it('work stays linear: a long run of escapes before a far quote', () => {
    const text = `{"a":"${'\\n'.repeat(200_000)}","b":"${'x'.repeat(200_000)}"}`;
    const t = performance.now();
    expect(agrees(text)).toBe(true);
    expect(performance.now() - t).toBeLessThan(2000);
  });

  it('agrees with the general path on random values spelled at random', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pieces = ['a', 'b', 'é', '"', '\\', '\n', '\u0001', '\u2028', '\u{1f600}', '1', '__proto__', '/', '\u007f'];
    const str = (): string => Array.from({ length: rand(4) }, () => pieces[rand(pieces.length)]).join('');
    const numbers = [0, -1, 1.5, 1e21, 1e-7, 0.1, 2 ** 53, -(2 ** 31), Math.PI];
    const gen = (depth: number): JsonValue => {
      const k = rand(depth > 4 ? 4 : 7);
      if (k === 0) return str();
      if (k === 1) return numbers[rand(numbers.length)]!;
      if (k === 2) return [true, false, null][rand(3)]!;
      if (k === 3) return rand(2) ? str() : rand(100);
      if (k === 4) return Array.from({ length: rand(4) }, () => gen(depth + 1));
      const o: JsonObject = {};
      for (let i = rand(5); i > 0; i--) {
        Object.defineProperty(o, str(), {
          value: gen(depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return o;
    };
    let fast = 0;
    for (let i = 0; i < 400; i++) {
      const v = { top: gen(0), [str()]: gen(1) } as JsonObject;
      const gap = [' ', '', '\n '][rand(3)]!;
      const order = [(k: string[]) => k, reversed][rand(2)]!;
      if (agrees(spell(v, gap, order))) fast++;
      if (agrees(JSON.stringify(v))) fast++;
    }
    // Most texts go the fast way (all JSON.stringify output does), so the comparison above is not vacuous.
    expect(fast).toBeGreaterThan(600);
  });
});

describe('parseRecordBytes: parseRecord(parseStrictJson(bytes)), faster', () => {
  const input = {
    transactionHash: 'ab'.repeat(32),
    payload: {
      envelope_xdr: 'AAAA',
      result_meta_xdr: 'BBBB',
      events: ['ev "q" \\ \n é 日本 \u2028'],
      logs: ['x'],
    } as JsonObject,
  };
  const now = () => new Date('2026-11-26T12:00:00.000Z');
  const signer = seedSigner(new Uint8Array(32).fill(7));
  const PROOF = 'c2sp.org/tlog-proof@v1\nindex 0\n\nexample.com/log\n1\nAAAA\n\n— example.com/log AAAA\n';

  async function records(): Promise<JsonObject[]> {
    const v20 = (await generateWithSigner(signer, input, { now, attestation: null })) as unknown as JsonObject;
    const v21 = await generateWithSigner(signer, input, { schema: '2.1.0', now, attestation: null });
    const logged = withLogProof(v21, PROOF) as unknown as JsonObject;
    return [v20, v21 as unknown as JsonObject, logged];
  }

  it('reads records as they are written: same record, digest made from the bytes', async () => {
    for (const rec of await records()) {
      const bytes = enc.encode(JSON.stringify(rec));
      expect(scanBoth(bytes)).toBeDefined();
      const fast = parseRecordBytes(bytes);
      expect(bytesToHex(await hashInputDigest(fast))).toBe(rec.trace_hash);
      await sameRecord(bytes);
    }
  });

  it('agrees on records re-spelled, reordered, edited and broken', async () => {
    for (const rec of await records()) {
      const text = JSON.stringify(rec);
      const variants = [
        spell(rec, ' ', reversed),
        spell(rec, '\n', (k) => [...k].sort()),
        text.replace('"logs":["x"]', '"logs":["y"]'), // edited: the digest no longer matches, on both paths
        text.replace('"AAAA"', '"AAAA","__proto__":{"a":1}'),
        text.replace('"AAAA"', '"AAAA","envelope_xdr":"C"'), // a repeated key
        text.replace('"ab', '"\\u0061b'),
        text.replace('"logs":["x"]', '"logs":["x"],"n":1.0'),
        text.replace('"logs":["x"]', '"logs":["x"],"n":9007199254740993'),
        text.replace('"logs":["x"]', '"logs":["x"],"n":-0'),
        text.replace('"logs":["x"]', '"logs":["\\ud800"]'),
        text.replace('"version":"2', '"version":"9'),
        text.replace('"payload":{', '"payload":{"deep":{"a":1,"a":2},'),
        text.replace('"payload":', '"trace_hash":"00","payload":'),
        `${text}\n`,
        ` ${text}`,
        `\ufeff${text}`,
        text.slice(0, -1),
        `${text.slice(0, -1)},}`,
        text.replace('"x"', '"\u0001"'),
        JSON.stringify({ ...rec, version: 1 }),
        JSON.stringify([rec]),
        // The compact path reads the top level without the payload: every other member, and the payload's kind.
        text.replace('{', '{"__proto__":{"a":1},'),
        text.replace('{', '{"__proto__":null,'),
        JSON.stringify({ ...rec, payload: 'x' }),
        JSON.stringify({ ...rec, payload: [rec.payload] }),
        JSON.stringify({ ...rec, payload: null }),
        JSON.stringify({ ...rec, payload: {} }),
        JSON.stringify({ ...rec, extra: { payload: 1 } }),
        text.replace('"payload":{', '"payload":{"payload":"x",'),
        text.replace('"payload":{', '"payload":{"s":"a\tb",'), // a raw tab inside a string: not JSON
        text.replace('"payload":{', '"payload":{"s\t":1,'), // ... inside a key
        text.replace('"version"', '"version\u0000"'),
        text.replace('"AAAA"', '"AA\tA"'),
        text.replace('"payload":{', '"payload":\t{'),
        text.replace('"payload":{', '"payload":{"s":"\u007f\u0080",'),
        // Empty and degenerate inputs, and nesting past the limit inside the payload the compact path leaves unparsed.
        '',
        '{}',
        '{"version":"2.1.0"}',
        text.replace(
          '"payload":{',
          `"payload":{"deep":${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)},`,
        ),
        text.replace(
          '"payload":{',
          `"payload":{"deep":${'['.repeat(MAX_JSON_DEPTH - 2)}${']'.repeat(MAX_JSON_DEPTH - 2)},`,
        ),
      ];
      for (const v of variants) await sameRecord(v);
      await sameRecord(text, text.length - 1); // over maxBytes
      const bad = enc.encode(text);
      bad[bad.indexOf(0xc3)] = 0xff; // not UTF-8
      await sameRecord(bad);
    }
  });

  it("agrees on erst's 1.x and erst-ts records (which it reads the general way)", async () => {
    for (const file of ['erst-go-1.1.0.jsonl', 'erst-go-1.0.0.jsonl', 'erst-ts-legacy.jsonl']) {
      for (const line of readVectorLines(file)) await sameRecord(line);
    }
  });

  it('a record whose text is not canonical-able still verifies by its digest', async () => {
    const [v20] = await records();
    const bytes = enc.encode(JSON.stringify(v20).replace('"AAAA"', '"AA\\u0041A"'));
    expect(scanBoth(bytes)).toBeUndefined();
    expect(bytesToHex(await hashInputDigest(parseRecordBytes(bytes)))).toBe(v20!.trace_hash);
  });
});
