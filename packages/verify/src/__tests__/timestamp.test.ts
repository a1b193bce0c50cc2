import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AuditRecordV2_1,
  bytesToBase64,
  generateWithSigner,
  seedSigner,
  timestampImprint,
  withTimestampToken,
} from '@erst/core';
import { SIGNING_PUBLIC_KEY_HEX, tempDir } from '@erst/fixtures';
import { issueTsa, tsaCa } from '@erst/test-ca';
import { TSA_ACCURACY_MS, type TestTsa, startTestTsa } from '@erst/test-tsa';
import { clearTimestampCache } from '@erst/timestamp';
import { requestTimestamp } from '@erst/timestamp/client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Verifier, type VerifyOptions, type VerifyResult, describeRecord, parseTrustFile } from '../index.js';
import { OTHER_SEED, PAYLOAD, TEST_SEED, TX } from './helpers.js';

const DAY = 24 * 3600 * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

let tsa: TestTsa;
let stranger: TestTsa;
let noEku: Awaited<ReturnType<typeof issueTsa>>;

beforeAll(async () => {
  const ca = await tsaCa();
  tsa = await startTestTsa({ credentials: await issueTsa(ca) });
  noEku = await issueTsa(ca, { eku: 'absent' });
  // Another TSA, under a root nobody pins.
  stranger = await startTestTsa();
});
afterAll(() => Promise.all([tsa.close(), stranger.close()]));

/** A 2.1.0 record dated `at` (default now), signed with the test key. */
async function record(at = Date.now(), seed = TEST_SEED, note = 'one'): Promise<AuditRecordV2_1> {
  return generateWithSigner(
    seedSigner(seed),
    { transactionHash: TX, payload: { ...PAYLOAD, note } },
    { schema: '2.1.0', attestation: null, now: () => new Date(at) },
  );
}

/** The record with a token from `from` over its own trace_hash: what signing with --tsa-url will write. */
async function stamped(rec: AuditRecordV2_1, from: TestTsa = tsa): Promise<AuditRecordV2_1> {
  const { token } = await requestTimestamp(from.url, timestampImprint(rec));
  return withTimestampToken(rec, bytesToBase64(token));
}

const run = (rec: unknown, options: VerifyOptions = {}): Promise<VerifyResult> =>
  new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX], ...options }).verify(JSON.stringify(rec));
const codes = (r: VerifyResult) => r.errors.map((e) => e.code);
const warnings = (r: VerifyResult) => r.warnings.map((w) => w.code);

