import { SIGNING_KEY_PEM } from '@erst/fixtures';
import { type HardwareAttestation, type WritableSchema, bytesToHex, generateWithSigner } from '@erst/core';
import { InMemorySigner } from '@erst/signer-memory';
import { describe, expect, it } from 'vitest';
import { FastRecords, hasDigitKey } from '../fast-record.js';
import { lineDocument } from '../line-document.js';
import { TOKEN_ATTESTATION, tx } from './helpers.js';

const signer = InMemorySigner.fromPem(SIGNING_KEY_PEM);
const publicKey = await signer.publicKey();
const NOW = new Date('2026-12-02T10:11:12.345Z');

/** The general path's line: what a signing thread wrote for every line before the fast path. */
async function slowLine(
  bytes: Uint8Array,
  schema: WritableSchema,
  recordSignature: boolean,
  attestation: HardwareAttestation | undefined,
): Promise<string> {
  const record = await generateWithSigner(signer, lineDocument(bytes), {
    schema,
    recordSignature,
    attestation: attestation ?? null,
    now: () => NOW,
  });
  return JSON.stringify(record);
}

/** The fast path's line, or undefined where it declines. */
async function fastLine(fast: FastRecords, bytes: Uint8Array, recordSignature: boolean): Promise<string | undefined> {
  const doc = lineDocument(bytes);
  const r = fast.make(bytes, doc.transactionHash, NOW);
  if (!r) return undefined;
  const signature = recordSignature ? bytesToHex(await signer.sign(r.digest)) : undefined;
  const payload = Buffer.from(bytes).subarray(r.payloadStart, r.payloadEnd).toString('utf8');
  return `${r.head}${payload}${r.tail(signature)}`;
}

const T = tx(7);
const wrap = (payload: string): string => `{"transaction_hash":"${T}","payload":${payload}}`;

/** Payload texts the fast path takes: each spelled as JSON.stringify spells what it parses to. */
const TAKEN = [
  '{}',
  '{"envelope_xdr":"AAAA+/==","result_meta_xdr":"QzKG","events":[{"type":"contract","topics":["a","b"],"data":{"z":1,"a":[true,false,null]}}],"logs":["x"]}',
  '{"b":1,"a":{"d":[],"c":{}}}',
  '{"s":"line\\nbreak\\ttab\\"quote\\\\back\\u001fus\\u0000nul"}',
  '{"u":"é ü 💸 \u2028 \u2029 \u007f","é":1,"z":2,"💸":3,"ｚ":4}',
  '{"n":[0,-1,1.5,-1.5e-7,1e+21,123456789012345,0.1,5e-324,1.7976931348623157e+308]}',
  '{"__proto__":{"a":1},"b":2}',
  '{"a":"x\\":1","b":"\\"5\\":"}',
  '{"":0,"a":""}',
  '{"4294967295x":1,"a1":2,"1a":3}',
  `{"deep":${'['.repeat(200)}1${']'.repeat(200)}}`,
];

/** Payload texts it declines (another spelling, whitespace, digit keys, ...): the general path writes them. */
const DECLINED = [
  '{ "a": 1 }',
  '{"a":[1, 2]}',
  '{"a":1\t}',
  '{"b":1,"0":2}',
  '{"a":{"10":1,"2":2}}',
  '{"01":1}',
  '{"4294967295":1}',
  '{"a\\"12":1}',
  '{"s":"\\u0041"}',
  '{"s":"\\/"}',
  '{"s":"\\ud83d\\ude00"}',
  '{"s":"\\u001F"}',
  '{"s":"\\u000a"}',
  '{"n":1.0}',
  '{"n":1E5}',
  '{"n":1e5}',
  '{"n":-0}',
  '{"n":0.10}',
  '{"n":1.5e300}',
];

/** Never reach either path: lineDocument refuses them (a number read as another value, a repeated key). */
const REFUSED = ['{"n":12345678901234567890}', '{"n":9007199254740993}', '{"a":1,"a":1}', '{"a":{"b":1,"b":2}}'];

/** Whole lines it declines, whatever their payload. */
const DECLINED_LINES = [
  `{"payload":{"a":1},"transaction_hash":"${T}"}`,
  ` {"transaction_hash":"${T}","payload":{"a":1}}`,
  `{"transaction_hash":"${T}","payload":{"a":1}} `,
  `{"transaction_hash":"${T}", "payload":{"a":1}}`,
  `{"transaction_hash":"${T}","payload" :{"a":1}}`,
  `{"transaction_hash":"${T}","payload":{"a":1} }`,
];

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

