import { errorCode } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, parseStrictJson } from '../json.js';

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

/** What parseStrictJson throws for `text`: the error itself, to read its code and details. */
function thrown(text: string): { code?: string; message: string; details?: Record<string, unknown>; cause?: unknown } {
  try {
    parseStrictJson(text);
  } catch (e) {
    return e as { code?: string; message: string; details?: Record<string, unknown> };
  }
  throw new Error(`parsed: ${text.slice(0, 40)}`);
}

describe('parseStrictJson: __proto__ members', () => {
  it('keeps a "__proto__" member as an own member, and counts it for duplicates', () => {
    const v = parseStrictJson('{"a":1,"__proto__":{"logs":["FORGED"]}}') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['a', '__proto__']);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(code(() => parseStrictJson('{"__proto__":1,"__proto__":2}'))).toBe('ERR_JSON_DUPLICATE_KEY');
  });
});

describe('parseStrictJson: numbers a double cannot hold', () => {
  it.each([
    '1',
    '1.0',
    '-0',
    '0',
    '-0.0e5',
    '1e2',
    '1E2',
    '100',
    '0.1',
    '4.50',
    '2e-3',
    '1e21',
    '1e+21',
    '5e-324',
    '0.30000000000000004',
    '9007199254740992',
    '123456789012345',
    '-999999999999999',
  ])('accepts %s: its JCS form is the same number', (n) => {
    expect(parseStrictJson(`{"n":${n}}`)).toEqual({ n: Number(n) });
  });

  it.each([
    '9007199254740993',
    '1.0000000000000001',
    '12345678901234567890',
    '333333333.33333329',
    '1e400',
    '-1e400',
    '1e-400',
    '0.1000000000000000055511151231257827',
  ])('refuses %s: it would be signed and read as another number', (n) => {
    expect(thrown(`{"n":${n}}`).code).toBe('ERR_JSON_NUMBER_PRECISION');
  });

  it('names the JSON path and position of the number', () => {
    const e = thrown('{"payload":{"amounts":[1,\n 9007199254740993],"a b":[1.0000000000000001]}}'.replace('\\n', '\n'));
    expect(e.code).toBe('ERR_JSON_NUMBER_PRECISION');
    expect(e.details).toEqual({ path: '$.payload.amounts[1]', line: 2, column: 2 });
    expect(thrown('[{"a b":{"c":[0,{}, 1e400]}}]').details).toMatchObject({ path: '$[0]["a b"].c[2]' });
  });

  it('reads digits inside strings and keys as text, not numbers', () => {
    expect(() => parseStrictJson('{"9007199254740993":"1.0000000000000001","x":"-1e400"}')).not.toThrow();
  });

  it('reports a syntax error before a number it cannot hold', () => {
    expect(thrown('[9007199254740993').code).toBe('ERR_JSON_SYNTAX');
  });
});

describe('parseStrictJson: nesting depth', () => {
  const nest = (depth: number, open = '[', close = ']', inner = '') => open.repeat(depth) + inner + close.repeat(depth);

  it(`accepts ${MAX_JSON_DEPTH} levels and refuses one more, arrays and objects alike`, () => {
    expect(() => parseStrictJson(nest(MAX_JSON_DEPTH))).not.toThrow();
    expect(code(() => parseStrictJson(nest(MAX_JSON_DEPTH + 1)))).toBe('ERR_JSON_TOO_DEEP');
    expect(() => parseStrictJson(nest(MAX_JSON_DEPTH, '{"a":', '}', '1'))).not.toThrow();
    expect(code(() => parseStrictJson(nest(MAX_JSON_DEPTH + 1, '{"a":', '}', '1')))).toBe('ERR_JSON_TOO_DEEP');
  });

  it('refuses 100,000 levels (and unclosed ones) before parsing them', () => {
    expect(code(() => parseStrictJson(nest(100_000)))).toBe('ERR_JSON_TOO_DEEP');
    expect(code(() => parseStrictJson(nest(100_000, '{"a":[', ']}', '1')))).toBe('ERR_JSON_TOO_DEEP');
    expect(code(() => parseStrictJson('['.repeat(1_000_000)))).toBe('ERR_JSON_TOO_DEEP');
  });

  it('does not count brackets inside strings', () => {
    expect(() => parseStrictJson(`["${'['.repeat(10_000)}\\\\",{"a":"{{{"}]`)).not.toThrow();
  });
});

describe('parseStrictJson: syntax errors', () => {
  it('gives the line and column, and never the input text', () => {
    // V8 on Node 20 quotes a snippet of the input for this one, with no position.
    const e = thrown('{\n  "secret": "hunter2",\n  "x": nul\n}'.replaceAll('\\n', '\n'));
    expect(e.code).toBe('ERR_JSON_SYNTAX');
    expect(e.details).toEqual({ line: 3, column: 8 });
    expect(JSON.stringify({ m: e.message, d: e.details })).not.toContain('hunter2');
    expect(e.cause).toBeUndefined();
  });

  it.each([
    '{"a": tru}',
    '{"secret": "hunter2" x}',
    '{"a":1,}',
    '[1,2',
    '{"a":"\u0001"}',
    '{"a" 1}',
    '01',
    '{"a":1}x',
    '"abc',
    '[1e]',
    '[-]',
    '[1.]',
    '{"a":"\\x"}',
    '{"a":"\\u12G4"}',
    '[1 2]',
    '{"a":1 "b":2}',
    '{1:2}',
    '[,1]',
    '\t\n [] ]',
  ])('locates the error in %s where V8 does', (raw) => {
    const text = raw.replaceAll('\\n', '\n').replaceAll('\\t', '\t').replace('\\u0001', '\u0001');
    let position: number | undefined;
    try {
      JSON.parse(text);
    } catch (e) {
      const m = /at position (\d+)/.exec((e as Error).message);
      position = m ? Number(m[1]) : undefined;
    }
    const e = thrown(text);
    expect(e.code).toBe('ERR_JSON_SYNTAX');
    expect(e.message).not.toContain('hunter2');
    if (position !== undefined && !text.includes('\n')) expect(e.details).toEqual({ line: 1, column: position + 1 });
  });

  it('counts columns in characters, not UTF-16 units', () => {
    expect(thrown('["😀😀", x]').details).toEqual({ line: 1, column: 8 });
  });
});

describe('hexToBytes', async () => {
  const { hexToBytes } = await import('../bytes.js');
  it('decodes both cases and refuses anything else', () => {
    expect(Array.from(hexToBytes('00ff7FaB')!)).toEqual([0, 255, 127, 171]);
    expect(hexToBytes('')!.length).toBe(0);
    for (const bad of ['0', 'zz', '0g', ' 00', '00 ', '\u00ff0', '0\u0100'])
      expect(hexToBytes(bad), bad).toBeUndefined();
  });
});