describe('a 2.1.0 record with a timestamp token', () => {
  it('verifies with the TSA root pinned and reports genTime, the TSA and its accuracy', async () => {
    const before = Date.now();
    const r = await run(await stamped(await record()), { tsaRoots: [tsa.rootPem] });
    expect(codes(r)).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.trust).toBe('pinned');
    expect(r.timestamp_token).toEqual({
      timestamped_at: expect.stringMatching(/Z$/),
      tsa: 'CN=Erst Test TSA, O=Erst Test',
      accuracy: TSA_ACCURACY_MS,
      verified: true,
    });
    // genTime is the TSA's clock (whole seconds): now, not the record's claim.
    const gen = Date.parse(r.timestamp_token!.timestamped_at);
    expect(gen).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(gen).toBeLessThanOrEqual(Date.now());
  });

  it('a record without a token reports timestamp_token null', async () => {
    expect((await run(await record(), { tsaRoots: [tsa.rootPem] })).timestamp_token).toBeNull();
  });

  it('a token moved from another record fails with ERR_TIMESTAMP_IMPRINT_MISMATCH', async () => {
    const a = await stamped(await record(Date.now(), TEST_SEED, 'a'));
    const b = await stamped(await record(Date.now(), TEST_SEED, 'b'));
    const swapped = withTimestampToken(b, a.timestamp_token!);
    const r = await run(swapped, { tsaRoots: [tsa.rootPem] });
    expect(codes(r)).toEqual(['ERR_TIMESTAMP_IMPRINT_MISMATCH']);
    expect(r.valid).toBe(false);
    expect(r.timestamp_token).toBeNull();
    // Its own token still verifies: the swap is what failed.
    expect((await run(b, { tsaRoots: [tsa.rootPem] })).valid).toBe(true);
  });

  it('a token from a TSA whose root is not pinned fails with ERR_TIMESTAMP_UNTRUSTED_ROOT', async () => {
    const r = await run(await stamped(await record(), stranger), { tsaRoots: [tsa.rootPem] });
    expect(codes(r)).toEqual(['ERR_TIMESTAMP_UNTRUSTED_ROOT']);
    expect(r.valid).toBe(false);
  });

  it('a token signed by a certificate under the pinned root but without the timeStamping EKU fails', async () => {
    tsa.behave({ resignWith: noEku });
    let rec: AuditRecordV2_1;
    try {
      rec = await stamped(await record());
    } finally {
      tsa.behave({});
    }
    const r = await run(rec, { tsaRoots: [tsa.rootPem] });
    expect(codes(r)).toEqual(['ERR_TIMESTAMP_TSA_EKU']);
  });

  it('a record dated later than genTime beyond the skew fails with ERR_TIMESTAMP_BEFORE_RECORD', async () => {
    const late = await stamped(await record(Date.now() + 3600_000));
    const r = await run(late, { tsaRoots: [tsa.rootPem] });
    expect(codes(r)).toEqual(['ERR_TIMESTAMP_BEFORE_RECORD']);
    expect(r.timestamp_token?.verified).toBe(false);
    // Within the 5 minutes of stated skew, and earlier, are fine.
    expect((await run(await stamped(await record(Date.now() + 60_000)), { tsaRoots: [tsa.rootPem] })).valid).toBe(true);
    expect((await run(await stamped(await record(Date.now() - DAY)), { tsaRoots: [tsa.rootPem] })).valid).toBe(true);
  });

  it('without a pinned TSA root the token is reported, unproven, with WARN_TIMESTAMP_NOT_CHECKED', async () => {
    const rec = await stamped(await record());
    const r = await run(rec);
    expect(codes(r)).toEqual([]);
    expect(r.valid).toBe(true);
    expect(warnings(r)).toContain('WARN_TIMESTAMP_NOT_CHECKED');
    expect(r.timestamp_token).toMatchObject({ tsa: 'CN=Erst Test TSA, O=Erst Test', verified: false });
    // A token that does not even parse is an error, roots or not.
    const garbage = withTimestampToken(rec, bytesToBase64(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])));
    expect(codes(await run(garbage))).toEqual(['ERR_TIMESTAMP_MALFORMED']);
    expect(codes(await run(garbage, { tsaRoots: [tsa.rootPem] }))).toEqual(['ERR_TIMESTAMP_MALFORMED']);
  });
});

describe('key validity windows, once a token has verified, are checked against genTime', () => {
  const dated = Date.now() - 10 * DAY;
  const window = (from: number, to: number) =>
    parseTrustFile({ keys: [{ public_key: SIGNING_PUBLIC_KEY_HEX, not_before: iso(from), not_after: iso(to) }] });

  it("a window the record's own timestamp satisfies but genTime does not fails with ERR_KEY_OUTSIDE_VALIDITY", async () => {
    const rec = await stamped(await record(dated));
    const trust = window(dated - DAY, dated + DAY);
    const r = await new Verifier({ trust, tsaRoots: [tsa.rootPem] }).verify(JSON.stringify(rec));
    expect(codes(r)).toEqual(['ERR_KEY_OUTSIDE_VALIDITY']);
    expect(r.errors[0]!.message).toContain('TSA timestamped the record at');
    // Unproven, the token changes nothing: the record's own date decides, as before.
    expect(codes(await new Verifier({ trust }).verify(JSON.stringify(rec)))).toEqual([]);
  });

  it("and a window genTime satisfies but the record's own timestamp does not passes", async () => {
    const rec = await stamped(await record(dated));
    const trust = window(Date.now() - DAY, Date.now() + DAY);
    const r = await new Verifier({ trust, tsaRoots: [tsa.rootPem] }).verify(JSON.stringify(rec));
    expect(codes(r)).toEqual([]);
    expect(r.trust).toBe('pinned');
    expect(codes(await new Verifier({ trust }).verify(JSON.stringify(rec)))).toEqual(['ERR_KEY_OUTSIDE_VALIDITY']);
  });
});

