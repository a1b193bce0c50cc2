import { describe, expect, it } from 'vitest';
import { FAIL, sortedOrder } from '../jcs-scan.js';

/** The order Array.prototype.sort gives (UTF-16 code units), or FAIL for a repeated key. */
function reference(keys: string[]): number[] | typeof FAIL {
  if (new Set(keys).size !== keys.length) return FAIL;
  return keys.map((_, k) => k).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
}

function attempt(keys: string[]): number[] | typeof FAIL {
  try {
    return sortedOrder(keys);
  } catch (e) {
    if (e === FAIL) return FAIL;
    throw e;
  }
}

describe('sortedOrder: member indexes in key order', () => {
  it('agrees with Array.prototype.sort on small and large objects, repeats refused', () => {
    // Keys that order differently by code unit and by code point, and an astral character.
    const alphabet = ['a', 'b', 'B', '_', '1', '10', '\u00e9', '\uff21', '\ud83d\ude00', '', 'ab', 'a\u0000'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let round = 0; round < 3000; round++) {
      const n = round % 40; // both sides of the insertion sort's bound
      const keys = Array.from(
        { length: n },
        () => alphabet[next() % alphabet.length]! + (next() % 3 ? String(next() % 50) : ''),
      );
      expect(attempt(keys)).toEqual(reference(keys));
    }
    expect(attempt(['b', 'a', 'b'])).toBe(FAIL);
  });

  it('does bounded work on a hostile object: 200,000 members in reverse order', () => {
    const keys = Array.from({ length: 200_000 }, (_, k) => `k${String(200_000 - k).padStart(7, '0')}`);
    const t0 = performance.now();
    const order = attempt(keys) as number[];
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(order[0]).toBe(keys.length - 1);
    expect(order.at(-1)).toBe(0);
  });
});
