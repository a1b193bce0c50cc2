import { readVectorLines, SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { Verifier } from '../verify.js';

const FILES = ['erst-go-1.1.0.jsonl', 'erst-go-1.0.0.jsonl', 'erst-ts-legacy.jsonl'] as const;
const FORMAT = {
  'erst-go-1.1.0.jsonl': '1.1.0',
  'erst-go-1.0.0.jsonl': '1.0.0',
  'erst-ts-legacy.jsonl': 'erst-ts',
} as const;

describe("erst's own records verify byte for byte", () => {
  for (const backend of ['webcrypto', 'noble', 'node'] as const) {
    for (const file of FILES) {
      it(`${file} with the ${backend} backend, key pinned`, async () => {
        const verifier = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX], backend });
        const results = await verifier.verifyMany(readVectorLines(file).map((l) => new TextEncoder().encode(l)));
        expect(results.length).toBeGreaterThanOrEqual(5);
        for (const r of results) {
          expect(r.errors).toEqual([]);
          expect(r.valid).toBe(true);
          expect(r.format).toBe(FORMAT[file]);
          expect(r.trust).toBe('pinned');
          expect(r.integrity).toEqual({ hash: 'ok', signature: 'ok' });
        }
      });
    }
  }

  it('names the fields a 1.x record leaves unsigned, on every 1.x result', async () => {
    const verifier = new Verifier();
    for (const file of ['erst-go-1.1.0.jsonl', 'erst-go-1.0.0.jsonl']) {
      for (const r of await verifier.verifyMany(readVectorLines(file))) {
        expect(r.uncovered).toEqual(['version', 'timestamp', 'transaction_hash']);
        expect(r.warnings.map((w) => w.code)).toContain('WARN_UNCOVERED_FIELDS');
      }
    }
  });

  it('reports an unpinned signer as embedded-only, with a warning, never as trusted', async () => {
    const r = await new Verifier().verify(readVectorLines('erst-go-1.1.0.jsonl')[0]!);
    expect(r.valid).toBe(true);
    expect(r.trust).toBe('embedded-only');
    expect(r.warnings.map((w) => w.code)).toContain('WARN_KEY_NOT_PINNED');
  });

  it('pins keys given as SPKI PEM as well as hex, matching by key bytes', async () => {
    const legacy = JSON.parse(readVectorLines('erst-ts-legacy.jsonl')[0]!);
    const byPem = await new Verifier({ publicKeys: [legacy.publicKey] }).verify(
      readVectorLines('erst-go-1.0.0.jsonl')[0]!,
    );
    expect(byPem.trust).toBe('pinned');
  });
});
