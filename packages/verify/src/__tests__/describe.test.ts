import { generateWithSigner, hexToBytes, seedSigner, sha256, withLogProof } from '@erst/core';
import { readVectorLines } from '@erst/fixtures';
import { MerkleTree, formatTlogProof, noteSignerFromSigner, signCheckpoint } from '@erst/tlog';
import { describe, expect, it } from 'vitest';
import { describeRecord } from '../index.js';
import { FIXED_NOW, PAYLOAD, TEST_SEED, TX, signV2 } from './helpers.js';

const ORIGIN = 'audit.example.com/log';

async function loggedRecord(recordSignature: boolean) {
  const signer = seedSigner(TEST_SEED);
  const record = await generateWithSigner(
    signer,
    { transactionHash: TX, payload: PAYLOAD },
    { schema: '2.1.0', recordSignature, now: FIXED_NOW, attestation: null },
  );
  const tree = new MerkleTree();
  tree.append(sha256(new TextEncoder().encode('an earlier entry')));
  tree.append(hexToBytes(record.trace_hash)!);
  const noteSigner = await noteSignerFromSigner(ORIGIN, {
    ...signer,
    signMessage: async (m: Uint8Array) => (await import('@noble/curves/ed25519.js')).ed25519.sign(m, TEST_SEED),
  });
  const checkpoint = await signCheckpoint({ origin: ORIGIN, size: 2, root: tree.root(), extensions: [] }, [noteSigner]);
  return {
    record: withLogProof(record, formatTlogProof({ index: 1, hashes: tree.inclusionProof(1), checkpoint })),
    noteSigner,
  };
}

describe('describeRecord: what a record states, for inspect and the web page', () => {
  it('a 2.0.0 record: format, key, hashes, covered fields, no proof', async () => {
    const record = await signV2();
    const d = await describeRecord(JSON.stringify(record));
    expect(d.format).toBe('2.0.0');
    expect(d.public_key).toBe(record.public_key);
    expect(d.claimed_hash).toBe(record.trace_hash);
    expect(d.hash_matches).toBe(true);
    expect(d.has_signature).toBe(true);
    expect(d.covered).toContain('payload');
    expect(d.uncovered).toEqual([]);
    expect(d.attestation).toBeNull();
    expect(d.log_proof).toBeNull();
  });

  it('a changed field shows as a hash that no longer matches (the description never throws for it)', async () => {
    const record = { ...(await signV2()), timestamp: '2030-01-01T00:00:00.000Z' };
    const d = await describeRecord(JSON.stringify(record));
    expect(d.hash_matches).toBe(false);
    expect(d.computed_hash).not.toBe(d.claimed_hash);
  });

  it('a 2.1.0 record sealed by its log proof alone: where the proof places it and who signed the checkpoint', async () => {
    const { record, noteSigner } = await loggedRecord(false);
    const d = await describeRecord(new TextEncoder().encode(JSON.stringify(record)));
    expect(d.format).toBe('2.1.0');
    expect(d.has_signature).toBe(false);
    expect(d.log_proof).toEqual({
      origin: ORIGIN,
      index: 1,
      tree_size: 2,
      signatures: [{ name: ORIGIN, key_id: noteSigner.keyId.toString(16).padStart(8, '0') }],
      proof_hashes: 1,
      timestamp_token: null,
      error: null,
    });
  });

  it('a damaged proof is described by its code, not thrown', async () => {
    const { record } = await loggedRecord(true);
    const d = await describeRecord(
      JSON.stringify({ ...record, log_proof: record.log_proof!.replace('index 1', 'index 01') }),
    );
    expect(d.log_proof?.error).toBe('ERR_TLOG_PROOF_MALFORMED');
    expect(d.log_proof?.origin).toBeNull();
  });

  it('an attested erst Go record: the certificates as stated and as parsed, and the vendor details', async () => {
    const line = readVectorLines('erst-go-1.1.0.jsonl')[4]!;
    const d = await describeRecord(line);
    expect(d.attestation).not.toBeNull();
    expect(d.attestation!.certificates.length).toBeGreaterThan(0);
    expect(d.attestation!.certificates[0]!.parsed?.sha256_fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('input that is not a record throws the parser code', async () => {
    await expect(describeRecord('{"version":"9.9.9"}')).rejects.toMatchObject({
      code: 'ERR_RECORD_UNSUPPORTED_VERSION',
    });
    await expect(describeRecord('not json')).rejects.toHaveProperty('code');
  });
});
