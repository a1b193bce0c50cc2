import { describe, expect, it } from 'vitest';
import { escapeForDisplay } from '../display.js';

const visible = (code: number) => `\\u${code.toString(16).padStart(4, '0')}`;

describe('escapeForDisplay', () => {
  it('shows every C0 control, DEL and C1 control as a visible escape', () => {
    const codes = [...Array(0x20).keys(), 0x7f, ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i)];
    for (const c of codes) expect(escapeForDisplay(`a${String.fromCharCode(c)}b`)).toBe(`a${visible(c)}b`);
  });

  it('shows bidi controls and line separators as visible escapes', () => {
    const codes = [
      0x061c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
    ];
    for (const c of codes) expect(escapeForDisplay(`a${String.fromCharCode(c)}b`)).toBe(`a${visible(c)}b`);
  });

  it('shows lone surrogates, and keeps surrogate pairs', () => {
    expect(escapeForDisplay('a\ud800b')).toBe('a\\ud800b');
    expect(escapeForDisplay('a\udfffb')).toBe('a\\udfffb');
    expect(escapeForDisplay('\ud800')).toBe('\\ud800');
    expect(escapeForDisplay('\udc00\ud800')).toBe('\\udc00\\ud800');
    expect(escapeForDisplay('key \u{1f511} ok')).toBe('key \u{1f511} ok');
  });

  it('turns a fake verdict into one inert line', () => {
    const out = escapeForDisplay('x\n\u001b[2K\u001b[1A VALID (trust pinned)\r');
    expect(out).toBe('x\\u000a\\u001b[2K\\u001b[1A VALID (trust pinned)\\u000d');
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('leaves printable text, non-ASCII letters and backslashes alone', () => {
    const s = 'Zürich “quoted” 日本 \\n path/to\\file é';
    expect(escapeForDisplay(s)).toBe(s);
  });
});
