import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isErstError } from '@erst/core';
import { describe, expect, it } from 'vitest';
import { type Item, checkInputs, kindByName, readInputs } from '../node.js';
import { gzip, makeTar, scratchDir } from './helpers.js';

describe('@erst/archive/node', () => {
  it('kindByName: the kind a name announces, whatever its case', () => {
    expect(['a.TAR.GZ', 'a.tgz', 'a.tar', 'a.JSONL', 'a.ndjson', 'a.json', 'a.txt'].map(kindByName)).toEqual([
      'tar.gz',
      'tar.gz',
      'tar',
      'jsonl',
      'jsonl',
      'json',
      undefined,
    ]);
  });

  it('checkInputs refuses an existing file of no known kind with an API code naming no flag; missing paths wait', async () => {
    const d = scratchDir('erst-archive-check-');
    writeFileSync(join(d, 'notes.txt'), 'hello');
    await expect(checkInputs([d, join(d, 'missing.txt')])).resolves.toBeUndefined();
    const error = await checkInputs([d, join(d, 'notes.txt')]).catch((e: unknown) => e);
    expect(isErstError(error, 'ERR_ARCHIVE_UNKNOWN_KIND')).toBe(true);
    expect((error as Error).message).not.toMatch(/--|usage/i);
    expect((error as { details: unknown }).details).toEqual({ file: join(d, 'notes.txt') });
  });

  it('readInputs reports a file of no known kind, and a missing one, as unreadable items, and reads the rest', async () => {
    const d = scratchDir('erst-archive-read-');
    writeFileSync(join(d, 'notes.txt'), 'hello');
    writeFileSync(join(d, 'a.tgz'), gzip((await makeTar([{ name: 'r.json', data: '{}' }])).tar));
    const items: Item[] = [];
    const inputs = [join(d, 'notes.txt'), join(d, 'gone.jsonl'), join(d, 'a.tgz')];
    for await (const item of readInputs(inputs, { maxBytes: 100, accept: () => true })) items.push(item);
    expect(items.map((i) => [i.input, i.source, i.kind === 'failure' ? `${i.scope}:${i.code}` : 'record'])).toEqual([
      [0, join(d, 'notes.txt'), 'unreadable:ERR_ARCHIVE_UNKNOWN_KIND'],
      [1, join(d, 'gone.jsonl'), 'unreadable:ERR_FILE_NOT_FOUND'],
      [2, `${join(d, 'a.tgz')}:r.json`, 'record'],
    ]);
  });

  it('a .tar.gz that is not gzip is unreadable (node:zlib), naming the compressed format', async () => {
    const d = scratchDir('erst-archive-gz-');
    writeFileSync(join(d, 'fake.tar.gz'), 'this is not gzip');
    const items: Item[] = [];
    for await (const item of readInputs([join(d, 'fake.tar.gz')], { maxBytes: 100, accept: () => true }))
      items.push(item);
    expect(items).toMatchObject([{ code: 'ERR_ARCHIVE_CORRUPT', scope: 'unreadable' }]);
    expect(items[0]!.kind === 'failure' && items[0]!.message).toContain('gzip-compressed tar');
  });
});
