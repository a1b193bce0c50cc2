import { describe, expect, it } from 'vitest';
import { goString, goStringSlice } from '../gojson.js';

describe('Go encoding/json string escaping (Go 1.22+, escapeHTML)', () => {
  it.each([
    ['plain', '"plain"'],
    ['<a href="x">&</a>', '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"'],
    ['line\u2028sep\u2029para', '"line\\u2028sep\\u2029para"'],
    ['\n\r\t\b\f', '"\\n\\r\\t\\b\\f"'],
    ['\u0000\u0001\u001f', '"\\u0000\\u0001\\u001f"'],
    ['back\\slash', '"back\\\\slash"'],
    ['del\u007f', '"del\u007f"'],
    ['é 😀 דּ', '"é 😀 דּ"'],
    ['/', '"/"'],
  ])('%j', (input, expected) => {
    expect(goString(input)).toBe(expected);
  });

  it('keeps a nil slice as null, distinct from an empty slice', () => {
    expect(goStringSlice(null)).toBe('null');
    expect(goStringSlice([])).toBe('[]');
    expect(goStringSlice(['a', '<'])).toBe('["a","\\u003c"]');
  });
});
