import { readVectorLines } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { parseRecord } from '../parse.js';

describe('SignedRecord.hashInput (made lazily)', () => {
  it('is the UTF-8 of hashInputText, made once, and enumerable', () => {
    const rec = parseRecord(JSON.parse(readVectorLines('erst-go-1.1.0.jsonl')[0]!));
    const bytes = rec.hashInput;
    expect(new TextDecoder().decode(bytes)).toBe(rec.hashInputText);
    expect(rec.hashInput).toBe(bytes);
    expect(Object.keys(rec)).toContain('hashInput');
  });

  it('uses one getter for every record, so records share hidden classes (no per-record closure kept alive)', () => {
    const [a, b] = readVectorLines('erst-go-1.1.0.jsonl').map((l) => parseRecord(JSON.parse(l)));
    const ga = Object.getOwnPropertyDescriptor(a!, 'hashInput')!.get;
    const gb = Object.getOwnPropertyDescriptor(b!, 'hashInput')!.get;
    expect(typeof ga).toBe('function');
    expect(ga).toBe(gb);
  });
});
