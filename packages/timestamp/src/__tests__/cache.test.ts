import { sha256, utf8Bytes } from '@erst/core';
import { type TestTsa, startTestTsa } from '@erst/test-tsa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestTimestamp } from '../client.js';
import { clearTimestampCache, verifyTimestampToken } from '../index.js';

/** globalThis.crypto, counting the signatures checked through it. */
function countingCrypto(): { crypto: Crypto; verifies: () => number } {
  let n = 0;
  const real = globalThis.crypto.subtle;
  const subtle = new Proxy(real, {
    get(target, key) {
      if (key === 'verify') {
        return (...args: Parameters<SubtleCrypto['verify']>) => {
          n++;
          return target.verify(...args);
        };
      }
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const crypto = { subtle, getRandomValues: globalThis.crypto.getRandomValues.bind(globalThis.crypto) } as Crypto;
  return { crypto, verifies: () => n };
}

const imprints = Array.from({ length: 5 }, (_, i) => sha256(utf8Bytes(`record ${i}`)));
let tsas: TestTsa[];
let tokens: Uint8Array[][];

beforeAll(async () => {
  tsas = await Promise.all([startTestTsa(), startTestTsa()]);
  tokens = await Promise.all(
    tsas.map((t) => Promise.all(imprints.map(async (imprint) => (await requestTimestamp(t.url, imprint)).token))),
  );
});
afterAll(() => Promise.all(tsas.map((t) => t.close())));

describe('one chain check per distinct TSA chain and root set', () => {
  it('the first token from a TSA costs its chain; each further one costs its own CMS signature only', async () => {
    clearTimestampCache();
    const { crypto, verifies } = countingCrypto();
    const tsaRoots = tsas.map((t) => t.rootPem);
    const cost: number[] = [];
    for (const [t, list] of tokens.entries()) {
      for (const [i, token] of list.entries()) {
        const before = verifies();
        await verifyTimestampToken(token, { imprint: imprints[i]!, tsaRoots, crypto });
        cost.push(verifies() - before);
      }
      expect(cost.slice(t * 5 + 1, t * 5 + 5)).toEqual([1, 1, 1, 1]);
    }
    // Each TSA's first token: its chain's signatures (TSA, intermediate, root) as well as its own.
    expect(cost[0]).toBeGreaterThan(1);
    expect(cost[5]).toBeGreaterThan(1);

    // Another root set is another question: the chain is checked again, once.
    const again: number[] = [];
    for (const [i, token] of tokens[0]!.entries()) {
      const before = verifies();
      await verifyTimestampToken(token, { imprint: imprints[i]!, tsaRoots: [tsas[0]!.rootPem], crypto });
      again.push(verifies() - before);
    }
    expect(again[0]).toBeGreaterThan(1);
    expect(again.slice(1)).toEqual([1, 1, 1, 1]);
  });

  it('clearTimestampCache forgets the chains', async () => {
    const { crypto, verifies } = countingCrypto();
    const tsaRoots = [tsas[0]!.rootPem];
    await verifyTimestampToken(tokens[0]![0]!, { imprint: imprints[0]!, tsaRoots, crypto });
    const before = verifies();
    await verifyTimestampToken(tokens[0]![1]!, { imprint: imprints[1]!, tsaRoots, crypto });
    expect(verifies() - before).toBe(1);
    clearTimestampCache();
    const after = verifies();
    await verifyTimestampToken(tokens[0]![1]!, { imprint: imprints[1]!, tsaRoots, crypto });
    expect(verifies() - after).toBeGreaterThan(1);
  });
});
