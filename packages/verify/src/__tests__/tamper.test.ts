import { type AuditRecordV1, type JsonValue, bytesToHex, generate, sha256, hashInputV2 } from '@erst/core';
import { readVectorLines, SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { Verifier } from '../verify.js';
import { OTHER_SEED, PAYLOAD, TEST_SEED, TX, signV2 } from './helpers.js';

type Path = (string | number)[];

function leafPaths(value: JsonValue, path: Path = []): Path[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leafPaths(v, [...path, i]));
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...path, k]));
  return [path];
}

function getAt(obj: JsonValue, path: Path): JsonValue {
  return path.reduce<JsonValue>((o, k) => (o as Record<string, JsonValue>)[k as string]!, obj);
}

function setAt(obj: JsonValue, path: Path, v: JsonValue): void {
  const parent = getAt(obj, path.slice(0, -1)) as Record<string, JsonValue>;
  parent[path[path.length - 1] as string] = v;
}

/** A different value of the same shape, so the change is one of meaning, not of format. */
function mutate(v: JsonValue): JsonValue {
  if (typeof v === 'string') {
    if (/^[0-9a-f]+$/.test(v)) return (v[0] === '0' ? '1' : '0') + v.slice(1);
    if (/^\d{4}-/.test(v)) return v.replace(/^(\d{3})\d/, (_m, p) => `${p}${v[3] === '7' ? '8' : '7'}`);
    return `${v}x`;
  }
  if (typeof v === 'number') return v + 1;
  if (typeof v === 'boolean') return !v;
  return 'x';
}

const verifier = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX] });
const codes = async (rec: unknown) => {
  const r = await verifier.verify(JSON.stringify(rec));
  return { valid: r.valid, codes: r.errors.map((e) => e.code) };
};

describe('tamper matrix, 2.0.0', async () => {
  const original = await signV2(TEST_SEED, { ...PAYLOAD, nested: { n: 42, ok: true, none: null, list: [1.5, 'two'] } });

  it('the untouched record verifies', async () => {
    expect(await codes(original)).toEqual({ valid: true, codes: [] });
  });

  const paths = leafPaths(original as unknown as JsonValue);
  it('covers every leaf, timestamp and transaction hash included', () => {
    const names = paths.map((p) => p.join('.'));
    expect(names).toEqual(
      expect.arrayContaining([
        'timestamp',
        'transaction_hash',
        'algorithm',
        'public_key',
        'payload.nested.none',
        'payload.events.1',
      ]),
    );
    expect(paths.length).toBeGreaterThan(15);
  });

  it.each(paths.map((p) => [p.join('.'), p] as const))('changing %s fails', async (_name, path) => {
    const rec = structuredClone(original) as unknown as JsonValue;
    setAt(rec, path, mutate(getAt(rec, path)));
    const result = await codes(rec);
    expect(result.valid).toBe(false);
    const expected =
      path[0] === 'signature'
        ? 'ERR_SIGNATURE_INVALID'
        : path[0] === 'version'
          ? 'ERR_RECORD_UNSUPPORTED_VERSION'
          : path[0] === 'algorithm'
            ? 'ERR_ALGORITHM_UNSUPPORTED'
            : 'ERR_HASH_MISMATCH';
    expect(result.codes).toContain(expected);
  });

  it('adding a field, anywhere, fails', async () => {
    for (const add of [
      (r: Record<string, JsonValue>) => {
        r.extra = 'x';
      },
      (r: Record<string, JsonValue>) => {
        (r.payload as Record<string, JsonValue>).extra = null;
      },
      (r: Record<string, JsonValue>) => {
        (r.payload as { events: JsonValue[] }).events.push('injected');
      },
    ]) {
      const rec = structuredClone(original) as unknown as Record<string, JsonValue>;
      add(rec);
      expect(await codes(rec)).toEqual({ valid: false, codes: ['ERR_HASH_MISMATCH', 'ERR_SIGNATURE_INVALID'] });
    }
  });

  it('removing any field fails', async () => {
    for (const key of Object.keys(original)) {
      const rec = structuredClone(original) as unknown as Record<string, JsonValue>;
      delete rec[key];
      const r = await codes(rec);
      expect(r.valid, key).toBe(false);
      expect(r.codes.length, key).toBeGreaterThan(0);
    }
    const rec = structuredClone(original) as unknown as { payload: Record<string, JsonValue> };
    delete rec.payload.logs;
    expect((await codes(rec)).codes).toContain('ERR_HASH_MISMATCH');
  });

  it("swapping in another record's signature fails", async () => {
    const other = await signV2(TEST_SEED, { different: true });
    expect((await codes({ ...original, signature: other.signature })).codes).toEqual(['ERR_SIGNATURE_INVALID']);
  });

  it('swapping the key (and recomputing trace_hash to match) fails on the signature', async () => {
    const otherKey = (await signV2(OTHER_SEED)).public_key;
    const { trace_hash: _t, signature, ...rest } = original;
    const swapped = { ...rest, public_key: otherKey };
    const forged = { ...swapped, trace_hash: bytesToHex(sha256(hashInputV2(swapped))), signature };
    expect(await codes(forged)).toEqual({ valid: false, codes: ['ERR_SIGNATURE_INVALID'] });
  });

  it('a record re-signed by another key is valid but untrusted under the pinned key', async () => {
    const resigned = await signV2(OTHER_SEED, { ...PAYLOAD });
    expect(await codes(resigned)).toEqual({ valid: false, codes: ['ERR_KEY_NOT_TRUSTED'] });
  });
});