describe('requireTimestamp and the trust file', () => {
  it('requireTimestamp fails records without a verified token with ERR_TIMESTAMP_REQUIRED', async () => {
    const plain = await record();
    const rec = await stamped(plain);
    const options = { tsaRoots: [tsa.rootPem], requireTimestamp: true };
    expect(codes(await run(plain, options))).toEqual(['ERR_TIMESTAMP_REQUIRED']);
    expect(codes(await run(rec, options))).toEqual([]);
    // A token nobody can check is no trusted timestamp.
    expect(codes(await run(rec, { requireTimestamp: true }))).toEqual(['ERR_TIMESTAMP_REQUIRED']);
    const failed = await run(await stamped(plain, stranger), options);
    expect(codes(failed)).toEqual(['ERR_TIMESTAMP_UNTRUSTED_ROOT', 'ERR_TIMESTAMP_REQUIRED']);
  });

  it('tsa_roots and require_timestamp in a trust file, inline or by path, as attestation roots are', async () => {
    const dir = tempDir('erst-tsa-trust-');
    mkdirSync(join(dir, 'roots'));
    writeFileSync(join(dir, 'roots', 'tsa.pem'), tsa.rootPem);
    const seen: string[] = [];
    const byPath = parseTrustFile(
      JSON.stringify({
        keys: [{ public_key: SIGNING_PUBLIC_KEY_HEX }],
        tsa_roots: ['roots/tsa.pem'],
        require_timestamp: true,
      }),
      {
        resolveRoot: (ref) => {
          seen.push(ref);
          return readFileSync(join(dir, ref), 'utf8');
        },
      },
    );
    expect(seen).toEqual(['roots/tsa.pem']);
    expect(byPath).toMatchObject({ tsaRoots: [tsa.rootPem], requireTimestamp: true });
    const inline = parseTrustFile({ tsa_roots: [tsa.rootPem], require_timestamp: true });
    const plain = await record();
    for (const trust of [byPath, inline]) {
      const v = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX], trust });
      expect(codes(await v.verify(JSON.stringify(await stamped(plain))))).toEqual([]);
      expect(codes(await v.verify(JSON.stringify(plain)))).toEqual(['ERR_TIMESTAMP_REQUIRED']);
    }
    // Neither field: nothing changes.
    expect(parseTrustFile({})).toMatchObject({ tsaRoots: [], requireTimestamp: false });
  });

  it('refuses bad tsa_roots, require_timestamp and options with their codes, naming the option', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as { code: string; details?: unknown };
      }
      return undefined;
    };
    expect(code(() => parseTrustFile({ tsa_roots: ['not a pem'] }))?.code).toBe('ERR_TRUST_FILE_INVALID');
    expect(code(() => parseTrustFile({ tsa_roots: 'x' }))?.code).toBe('ERR_TRUST_FILE_INVALID');
    expect(
      code(() => parseTrustFile({ tsa_roots: [`-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----`] }))?.code,
    ).toBe('ERR_TRUST_FILE_INVALID');
    expect(code(() => parseTrustFile({ require_timestamp: 'yes' }))?.code).toBe('ERR_TRUST_FILE_INVALID');
    expect(code(() => new Verifier({ tsaRoots: ['hello'] }))).toMatchObject({
      code: 'ERR_OPTIONS_INVALID',
      details: { options: ['tsaRoots'] },
    });
    expect(code(() => new Verifier({ tsaRoots: 'x' as unknown as string[] }))).toMatchObject({
      code: 'ERR_OPTIONS_INVALID',
      details: { options: ['tsaRoots'] },
    });
    expect(code(() => new Verifier({ requireTimestamp: 'yes' as unknown as boolean }))).toMatchObject({
      code: 'ERR_OPTIONS_INVALID',
      details: { options: ['requireTimestamp'] },
    });
  });
});

