import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToBase64, generateWithSigner, seedSigner, timestampImprint, withTimestampToken } from '@erst/core';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX, runCli, tempDir } from '@erst/fixtures';
import { issueTsa, tsaCa } from '@erst/test-ca';
import { type TestTsa, startTestTsa } from '@erst/test-tsa';
import { requestTimestamp } from '@erst/timestamp/client';
import { createPrivateKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The seed of the fixtures' signing key, so that records verify pinned to SIGNING_PUBLIC_KEY_HEX.
const SEED = new Uint8Array(Buffer.from(createPrivateKey(SIGNING_KEY_PEM).export({ format: 'jwk' }).d!, 'base64url'));
const dir = tempDir('erst-cli-tsa-');
let tsa: TestTsa;
let stamped: string;
let plain: string;
let root: string;

beforeAll(async () => {
  tsa = await startTestTsa({ credentials: await issueTsa(await tsaCa()) });
  root = join(dir, 'tsa-root.pem');
  writeFileSync(root, tsa.rootPem);
  const record = await generateWithSigner(
    seedSigner(SEED),
    { transactionHash: 'ab'.repeat(32), payload: { logs: ['one'] } },
    { schema: '2.1.0', attestation: null },
  );
  const { token } = await requestTimestamp(tsa.url, timestampImprint(record));
  stamped = join(dir, 'stamped.json');
  writeFileSync(stamped, JSON.stringify(withTimestampToken(record, bytesToBase64(token))));
  plain = join(dir, 'plain.json');
  writeFileSync(plain, JSON.stringify(record));
});
afterAll(async () => {
  await tsa.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('erst audit verify --tsa-root / --require-timestamp (built binary, tokens from openssl ts -reply)', () => {
  it('a token under the pinned TSA root: valid, and the line says when and by whom', async () => {
    const r = await runCli(['audit', 'verify', stamped, '--public-key', SIGNING_PUBLIC_KEY_HEX, '--tsa-root', root]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/timestamped \d{4}-\d\d-\d\dT[^ ]+Z by "[^"]*TSA[^"]*"/);
    const json = await runCli(['audit', 'verify', stamped, '--json', '--tsa-root', root]);
    expect(JSON.parse(json.stdout).results[0].timestamp_token).toMatchObject({ verified: true });
  });

  it('--require-timestamp fails a record without a token (exit 1) and passes one with a verified token', async () => {
    const without = await runCli(['audit', 'verify', plain, '--require-timestamp', '--tsa-root', root]);
    expect(without.code).toBe(1);
    expect(without.stdout).toContain('ERR_TIMESTAMP_REQUIRED');
    const withToken = await runCli(['audit', 'verify', stamped, '--require-timestamp', '--tsa-root', root]);
    expect(withToken.code).toBe(0);
  });

  it('a --tsa-root that holds no certificate is a usage error naming the flag, exit 2', async () => {
    const bad = join(dir, 'not-a-cert.pem');
    writeFileSync(bad, 'hello\n');
    const r = await runCli(['audit', 'verify', stamped, '--tsa-root', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^erst: error ERR_USAGE: .*--tsa-root/);
    expect(r.stderr).not.toContain('hello');
  });
});
