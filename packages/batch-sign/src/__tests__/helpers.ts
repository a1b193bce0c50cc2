import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HardwareAttestation, type Signer, isErstError } from '@erst/core';
import type { Verifier } from '@erst/verify';
import { tempDir } from '@erst/fixtures';
import { afterAll, expect } from 'vitest';

/**
 * A maker of scratch directories for one test file: each call makes a new
 * one under the system's temp directory; all are removed after the file's
 * tests.
 */
export function scratchDirs(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = tempDir(prefix);
    made.push(d);
    return d;
  };
}

/** Transaction `i`'s hash: `i` in hex, zero-padded to 64 digits. */
export const tx = (i: number): string => i.toString(16).padStart(64, '0');

/** A good payload line for transaction `i`, its result different for every `i`. */
export const line = (i: number): string =>
  JSON.stringify({
    transaction_hash: tx(i),
    payload: { envelope_xdr: 'AAAA', result_meta_xdr: `r${i}`, events: [], logs: [] },
  });

/** Writes `dir/payloads.jsonl`: good lines for transactions 1..n (see `line`), then `extra`; returns its path. */
export function writePayloads(dir: string, n: number, extra: string[] = []): string {
  const path = join(dir, 'payloads.jsonl');
  writeFileSync(path, `${[...Array.from({ length: n }, (_, i) => line(i + 1)), ...extra].join('\n')}\n`);
  return path;
}

/** The coded error `p` rejects with (to check its details too); anything else is rethrown, and resolving fails. */
export async function rejection(p: Promise<unknown>): Promise<{ code: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    if (isErstError(e)) return e as { code: string; details?: Record<string, unknown> };
    throw e;
  }
  throw new Error('resolved');
}

/** Every record of a .jsonl output, each asserted valid under `verifier`; their transaction hashes in file order. */
export async function verifiedJsonl(verifier: Verifier, path: string): Promise<string[]> {
  const out: string[] = [];
  for (const l of readFileSync(path, 'utf8').trimEnd().split('\n')) {
    const r = await verifier.verify(l);
    expect(r.valid, JSON.stringify(r.errors)).toBe(true);
    out.push(r.transaction_hash!);
  }
  return out;
}

/** A signer that counts every signature it makes: records' digests and checkpoints' notes. */
export type CountingSigner = Signer & { signMessage(m: Uint8Array): Promise<Uint8Array>; count: number };

/**
 * `inner` seen through its Signer surface only (no key object, as a token
 * is), with `attestation` when given, counting each signature it makes.
 */
export function countingSigner(
  inner: Pick<Signer, 'algorithm' | 'publicKey' | 'sign'> & { signMessage(m: Uint8Array): Promise<Uint8Array> },
  attestation?: HardwareAttestation,
): CountingSigner {
  const s = {
    count: 0,
    algorithm: inner.algorithm,
    publicKey: () => inner.publicKey(),
    ...(attestation ? { attestation: async () => attestation } : {}),
    async sign(d: Uint8Array) {
      s.count++;
      return inner.sign(d);
    },
    async signMessage(m: Uint8Array) {
      s.count++;
      return inner.signMessage(m);
    },
  };
  return s;
}

/** A token's attestation as a PKCS#11 signer states it (no certificates), for token-like signers in tests. */
export const TOKEN_ATTESTATION: HardwareAttestation = {
  certificates: null,
  token_info: 'SoftHSM "test" \\ token',
  key_non_exportable: true,
  retrieved_at: '2026-11-26T12:00:00Z',
  key_attributes: {
    local: true,
    sensitive: true,
    always_sensitive: true,
    extractable: false,
    never_extractable: true,
  },
};
