import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { packPackage, runReadmeExample, tarballProblems, tempDir, undocumentedExports } from '@erst/fixtures';
import { startTestTsa } from '@erst/test-tsa';
import { describe, expect, it } from 'vitest';
import * as client from '../client.js';
import * as root from '../index.js';

/** What npm users get: the tarball `pnpm publish` uploads, and the README's example run as they would run it. */
describe('@erst/timestamp as published', () => {
  it('ships README, LICENSE, dist and src without tests; its declarations name no reflect-metadata', {
    timeout: 60_000,
  }, async () => {
    const packed = await packPackage('timestamp');
    expect(tarballProblems(packed)).toEqual([]);
    expect(packed.files).toContain('dist/client.js');

    // A user's compiler reads these: global `Reflect` typings must not come with them.
    const reached = new Set<string>();
    const queue = ['dist/index.d.ts', 'dist/client.d.ts'];
    for (let file = queue.pop(); file; file = queue.pop()) {
      if (reached.has(file)) continue;
      reached.add(file);
      const text = readFileSync(join(packed.root, file), 'utf8');
      expect(text, file).not.toMatch(/reflect-metadata|tsyringe/);
      for (const [, spec] of text.matchAll(/(?:from|import)\s+['"](\.{1,2}\/[^'"]+)['"]/g)) {
        queue.push(posix.normalize(posix.join(posix.dirname(file), spec!.replace(/\.js$/, '.d.ts'))));
      }
    }
    expect(reached).toContain('dist/verify.d.ts');

    const manifest = JSON.parse(readFileSync(join(packed.root, 'package.json'), 'utf8'));
    expect(manifest.sideEffects).toEqual(['./dist/x509.js']);
  });

  it('exports exactly the documented names from each entry point', () => {
    expect(Object.keys(root).sort()).toEqual(
      [
        'MAX_TOKEN_BYTES',
        'MAX_TOKEN_CERTIFICATES',
        'TIMESTAMP_SKEW_MS',
        'checkTimestampOrder',
        'clearTimestampCache',
        'createTimestampRequest',
        'inspectTimestampToken',
        'parseTimestampResponse',
        'verifyTimestampToken',
      ].sort(),
    );
    expect(Object.keys(client).sort()).toEqual(
      [
        'DEFAULT_BACKOFF_MS',
        'DEFAULT_RETRIES',
        'DEFAULT_TIMEOUT_MS',
        'MAX_RESPONSE_BYTES',
        'QUERY_CONTENT_TYPE',
        'REPLY_CONTENT_TYPE',
        'requestTimestamp',
        'timestampClient',
      ].sort(),
    );
    expect(undocumentedExports('timestamp', [...Object.keys(root), ...Object.keys(client)])).toEqual([]);
  });

  it("the README's example asks the test TSA, verifies, and prints what its comments say", {
    timeout: 60_000,
  }, async () => {
    const tsa = await startTestTsa();
    try {
      const rootFile = join(tempDir('erst-tsa-root-'), 'root.pem');
      (await import('node:fs')).writeFileSync(rootFile, tsa.rootPem);
      const r = await runReadmeExample('timestamp', { env: { TSA_URL: tsa.url, TSA_ROOT: rootFile } });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        [
          'CN=Erst Test TSA, O=Erst Test 1.3.6.1.4.1.99999.3161.1 1500.1',
          'SHA-256 true',
          'ERR_TIMESTAMP_IMPRINT_MISMATCH',
          '',
        ].join('\n'),
      );
      expect(tsa.requests).toBe(1);
    } finally {
      await tsa.close();
    }
  });
});
