import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../jcs.js';
import { MAX_JSON_DEPTH } from '../json.js';

// The RFC 8785 reference implementation (CommonJS).
const reference = createRequire(import.meta.url)('canonicalize') as (v: unknown) => string;

describe('canonicalize (RFC 8785)', () => {
  it('matches the RFC 8785 section 3.2.2 example byte for byte', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    );
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units (RFC 8785 section 3.2.3)', () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    );
    // Object.keys would hoist "1" (an array index); read the order off the text.
    const keys = [...canonicalize(input).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => JSON.parse(`"${m[1]}"`));
    expect(keys).toEqual(['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('serializes the IEEE 754 value %s as %s (RFC 8785 appendix B)', (bits, expected) => {
    const n = new DataView(Uint8Array.from(Buffer.from(bits, 'hex')).buffer).getFloat64(0);
    expect(canonicalize(n)).toBe(expected);
  });

  it('agrees with the reference implementation on mixed structures', () => {
    const samples = [
      { b: [1, 2.5, -0, 1e21, 'x'], a: { z: null, y: true, '': 'empty' }, '\u00e9': 'é' },
      { nested: [[[{ k: '\u2028\u2029<>&\u007f\u0000\u001f' }]]] },
      [{ b: 1, a: 2 }, 'text', 0.1, -1e-7],
    ];
    for (const s of samples) expect(canonicalize(s)).toBe(reference(s));
  });

  it('refuses values JSON cannot carry', () => {
    expect(() => canonicalize(Number.NaN)).toThrowError(expect.objectContaining({ code: 'ERR_JSON_NOT_I_JSON' }));
    expect(() => canonicalize(Number.POSITIVE_INFINITY)).toThrowError(
      expect.objectContaining({ code: 'ERR_JSON_NOT_I_JSON' }),
    );
    expect(() => canonicalize(10n)).toThrowError(expect.objectContaining({ code: 'ERR_JSON_NOT_I_JSON' }));
  });

  it('keeps "__proto__" members, sorted like any other key', () => {
    // JSON.parse makes "__proto__" an own member; python -c 'json.dumps(sort_keys=True)' and jq -cS keep it too.
    const input = JSON.parse('{"b":1,"__proto__":{"z":[2],"y":{"__proto__":0,"a":1}},"a":2}');
    expect(canonicalize(input)).toBe('{"__proto__":{"y":{"__proto__":0,"a":1},"z":[2]},"a":2,"b":1}');
    expect(canonicalize(input)).toBe(reference(input));
    expect(Object.getPrototypeOf(input)).toBe(Object.prototype);
  });

  it('keeps "__proto__" members on the path for integer-like keys too', () => {
    const input = JSON.parse('{"1":0,"__proto__":{"b":1,"a":2}}');
    expect(canonicalize(input)).toBe('{"1":0,"__proto__":{"a":2,"b":1}}');
  });

  it(`refuses values nested more than ${MAX_JSON_DEPTH} levels instead of overflowing the stack`, () => {
    const nest = (depth: number, leaf: unknown = 1) => {
      let v: unknown = leaf;
      for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
      return v;
    };
    expect(() => canonicalize(nest(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => canonicalize(nest(MAX_JSON_DEPTH + 1))).toThrowError(
      expect.objectContaining({ code: 'ERR_JSON_TOO_DEEP' }),
    );
    expect(() => canonicalize(nest(100_000))).toThrowError(expect.objectContaining({ code: 'ERR_JSON_TOO_DEEP' }));
    // An integer-like key sends the value down the piecewise path, which must stop as well.
    expect(() => canonicalize({ 1: nest(100_000) })).toThrowError(
      expect.objectContaining({ code: 'ERR_JSON_TOO_DEEP' }),
    );
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    expect(() => canonicalize(cycle)).toThrowError(expect.objectContaining({ code: 'ERR_JSON_TOO_DEEP' }));
  });

  it('checks objects the piecewise path reaches after an integer-like key', () => {
    expect(() => canonicalize({ 1: 0, z: new Date(0) })).toThrowError(
      expect.objectContaining({ code: 'ERR_JSON_NOT_I_JSON' }),
    );
    const sparse: unknown[] = [1];
    sparse[2] = 2;
    expect(() => canonicalize({ 1: 0, z: sparse })).toThrowError(
      expect.objectContaining({ code: 'ERR_JSON_NOT_I_JSON' }),
    );
  });
});
