import { realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importGraph as walk, usesNodeGlobals } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');

describe('both entry points are browser-safe', () => {
  it.each(['index.js', 'client.js'])(
    'nothing reachable from dist/%s (dependencies included) imports a Node module',
    (entry) => {
      const { files, nodeImports } = walk(join(DIST, entry));
      expect(nodeImports).toEqual([]);
      // The walk really went somewhere: our verifier, @peculiar's ASN.1 and X.509, and @erst/core.
      expect(files.some((f) => f.endsWith('/timestamp/dist/verify.js'))).toBe(true);
      expect(files.some((f) => f.includes('@peculiar/asn1-tsp'))).toBe(true);
      expect(files.some((f) => f.includes('@peculiar/x509'))).toBe(true);
      expect(files.some((f) => f.includes('/core/dist/'))).toBe(true);
    },
  );

  it('no module of ours uses Node globals (Buffer, process)', () => {
    const own = [...walk(join(DIST, 'index.js')).files, ...walk(join(DIST, 'client.js')).files].filter((f) =>
      f.startsWith(realpathSync(DIST)),
    );
    expect(own.length).toBeGreaterThan(8);
    expect(own.filter(usesNodeGlobals)).toEqual([]);
  });

  it('the verifier entry holds no network code: fetch is the client entry alone', () => {
    const own = walk(join(DIST, 'index.js')).files.filter((f) => f.startsWith(realpathSync(DIST)));
    expect(own.some((f) => f.endsWith('/client.js'))).toBe(false);
    expect(walk(join(DIST, 'client.js')).files.some((f) => f.endsWith('/timestamp/dist/client.js'))).toBe(true);
  });
});
