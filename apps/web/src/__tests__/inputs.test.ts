import type { Item } from '@erst/archive';
import { describe, expect, it } from 'vitest';
import { type PageInput, groupInputs, readInput, unknownKinds } from '../inputs.js';

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
});
