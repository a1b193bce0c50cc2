import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, packPackage, run, tempDir, undocumentedExports, tarballProblems, vectorPath } from '@erst/fixtures';
import { bytesToBase64, generateWithSigner, seedSigner, timestampImprint, withTimestampToken } from '@erst/core';
import { startTestTsa } from '@erst/test-tsa';
import { requestTimestamp } from '@erst/timestamp/client';
import { describe, expect, it } from 'vitest';
import * as surface from '../index.js';

/** A 2.1.0 record with a token from a test TSA, and the root to pin: what the installed copy must verify. */
async function timestamped(): Promise<{ record: string; root: string }> {
  const tsa = await startTestTsa();
  try {
    const rec = await generateWithSigner(
      seedSigner(new Uint8Array(32).fill(3)),
      { transactionHash: 'ab'.repeat(32), payload: { note: 'stamped' } },
      { schema: '2.1.0', attestation: null },
    );
    const { token } = await requestTimestamp(tsa.url, timestampImprint(rec));
    return { record: JSON.stringify(withTimestampToken(rec, bytesToBase64(token))), root: tsa.rootPem };
  } finally {
    await tsa.close();
  }
}

/**
 * What a third party gets: `npm pack` the packages @erst/verify needs,
 * install them into an empty directory with nothing else, and verify erst's
 * own records there.
 */
describe('@erst/verify installed alone', () => {
  it('installs from packed tarballs into an empty project and verifies every shared vector', {
    timeout: 240_000,
  }, async () => {
    const dir = tempDir('erst-pack-');
    for (const pkg of ['core', 'attestation', 'tlog', 'timestamp', 'verify']) {
      const r = await run('pnpm', ['pack', '--pack-destination', dir], { cwd: join(REPO_ROOT, 'packages', pkg) });
      expect(r.code, r.stderr).toBe(0);
    }
    const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
    expect(tarballs).toHaveLength(5);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'third-party', private: true, type: 'module' }));
    const install = await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs.map((t) => `./${t}`)],
      { cwd: dir },
    );
    expect(install.code, install.stderr).toBe(0);

    // Nothing native, and no fs or network in what @erst/* ships.
    const ls = await run('find', ['node_modules', '-name', '*.node'], { cwd: dir });
    expect(ls.stdout.trim()).toBe('');
    for (const pkg of ['core', 'verify', 'attestation', 'tlog', 'timestamp']) {
      const distDir = join(dir, 'node_modules', '@erst', pkg, 'dist');
      // @erst/timestamp/client asks a TSA with fetch: its own entry point, which @erst/verify never imports.
      const shipped = readdirSync(distDir).filter(
        (n) => n.endsWith('.js') && !(pkg === 'timestamp' && n === 'client.js'),
      );
      for (const f of shipped) {
        const src = readFileSync(join(distDir, f), 'utf8');
        expect(src, `${pkg}/${f}`).not.toMatch(
          /from ['"](node:)?(fs|net|http|https|child_process)['"]|fetch\(|pkcs11js/,
        );
      }
    }

    const script = `
      import { readFileSync } from 'node:fs';
      import { Verifier } from '@erst/verify';
      const v = new Verifier({ publicKeys: ['48409627ab71f72af0d7393748918cf1f7b81eeedcaaf9d709a01443e8a22816'] });
      let ok = 0, bad = 0;
      for (const f of ['erst-go-1.1.0.jsonl', 'erst-go-1.0.0.jsonl', 'erst-ts-legacy.jsonl']) {
        for (const line of readFileSync(${JSON.stringify(vectorPath('x').slice(0, -1))} + f, 'utf8').split('\\n').filter(Boolean)) {
          const r = await v.verify(line);
          r.valid && r.trust === 'pinned' ? ok++ : bad++;
        }
      }
      const tampered = JSON.parse(readFileSync(${JSON.stringify(vectorPath('erst-go-1.1.0.jsonl'))}, 'utf8').split('\\n')[0]);
      tampered.payload.logs[0] += '!';
      const t = await v.verify(JSON.stringify(tampered));
      // A timestamped record: @erst/timestamp, loaded on demand, from its tarball.
      const s = await new Verifier({ tsaRoots: [readFileSync('tsa-root.pem', 'utf8')] }).verify(readFileSync('stamped.json'));
      console.log(JSON.stringify({ ok, bad, tampered: t.errors.map((e) => e.code), stamped: s.timestamp_token?.verified ?? null }));
    `;
    writeFileSync(join(dir, 'check.mjs'), script);
    const stamped = await timestamped();
    writeFileSync(join(dir, 'stamped.json'), stamped.record);
    writeFileSync(join(dir, 'tsa-root.pem'), stamped.root);
    const r = await run('node', ['check.mjs'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      ok: 19,
      bad: 0,
      tampered: ['ERR_HASH_MISMATCH', 'ERR_SIGNATURE_INVALID'],
      stamped: true,
    });
  });
});

describe('@erst/verify as published', () => {
  it('ships README, LICENSE, dist and src without tests; every source map source is in the tarball', {
    timeout: 60_000,
  }, async () => {
    const packed = await packPackage('verify');
    expect(tarballProblems(packed)).toEqual([]);
  });

  it('the README names every export', () => {
    expect(undocumentedExports('verify', Object.keys(surface))).toEqual([]);
  });
});