describe('tamper matrix, 1.x', () => {
  for (const file of ['erst-go-1.1.0.jsonl', 'erst-go-1.0.0.jsonl']) {
    it(`${file}: every covered leaf breaks the record; uncovered fields are named`, async () => {
      const original = JSON.parse(readVectorLines(file)[0]!) as AuditRecordV1;
      for (const path of leafPaths({ payload: original.payload } as unknown as JsonValue)) {
        const rec = structuredClone(original) as unknown as JsonValue;
        setAt(rec, path, mutate(getAt(rec, path)));
        const r = await codes(rec);
        expect(r.valid, path.join('.')).toBe(false);
        expect(r.codes, path.join('.')).toContain('ERR_HASH_MISMATCH');
      }
      for (const field of ['timestamp', 'transaction_hash'] as const) {
        const rec = { ...original, [field]: mutate(original[field]) };
        const r = await verifier.verify(JSON.stringify(rec));
        // Not covered by 1.x signatures: still valid, and the result says so.
        expect(r.valid).toBe(true);
        expect(r.uncovered).toContain(field);
      }
      const r = await codes({ ...original, signature: mutate(original.signature) });
      expect(r.codes).toEqual(['ERR_SIGNATURE_INVALID']);
    });
  }

  it('1.1.0: editing the embedded attestation breaks the record', async () => {
    const original = JSON.parse(readVectorLines('erst-go-1.1.0.jsonl')[4]!) as AuditRecordV1;
    for (const path of leafPaths({ hardware_attestation: original.hardware_attestation } as unknown as JsonValue)) {
      const rec = structuredClone(original) as unknown as JsonValue;
      setAt(rec, path, mutate(getAt(rec, path)));
      const r = await codes(rec);
      expect(r.valid, path.join('.')).toBe(false);
    }
    const { hardware_attestation: _a, ...stripped } = original;
    expect((await codes(stripped)).codes).toContain('ERR_HASH_MISMATCH');
  });

  it('1.x refuses fields its signature cannot cover', async () => {
    const original = JSON.parse(readVectorLines('erst-go-1.0.0.jsonl')[0]!);
    expect((await codes({ ...original, note: 'trust me' })).codes).toEqual(['ERR_RECORD_FIELD_UNKNOWN']);
    expect((await codes({ ...original, payload: { ...original.payload, extra: 'x' } })).codes).toEqual([
      'ERR_RECORD_FIELD_UNKNOWN',
    ]);
  });
});

describe('round trips', () => {
  it('2.0.0 and 1.1.0 sign and verify through the library', async () => {
    for (const schema of ['2.0.0', '1.1.0'] as const) {
      const rec = await generate({ transactionHash: TX, payload: PAYLOAD }, TEST_SEED, { schema, attestation: null });
      const r = await verifier.verify(JSON.stringify(rec));
      expect(r.format).toBe(schema);
      expect(r.valid).toBe(true);
      expect(r.trust).toBe('pinned');
    }
  });
});
