import { realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importGraph as walk, usesNodeGlobals } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');

describe('the root entry is browser-safe', () => {
  it('nothing reachable from dist/index.js (dependencies included) imports a node: module or a Node builtin', () => {
    const { files, nodeImports } = walk(join(DIST, 'index.js'));
    expect(nodeImports).toEqual([]);
    // The walk really went somewhere: our parsers, and @erst/core with its crypto.
    expect(files.some((f) => f.endsWith('/archive/dist/tar.js'))).toBe(true);
    expect(files.some((f) => f.includes('/core/dist/'))).toBe(true);
    expect(files.some((f) => f.includes('@noble'))).toBe(true);
  });

  it('no module of the root entry uses Node globals (Buffer, process)', () => {
    const own = walk(join(DIST, 'index.js')).files.filter((f) => f.startsWith(realpathSync(DIST)));
    expect(own.length).toBeGreaterThan(5);
    expect(own.filter(usesNodeGlobals)).toEqual([]);
  });

  it('the checks do find Node: the Node entry imports node:fs and uses Buffer', () => {
    const { files, nodeImports } = walk(join(DIST, 'node.js'));
    expect(nodeImports.some((i) => i.endsWith('-> node:fs'))).toBe(true);
    expect(files.some(usesNodeGlobals)).toBe(true);
  });
});
