import { errorCode } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { parseStrictJson } from '../json.js';

const code = errorCode;

describe('parseStrictJson (I-JSON)', () => {
  it('parses valid JSON from text and from UTF-8 bytes', () => {
    expect(parseStrictJson('{"a":[1,{"b":"c"}]}')).toEqual({ a: [1, { b: 'c' }] });
    expect(parseStrictJson(new TextEncoder().encode('{"é":"😀"}'))).toEqual({ é: '😀' });
  });

  it.each([
    ['top level', '{"a":1,"a":2}'],
    ['nested', '{"x":{"a":1,"b":{"c":1},"a":2}}'],
    ['in an array element', '[{"k":1},{"k":1,"k":2}]'],
    ['spelled with an escape', '{"a":1,"\\u0061":2}'],
    ['after a string containing braces and escaped quotes', '{"s":"{\\"a\\":1,\\"a\\":2}","t":1,"t":2}'],
    ['with whitespace', '{ "a" : 1 ,\n "a" : 2 }'],
  ])('rejects duplicate keys %s', (_name, text) => {
    expect(code(() => parseStrictJson(text))).toBe('ERR_JSON_DUPLICATE_KEY');
  });

  it('accepts the same key in sibling objects and keys that look alike inside strings', () => {
    expect(() => parseStrictJson('[{"a":1},{"a":2}]')).not.toThrow();
    expect(() => parseStrictJson('{"a":"\\"a\\":","b":{"a":1}}')).not.toThrow();
    expect(() => parseStrictJson('{"a\\\\":1,"a":2}')).not.toThrow();
  });

  it.each([
    ['an escaped high surrogate', '{"s":"\\ud800"}'],
    ['an escaped low surrogate', '{"s":"x\\udfffy"}'],
    ['a lone surrogate in a key', '{"\\ud83d":1}'],
  ])('rejects %s', (_n, text) => {
    expect(code(() => parseStrictJson(text))).toBe('ERR_JSON_LONE_SURROGATE');
  });

  it('accepts escaped surrogate pairs', () => {
    expect(parseStrictJson('{"s":"\\ud83d\\ude00"}')).toEqual({ s: '😀' });
  });

  it('rejects a raw lone surrogate in a JS string', () => {
    expect(code(() => parseStrictJson('{"s":"\ud800"}'))).toBe('ERR_JSON_LONE_SURROGATE');
  });

  it('gives each malformed input its own code', () => {
    expect(code(() => parseStrictJson(''))).toBe('ERR_INPUT_EMPTY');
    expect(code(() => parseStrictJson('  \n'))).toBe('ERR_INPUT_EMPTY');
    expect(code(() => parseStrictJson('{"a":'))).toBe('ERR_JSON_SYNTAX');
    expect(code(() => parseStrictJson('not json'))).toBe('ERR_JSON_SYNTAX');
    expect(code(() => parseStrictJson(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x7d])))).toBe('ERR_INPUT_NOT_UTF8');
    expect(code(() => parseStrictJson(Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])))).toBe('ERR_JSON_NOT_I_JSON');
    expect(code(() => parseStrictJson('{"a":"xxxxxxxx"}', { maxBytes: 8 }))).toBe('ERR_INPUT_TOO_LARGE');
  });
});

describe('hexToBytes', async () => {
  const { hexToBytes } = await import('../bytes.js');
  it('decodes both cases and refuses anything else', () => {
    expect(Array.from(hexToBytes('00ff7FaB')!)).toEqual([0, 255, 127, 171]);
    expect(hexToBytes('')!.length).toBe(0);
    for (const bad of ['0', 'zz', '0g', ' 00', '00 ', '\u00ff0', '0\u0100']) expect(hexToBytes(bad), bad).toBeUndefined();
  });
});