describe('cost: one chain check per distinct TSA chain', () => {
  afterEach(() => vi.restoreAllMocks());

  it('the first token costs its chain; each further one, in this Verifier or the next, one CMS signature', async () => {
    const records = await Promise.all(
      [1, 2, 3, 4].map(async (i) => stamped(await record(Date.now(), TEST_SEED, `${i}`))),
    );
    clearTimestampCache();
    // The noble backend checks Ed25519 in JavaScript: every signature verify counted is a timestamp's.
    // A chain's certificates are checked through WebCrypto, each token's own signature through node:crypto
    // (the object @erst/timestamp reaches with getBuiltinModule): the count is both.
    const web = vi.spyOn(globalThis.crypto.subtle, 'verify');
    const node = vi.spyOn(process.getBuiltinModule('node:crypto'), 'verify');
    const verify = {
      mock: {
        get calls() {
          return [...web.mock.calls, ...node.mock.calls];
        },
      },
    };
    const options: VerifyOptions = { publicKeys: [SIGNING_PUBLIC_KEY_HEX], tsaRoots: [tsa.rootPem], backend: 'noble' };
    const v = new Verifier(options);
    const cost: number[] = [];
    for (const rec of records.slice(0, 3)) {
      const before = verify.mock.calls.length;
      expect(codes(await v.verify(JSON.stringify(rec)))).toEqual([]);
      cost.push(verify.mock.calls.length - before);
    }
    expect(cost[0]).toBeGreaterThan(1);
    expect(cost.slice(1)).toEqual([1, 1]);
    const before = verify.mock.calls.length;
    const next = new Verifier({ ...options, tsaRoots: [`${tsa.rootPem}`] });
    expect(codes(await next.verify(JSON.stringify(records[3])))).toEqual([]);
    expect(verify.mock.calls.length - before).toBe(1);
    // A record without a token costs none.
    const plain = verify.mock.calls.length;
    await v.verify(JSON.stringify(await record(Date.now(), OTHER_SEED)));
    expect(verify.mock.calls.length).toBe(plain);
  });
});

describe('describeRecord shows what the token says, without verifying it', () => {
  it('genTime, TSA, serial, policy, accuracy, and whether it is over trace_hash', async () => {
    const a = await stamped(await record(Date.now(), TEST_SEED, 'a'));
    const d = await describeRecord(JSON.stringify(a));
    expect(d.timestamp_token).toMatchObject({
      gen_time: expect.stringMatching(/Z$/),
      tsa: 'CN=Erst Test TSA, O=Erst Test',
      serial: expect.stringMatching(/^[0-9a-f]+$/),
      policy: '1.3.6.1.4.1.99999.3161.1',
      accuracy: TSA_ACCURACY_MS,
      hash_algorithm: 'SHA-256',
      imprint_matches_trace_hash: true,
      error: null,
    });
    expect(d.timestamp_token!.certificates).toContain('CN=Erst Test TSA, O=Erst Test');
    expect(d.covered).not.toContain('timestamp_token');
    const b = await record(Date.now(), TEST_SEED, 'b');
    const moved = await describeRecord(JSON.stringify(withTimestampToken(b, a.timestamp_token!)));
    expect(moved.timestamp_token?.imprint_matches_trace_hash).toBe(false);
    const garbage = withTimestampToken(b, bytesToBase64(new Uint8Array([0x30, 0x00])));
    expect((await describeRecord(JSON.stringify(garbage))).timestamp_token).toMatchObject({
      error: 'ERR_TIMESTAMP_MALFORMED',
      gen_time: null,
    });
    expect((await describeRecord(JSON.stringify(b))).timestamp_token).toBeNull();
  });
});