describe.each([
  ['2.1.0, no record signature, no attestation', '2.1.0', false, undefined],
  ['2.1.0, no record signature, a token attestation', '2.1.0', false, TOKEN_ATTESTATION],
  ['2.1.0, signed, no attestation', '2.1.0', true, undefined],
  ['2.0.0, signed, a token attestation', '2.0.0', true, TOKEN_ATTESTATION],
] as const)('FastRecords, %s', (_, schema, recordSignature, attestation) => {
  const fast = FastRecords.for({ schema, publicKey, attestation })!;

  it('writes the very bytes of JSON.stringify(generateWithSigner(...)) for the lines it takes', async () => {
    for (const p of TAKEN) {
      const bytes = enc(wrap(p));
      const got = await fastLine(fast, bytes, recordSignature);
      // Taken: without the fast path there would be nothing to compare.
      expect(got, p).toBeDefined();
      expect(got, p).toBe(await slowLine(bytes, schema, recordSignature, attestation));
    }
  });

  it('declines another spelling, whitespace, digit keys and another member order', async () => {
    for (const l of [...DECLINED.map(wrap), ...DECLINED_LINES]) {
      const bytes = enc(l);
      expect(await fastLine(fast, bytes, recordSignature), l).toBeUndefined();
      // And the general path still writes them (those that parse).
      expect(JSON.parse(await slowLine(bytes, schema, recordSignature, attestation)).transaction_hash).toBe(T);
    }
  });

  it('never sees what lineDocument refuses', () => {
    for (const p of REFUSED) expect(() => lineDocument(enc(wrap(p))), p).toThrow();
    // Not UTF-8: refused before anything could copy its bytes.
    expect(() =>
      lineDocument(new Uint8Array([...enc(wrap('{"s":"')).subarray(0, -1), 0xff, 0x22, 0x7d, 0x7d])),
    ).toThrow();
  });

  it('gives the general path its bytes on random payloads, taken or declined', async () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const chars = ['a', 'z', 'A', '0', '9', ' ', '"', '\\', '\n', '\u0001', '\u001f', 'é', '💸', '\u2028', '/', ':'];
    const str = () => Array.from({ length: rand(6) }, () => chars[rand(chars.length)]).join('');
    const value = (depth: number): unknown => {
      const k = rand(depth > 3 ? 4 : 7);
      if (k === 0) return str();
      if (k === 1) return [0, -1, 1.5, 1e21, 2 ** 53 - 1, -3.25e-9, 0.1][rand(7)];
      if (k === 2) return [true, false, null][rand(3)];
      if (k === 3) return rand(2) ? String(rand(20)) : str();
      if (k === 4) return Array.from({ length: rand(4) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = rand(5); i > 0; i--) o[rand(4) === 0 ? String(rand(12)) : str()] = value(depth + 1);
      return o;
    };
    let taken = 0;
    for (let i = 0; i < 400; i++) {
      const payload: Record<string, unknown> = {};
      for (let j = rand(6); j > 0; j--) payload[rand(5) === 0 ? String(rand(3)) : str()] = value(1);
      let text = JSON.stringify(payload);
      // Now and then with whitespace, the way another writer would.
      if (rand(5) === 0) text = JSON.stringify(payload, null, 1);
      const bytes = enc(wrap(text));
      const got = await fastLine(fast, bytes, recordSignature);
      if (got === undefined) continue;
      taken++;
      expect(got, text).toBe(await slowLine(bytes, schema, recordSignature, attestation));
    }
    expect(taken).toBeGreaterThan(150);
  });
});

describe('hasDigitKey', () => {
  const has = (s: string) => hasDigitKey(Buffer.from(s), 0, s.length);
  it('finds every key of digits only, in objects at any depth', () => {
    expect(has('{"0":1}')).toBe(true);
    expect(has('{"a":{"b":[{"123":1}]}}')).toBe(true);
    expect(has('{"a":1,"99":2}')).toBe(true);
  });
  it('finds none where there is none (a value that looks like one included)', () => {
    expect(has('{"a":"0","b":["1"],"c1":"2:"}')).toBe(false);
    expect(has('{"x":"\\"5\\":"}')).toBe(false);
    expect(has('{}')).toBe(false);
  });
});

describe('FastRecords.for', () => {
  it('does not apply to 1.1.0 records', () => {
    expect(FastRecords.for({ schema: '1.1.0', publicKey, attestation: undefined })).toBeUndefined();
  });
});
