import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bytesToHex } from '../bytes.js';

type Sha256Module = typeof import('../sha256.js');

/** The module as a browser loads it: no node:crypto, so @noble/hashes over a reused scratch buffer. */
let browser: Sha256Module;
const original = process.getBuiltinModule;

beforeAll(async () => {
  (process as { getBuiltinModule?: unknown }).getBuiltinModule = undefined;
  vi.resetModules();
  browser = await import('../sha256.js');
});
afterAll(() => {
  process.getBuiltinModule = original;
});

const native = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('sha256Utf8 without node:crypto (browsers)', () => {
  it('hashes the UTF-8 bytes exactly as Node does, across sizes that grow and shrink the scratch buffer', () => {
    const texts = [
      '',
      'abc',
      'é漢字 and 🙂',
      // A lone surrogate is U+FFFD in UTF-8, in both.
      'a\ud800b',
      'x'.repeat(70_000),
      '漢'.repeat(40_000),
      'short again',
      '{"k":"🙂"}'.repeat(5_000),
    ];
    for (const t of texts) expect(bytesToHex(browser.sha256Utf8(t)), `${t.length} chars`).toBe(native(t));
  });

  it('sha256Utf8Async (WebCrypto there) gives the same digests, however many run at once', async () => {
    const texts = ['', 'é漢字 and 🙂', 'a\ud800b', 'x'.repeat(70_000), 'short again', '{"k":"🙂"}'.repeat(5_000)];
    // All at once: each call reuses the scratch buffer, which WebCrypto must have copied by then.
    const digests = await Promise.all(texts.map((t) => browser.sha256Utf8Async(t)));
    expect(digests.map(bytesToHex)).toEqual(texts.map(native));
  });

  it('really runs the browser path (the harness loaded the module without node:crypto)', () => {
    expect(browser.sha256Utf8.toString()).not.toContain('nodeCrypto');
    expect(browser.sha256.toString()).not.toContain('nodeCrypto');
    expect(browser.sha256Utf8Async.toString()).toContain('digest');
  });
});
