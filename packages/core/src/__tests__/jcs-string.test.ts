/*
 * The browsers' fast path (parse-async.ts: decodeUtf8Text, then the string
 * scan of jcs-string.ts) held to every test of the Node one: this file runs
 * jcs-text.test.ts with `scanCanonical` and `parseRecordBytes` replaced by
 * the string scan and by the text path (with a synchronous SHA-256), then
 * checks parseRecordBytesAsync as a browser loads it (no node:crypto,
 * WebCrypto's digest).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ScannedObject } from '../jcs-text.js';
import type { AuditRecordV2_1 } from '../record.js';
import type { ParseJsonOptions } from '../json.js';
import type { SignedRecord } from '../parse.js';

const replaced = vi.hoisted(() => ({
  scan: undefined as ((bytes: Uint8Array) => ScannedObject | undefined) | undefined,
  parse: undefined as ((bytes: Uint8Array, options?: ParseJsonOptions) => SignedRecord) | undefined,
  scans: 0,
  fast: 0,
}));
vi.mock('../jcs-text.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../jcs-text.js')>()),
  scanCanonical: (bytes: Uint8Array) => replaced.scan!(bytes),
}));
vi.mock('../parse.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../parse.js')>()),
  parseRecordBytes: (bytes: Uint8Array, options?: ParseJsonOptions) => replaced.parse!(bytes, options),
}));

import { readVectorLines } from '@erst/fixtures';
import { bytesToHex } from '../bytes.js';
import { isErstError } from '../errors.js';
import { scanCanonicalText } from '../jcs-string.js';
import { parseStrictJson } from '../json.js';
import { hashInputDigest, parseRecord } from '../parse.js';
import { textRecordSync } from '../parse-async.js';
import { sha256, sha256Utf8 } from '../sha256.js';
import { generateWithSigner, seedSigner, withLogProof } from '../sign.js';
import { decodeUtf8Text } from '../utf8-text.js';

replaced.scan = (bytes) => {
  const decoded = decodeUtf8Text(bytes);
  const scanned = decoded && scanCanonicalText(decoded, bytes);
  if (scanned) replaced.scans++;
  return scanned;
};
replaced.parse = (bytes, options = {}) => {
  const rec = textRecordSync(bytes, options, sha256);
  if (rec) replaced.fast++;
  return rec ?? parseRecord(parseStrictJson(bytes, options));
};

// Every test of parseRecordBytes and scanCanonical, against the browsers' path.
await import('./jcs-text.test.js');

describe('the suite above ran the string scan', () => {
  it('took the fast path for most texts (the comparisons were not vacuous)', () => {
    expect(replaced.scans).toBeGreaterThan(600);
    expect(replaced.fast).toBeGreaterThan(5);
  });
});

type Core = typeof import('../index.js');
/** The package as a browser loads it: no node:crypto, so WebCrypto. */
let browser: Core;
const original = process.getBuiltinModule;
beforeAll(async () => {
  (process as { getBuiltinModule?: unknown }).getBuiltinModule = undefined;
  vi.resetModules();
  vi.doUnmock('../jcs-text.js');
  vi.doUnmock('../parse.js');
  browser = await import('../index.js');
});
afterAll(() => {
  process.getBuiltinModule = original;
});

const enc = new TextEncoder();

function outcome(fn: () => SignedRecord): unknown {
  try {
    const r = fn();
    return {
      ...r,
      publicKey: bytesToHex(r.publicKey.raw),
      hashInput: bytesToHex(r.hashInput),
      record: JSON.stringify(r.record),
    };
  } catch (e) {
    if (!isErstError(e)) throw e;
    return { error: `${e.code}: ${e.message}` };
  }
}

describe('parseRecordBytesAsync as a browser runs it (WebCrypto)', () => {
  const signer = seedSigner(new Uint8Array(32).fill(9));
  const now = () => new Date('2026-11-26T12:00:00.000Z');
  const payload = (i: number) => ({
    envelope_xdr: 'QUJD'.repeat(100 + i),
    result_meta_xdr: 'x'.repeat(i),
    events: [`ev ${i} "q" \\ \n é 日本 😀 \u2028`, 'üñïçödé ✓'.repeat(i % 5)],
    logs: [`log ${i}`],
  });

  it('really is the browser build', () => {
    expect(browser.hasNativeSha256).toBe(false);
  });

  it('gives the records and digests of the general path, many at once (one scratch buffer, WebCrypto copies it)', async () => {
    const records: string[] = [];
    for (let i = 0; i < 24; i++) {
      const v = await generateWithSigner(
        signer,
        { transactionHash: 'cd'.repeat(32), payload: payload(i) },
        {
          now,
          attestation: null,
          ...(i % 3 === 0 && { schema: '2.1.0' as const }),
        },
      );
      const text = JSON.stringify(
        i % 6 === 0
          ? withLogProof(
              v as AuditRecordV2_1,
              'c2sp.org/tlog-proof@v1\nindex 0\n\nexample.com/log\n1\nAAAA\n\n— example.com/log AAAA\n',
            )
          : v,
      );
      // Re-spelled ones too (whitespace): still the fast path.
      records.push(i % 5 === 2 ? JSON.stringify(JSON.parse(text), null, 1) : text);
    }
    for (const line of readVectorLines('erst-go-1.1.0.jsonl').slice(0, 3)) records.push(line);
    records.push(records[0]!.replace('"log 0"', '"log 0","log 0b"')); // edited: digest differs from trace_hash
    records.push(records[0]!.replace('"AAAA', '"A\\u0041AA')); // not canonical-able: the general path
    records.push(records[0]!.replace('"log 0"]', '"log 0"],"logs":[]')); // a repeated key
    const all = await Promise.all(
      records.map(async (text) => {
        const bytes = enc.encode(text);
        try {
          const rec = await browser.parseRecordBytesAsync(bytes);
          return { rec, digest: bytesToHex(await browser.hashInputDigest(rec)) };
        } catch (e) {
          return { error: e };
        }
      }),
    );
    all.forEach((got, i) => {
      const bytes = enc.encode(records[i]!);
      const slow = outcome(() => parseRecord(parseStrictJson(bytes)));
      if ('error' in got) {
        expect(
          outcome(() => {
            throw got.error;
          }),
        ).toEqual(slow);
        return;
      }
      expect(outcome(() => got.rec)).toEqual(slow);
      expect(got.digest).toBe(bytesToHex(sha256Utf8(parseRecord(parseStrictJson(bytes)).hashInputText)));
    });
    // The first ones are as written: their digest is their trace_hash.
    expect(all[0]).toHaveProperty('digest', JSON.parse(records[0]!).trace_hash);
    expect(all.filter((r) => 'error' in r)).toHaveLength(1);
  });

  it('rejects with the general path error, not a different one', async () => {
    for (const text of ['{"a":1', '[]', '{"version":"9.9.9"}', '\ufeff{}', '{"a":1,"a":2}', '']) {
      const slow = outcome(() => parseRecord(parseStrictJson(enc.encode(text))));
      const fast = await browser.parseRecordBytesAsync(enc.encode(text)).then(
        (r) => outcome(() => r),
        (e: unknown) =>
          outcome(() => {
            throw e;
          }),
      );
      expect(fast).toEqual(slow);
    }
  });
});

void hashInputDigest;
