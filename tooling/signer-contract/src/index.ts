import { MAX_SIGN_MESSAGE_BYTES, type Signer, bytesToHex, generateWithSigner, sha256 } from '@erst/core';
import { ed25519 } from '@noble/curves/ed25519.js';
import { selectBackend, verifyAuditLog } from '@erst/verify';
import { p256 } from '@noble/curves/nist.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TX = 'ab'.repeat(32);
const PAYLOAD = {
  envelope_xdr: 'AAAAAgAAAAA=',
  result_meta_xdr: 'AAAAAwAAAAA=',
  events: ['event <one> & "two"'],
  logs: ['log line', 'line\u2028sep'],
};

/**
 * The behaviour every Signer implementation must show. signer-memory runs it
 * in memory; tests/softhsm runs it against a real SoftHSM token.
 */
export function describeSignerContract(name: string, makeSigner: () => Promise<Signer>): void {
  describe(`Signer contract: ${name}`, () => {
    let signer: Signer;
    beforeAll(async () => {
      signer = await makeSigner();
    });
    afterAll(async () => {
      await signer?.close?.();
    });

    it('reports a stable public key of the right size for its algorithm', async () => {
      const a = await signer.publicKey();
      const b = await signer.publicKey();
      expect(a.algorithm).toBe(signer.algorithm);
      expect(bytesToHex(a.raw)).toBe(bytesToHex(b.raw));
      expect(a.raw.length).toBe(signer.algorithm === 'ed25519' ? 32 : 65);
    });

    it('signs a digest with a 64-byte signature', async () => {
      const sig = await signer.sign(sha256(new TextEncoder().encode('contract')));
      expect(sig).toBeInstanceOf(Uint8Array);
      expect(sig.length).toBe(64);
    });

    it('produces 2.0.0 records that verify, pinned to its own key', async () => {
      const record = await generateWithSigner(signer, { transactionHash: TX, payload: PAYLOAD }, { attestation: null });
      const pub = bytesToHex((await signer.publicKey()).raw);
      const result = await verifyAuditLog(JSON.stringify(record), { publicKeys: [pub] });
      expect(result.errors).toEqual([]);
      expect(result.valid).toBe(true);
      expect(result.trust).toBe('pinned');
    });

    it('produces records that fail when one byte of the payload changes', async () => {
      const record = await generateWithSigner(signer, { transactionHash: TX, payload: PAYLOAD }, { attestation: null });
      const tampered = JSON.parse(JSON.stringify(record));
      tampered.payload.logs[0] = 'log linf';
      const result = await verifyAuditLog(JSON.stringify(tampered));
      expect(result.valid).toBe(false);
      expect(result.errors.map((e) => e.code)).toContain('ERR_HASH_MISMATCH');
    });

    it('produces 1.1.0 records that verify (Ed25519 only)', async () => {
      if (signer.algorithm !== 'ed25519') {
        await expect(
          generateWithSigner(signer, { transactionHash: TX, payload: PAYLOAD }, { schema: '1.1.0', attestation: null }),
        ).rejects.toMatchObject({ code: 'ERR_ALGORITHM_UNSUPPORTED' });
        return;
      }
      const record = await generateWithSigner(
        signer,
        { transactionHash: TX, payload: PAYLOAD },
        { schema: '1.1.0', attestation: null },
      );
      const result = await verifyAuditLog(JSON.stringify(record));
      expect(result.format).toBe('1.1.0');
      expect(result.valid).toBe(true);
    });

    it('signs concurrently: 64 parallel signatures all verify, none mixed up', async () => {
      const digests = Array.from({ length: 64 }, (_, i) => sha256(new TextEncoder().encode(`digest ${i}`)));
      const sigs = await Promise.all(digests.map((d) => signer.sign(d)));
      const pub = await signer.publicKey();
      const backend = await selectBackend('auto');
      for (let i = 0; i < digests.length; i++) {
        const ok =
          signer.algorithm === 'ed25519'
            ? await backend.verify(pub.raw, digests[i]!, sigs[i]!)
            : p256.verify(sigs[i]!, digests[i]!, pub.raw, { prehash: false, lowS: true });
        expect(ok, `signature ${i}`).toBe(true);
      }
    });

    it('refuses a digest that is not 32 bytes, the same way in every signer', async () => {
      for (const bad of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33), new Uint8Array(64)]) {
        await expect(signer.sign(bad), `${bad.length} bytes`).rejects.toMatchObject({
          code: 'ERR_SIGNER_DIGEST_INVALID',
        });
      }
      const hex = bytesToHex(sha256(new TextEncoder().encode('x')));
      await expect(signer.sign(hex as unknown as Uint8Array)).rejects.toMatchObject({
        code: 'ERR_SIGNER_DIGEST_INVALID',
      });
    });

    it('signs whole messages (checkpoint notes): Ed25519 over the message, ECDSA over its SHA-256', async () => {
      expect(typeof signer.signMessage).toBe('function');
      const pub = await signer.publicKey();
      for (const text of ['x', 'example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n', 'x'.repeat(4096)]) {
        const message = new TextEncoder().encode(text);
        const sig = await signer.signMessage!(message);
        const ok =
          signer.algorithm === 'ed25519'
            ? ed25519.verify(sig, message, pub.raw)
            : p256.verify(sig, sha256(message), pub.raw, { prehash: false, lowS: true });
        expect(ok, `message of ${message.length} bytes`).toBe(true);
      }
      await expect(signer.signMessage!(new Uint8Array(0))).rejects.toMatchObject({
        code: 'ERR_SIGNER_MESSAGE_INVALID',
      });
      await expect(signer.signMessage!(new Uint8Array(MAX_SIGN_MESSAGE_BYTES + 1))).rejects.toMatchObject({
        code: 'ERR_SIGNER_MESSAGE_INVALID',
      });
      await expect(signer.signMessage!('text' as unknown as Uint8Array)).rejects.toMatchObject({
        code: 'ERR_SIGNER_MESSAGE_INVALID',
      });
    });

    it('close() is idempotent, and a closed signer refuses to sign', async () => {
      const s = await makeSigner();
      await s.sign(sha256(new TextEncoder().encode('before close')));
      await expect(s.close?.()).resolves.toBeUndefined();
      await expect(s.close?.()).resolves.toBeUndefined();
      if (s.close) {
        await expect(s.sign(sha256(new TextEncoder().encode('after close')))).rejects.toMatchObject({
          code: 'ERR_SIGNER_CLOSED',
        });
        await expect(s.signMessage?.(new TextEncoder().encode('after close'))).rejects.toMatchObject({
          code: 'ERR_SIGNER_CLOSED',
        });
      }
    });
  });
}
