import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The built bundle (tooling/scripts/bundle-app.mjs): what `erst audit verify one.json` loads before it verifies.
const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

/** A chunk and every chunk it imports statically, transitively (dynamic imports load only when their command runs). */
function staticClosure(entry: string, seen = new Set<string>()): Set<string> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  const text = readFileSync(join(DIST, entry), 'utf8');
  for (const m of text.matchAll(/^import\s+(?:[^'"]*?\s+from\s+)?["']\.\/([^"']+\.js)["'];?$/gms))
    staticClosure(m[1]!, seen);
  return seen;
}

describe('the erst bundle', () => {
  it("`audit verify` starts without code it cannot use: no other curve's OPRF or FROST machinery", () => {
    const verifyChunk = readdirSync(DIST).find((f) => /^audit-verify-[A-Z0-9]+\.js$/.test(f));
    expect(verifyChunk).toBeDefined();
    const loaded = new Set([...staticClosure('bin.js'), ...staticClosure(verifyChunk!)]);
    // The chunks really are what the command reads: bin.js's own code and the command's module are among them.
    expect(loaded.size).toBeGreaterThan(3);
    // signer-pkcs11 once loaded P-256 as `(await import('@noble/curves/nist.js')).p256`: a namespace the bundler
    // must keep whole, so every verifying command loaded P-384, P-521 and their OPRF and FROST code (~64 KB).
    for (const file of loaded) {
      const text = readFileSync(join(DIST, file), 'utf8');
      expect({ file, frost: text.includes('createFROST'), oprf: text.includes('createOPRF') }).toEqual({
        file,
        frost: false,
        oprf: false,
      });
    }
  });
});
