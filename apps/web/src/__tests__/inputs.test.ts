import type { Item } from '@erst/archive';
import { describe, expect, it } from 'vitest';
import { type PageInput, findRecord, groupInputs, readInput, unknownKinds } from '../inputs.js';

const file = (name: string, text = '{}') => new File([text], name.split('/').pop()!);

async function items(input: PageInput, maxBytes = 1024): Promise<Item[]> {
  const out: Item[] = [];
  for await (const i of readInput(input, 0, maxBytes, { read: 0 })) out.push(i);
  return out;
}

describe('inputs as erst-batch reads them', () => {
  it('a folder is one input of its *.json files, sorted by path; other files are inputs of their own', () => {
    const inputs = groupInputs([
      { file: file('logs/b/2.json'), path: 'logs/b/2.json' },
      { file: file('x.jsonl'), path: 'x.jsonl' },
      { file: file('logs/a.json'), path: 'logs/a.json' },
      { file: file('logs/notes.txt'), path: 'logs/notes.txt' },
      { file: file('logs/UPPER.JSON'), path: 'logs/UPPER.JSON' },
    ]);
    expect(inputs.map((i) => [i.kind, i.name])).toEqual([
      ['folder', 'logs'],
      ['file', 'x.jsonl'],
    ]);
    expect(inputs[0]!.kind === 'folder' && inputs[0]!.files.map((f) => f.path)).toEqual([
      'logs/a.json',
      'logs/b/2.json',
    ]);
  });

  it("a file of no known kind is refused before reading, with erst-batch's code", () => {
    const errors = unknownKinds(groupInputs([{ file: file('notes.txt'), path: 'notes.txt' }]));
    expect(errors.map((e) => e.code)).toEqual(['ERR_ARCHIVE_UNKNOWN_KIND']);
  });

  it('a .json over the limit is refused unread (ERR_INPUT_TOO_LARGE), a .jsonl gives a record a line', async () => {
    const big = await items({ kind: 'file', name: 'big.json', file: file('big.json', 'x'.repeat(2000)) });
    expect(big).toMatchObject([{ kind: 'failure', code: 'ERR_INPUT_TOO_LARGE', scope: 'record', source: 'big.json' }]);
    const lines = await items({ kind: 'file', name: 'a.jsonl', file: file('a.jsonl', '{}\n\n{"a":1}\n') });
    expect(lines.map((i) => i.source)).toEqual(['a.jsonl:1', 'a.jsonl:3']);
  });

  it('findRecord reads one record again by its source (a .jsonl line, a folder file); undefined when it is gone', async () => {
    const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : b);
    const lines: PageInput = { kind: 'file', name: 'a.jsonl', file: file('a.jsonl', '{"n":1}\n\n{"n":3}\n') };
    expect(text(await findRecord(lines, 0, 'a.jsonl:3', 1024))).toBe('{"n":3}');
    expect(await findRecord(lines, 0, 'a.jsonl:2', 1024)).toBeUndefined();
    const [folder] = groupInputs([
      { file: file('logs/a.json', '{"a":1}'), path: 'logs/a.json' },
      { file: file('logs/b.json', '{"b":2}'), path: 'logs/b.json' },
    ]);
    expect(text(await findRecord(folder!, 0, 'logs/b.json', 1024))).toBe('{"b":2}');
  });
});
