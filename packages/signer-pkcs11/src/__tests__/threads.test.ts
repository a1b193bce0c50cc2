import { describe, expect, it } from 'vitest';
import { SigningThreads, threadBatchSize } from '../threads.js';

describe('threadBatchSize', () => {
  it('splits what is in flight into at least four batches of at most eight', () => {
    expect(threadBatchSize(1, undefined)).toBe(1);
    expect(threadBatchSize(16, undefined)).toBe(4);
    expect(threadBatchSize(32, undefined)).toBe(8);
    expect(threadBatchSize(1000, undefined)).toBe(8);
  });

  it('gives a token that takes milliseconds a signature batches of one, so that every session works at once', () => {
    expect(threadBatchSize(32, 0.15)).toBe(8); // SoftHSM: a signature in 150 us
    expect(threadBatchSize(32, 0.5)).toBe(4);
    expect(threadBatchSize(32, 3)).toBe(1); // a network HSM
    expect(threadBatchSize(32, 80)).toBe(1); // a YubiKey
  });

  it('never gives zero', () => {
    expect(threadBatchSize(0, undefined)).toBe(1);
    expect(threadBatchSize(5, 0)).toBe(2);
  });
});

describe('SigningThreads', () => {
  it('fails what is in flight, and what comes after, with ERR_PKCS11 when a thread cannot load the module', async () => {
    const threads = new SigningThreads('/nonexistent/libpkcs11.so', 2);
    try {
      const first = threads.sign(Buffer.alloc(8), 0x1057, Buffer.alloc(8), [new Uint8Array(32)]);
      await expect(first).rejects.toMatchObject({
        code: 'ERR_PKCS11',
        message: expect.stringContaining('signing thread failed'),
      });
      await expect(threads.sign(Buffer.alloc(8), 0x1057, Buffer.alloc(8), [new Uint8Array(32)])).rejects.toMatchObject({
        code: 'ERR_PKCS11',
      });
    } finally {
      await threads.close();
    }
  });
});
