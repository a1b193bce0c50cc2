import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readVectorLines, renderInChromium, tempDir } from '@erst/fixtures';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { PAYLOAD, signV2 } from './helpers.js';

/**
 * @erst/verify promises to run in current browsers. Bundle it for the
 * browser (no Node built-ins available), open it in headless Chromium, and
 * verify erst's own records there: WebCrypto Ed25519 in the browser, and
 * @noble/hashes for SHA-256 since `process` does not exist.
 */
describe('@erst/verify in a browser', () => {
  it('verifies every shared vector and catches a tampered one in headless Chromium', { timeout: 120_000 }, async () => {
    const dir = tempDir('erst-browser-');
    const lines = ['erst-go-1.1.0.jsonl', 'erst-go-1.0.0.jsonl', 'erst-ts-legacy.jsonl'].flatMap((f) =>
      readVectorLines(f),
    );
    const tampered = JSON.parse(lines[0]!);
    tampered.payload.logs[0] += '!';
    // 2.0.0 records, verified from their bytes too: the browsers' parseRecordBytesAsync (a string scan of the text,
    // WebCrypto's digest), with non-ASCII text, re-spelled, and tampered (in a string, and in its bytes).
    const v2 = await signV2(undefined, { ...PAYLOAD, logs: ['unicode: üñïçödé ✓ 日本 😀', 'x "q" \\ \n'] });
    const v2lines = [JSON.stringify(v2), JSON.stringify(v2, null, 2), JSON.stringify({ ...v2, version: '2.0.0' })];
    const v2tampered = JSON.stringify(v2).replace('日本', '日木');
    const entry = join(dir, 'entry.js');
    writeFileSync(
      entry,
      `import { Verifier } from '@erst/verify';
       const lines = ${JSON.stringify(lines)};
       const tampered = ${JSON.stringify(JSON.stringify(tampered))};
       const v = new Verifier({ publicKeys: ['48409627ab71f72af0d7393748918cf1f7b81eeedcaaf9d709a01443e8a22816'] });
       const results = await v.verifyMany(lines);
       const bad = await v.verify(tampered);
       const enc = new TextEncoder();
       const v2lines = ${JSON.stringify(v2lines)};
       const asBytes = await v.verifyMany([...lines, ...v2lines].map((l) => enc.encode(l)));
       const asText = await v.verifyMany(v2lines);
       const badBytes = await v.verify(enc.encode(${JSON.stringify(v2tampered)}));
       const out = { backend: await v.backendName(), hasProcess: typeof process !== 'undefined',
         valid: results.filter((r) => r.valid && r.trust === 'pinned').length, total: results.length,
         tampered: bad.errors.map((e) => e.code),
         bytesValid: asBytes.filter((r) => r.valid && r.trust === 'pinned').length,
         textValid: asText.filter((r) => r.valid && r.trust === 'pinned').length,
         tamperedBytes: badBytes.errors.map((e) => e.code) };
       document.getElementById('out').textContent = JSON.stringify(out);`,
    );
    await build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(dir, 'bundle.js'),
      alias: { '@erst/verify': join(process.cwd(), 'dist', 'index.js') },
      logLevel: 'error',
    });
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><html><body><pre id="out">pending</pre><script type="module" src="bundle.js"></script></body></html>',
    );
    const dom = await renderInChromium(`file://${join(dir, 'index.html')}`, {
      virtualTimeMs: 20_000,
      extraArgs: ['--allow-file-access-from-files'],
    });
    const m = /<pre id="out">([^<]*)<\/pre>/.exec(dom);
    expect(m, dom.slice(-2000)).not.toBeNull();
    const out = JSON.parse(m![1]!.replace(/&quot;/g, '"'));
    expect(out).toEqual({
      backend: 'webcrypto',
      hasProcess: false,
      valid: lines.length,
      total: lines.length,
      tampered: ['ERR_HASH_MISMATCH', 'ERR_SIGNATURE_INVALID'],
      bytesValid: lines.length + 3,
      textValid: 3,
      tamperedBytes: ['ERR_HASH_MISMATCH', 'ERR_SIGNATURE_INVALID'],
    });
  });
});
