import {
  type AuditRecordV2_1,
  bytesToHex,
  generateWithSigner,
  hexToBytes,
  seedSigner,
  sha256,
  utf8Bytes,
  withLogProof,
} from '@erst/core';
import { SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';
import { issueTsa, tsaCa } from '@erst/test-ca';
import { TSA_ACCURACY_MS, type TestTsa, startTestTsa } from '@erst/test-tsa';
import { clearTimestampCache } from '@erst/timestamp';
import { requestTimestamp } from '@erst/timestamp/client';
import { MerkleTree, formatCheckpoint, formatTlogProof, noteSignerFromSigner, signNote } from '@erst/tlog';
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Verifier, type VerifyOptions, type VerifyResult, describeRecord, parseTrustFile } from '../index.js';
import { PAYLOAD, TEST_SEED } from './helpers.js';

/*
 * A log checkpoint timestamped by a TSA: the token (from `openssl ts -reply`,
 * through the test TSA) is over SHA-256 of the checkpoint's note text and
 * travels in each record's tlog-proof `extra` line. Records are 2.1.0 without
 * a signature, sealed by a checkpoint their own key signed, as
 * `erst audit sign --log --no-record-signature` writes them.
 */

const ORIGIN = 'audit.example.com/log';
const DAY = 24 * 3600 * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

let tsa: TestTsa;
let stranger: TestTsa;

beforeAll(async () => {
  tsa = await startTestTsa({ credentials: await issueTsa(await tsaCa()) });
  // Another TSA, under a root nobody pins.
  stranger = await startTestTsa();
});
afterAll(() => Promise.all([tsa.close(), stranger.close()]));

const signer = Object.assign(seedSigner(TEST_SEED), {
  signMessage: async (m: Uint8Array) => ed25519.sign(m, TEST_SEED),
});

/** `n` unsigned 2.1.0 records dated `at`, their payloads told apart by `tag`. */
function records(n: number, tag: string, at = Date.now() - 60_000): Promise<AuditRecordV2_1[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      generateWithSigner(
        signer,
        { transactionHash: bytesToHex(sha256(utf8Bytes(`${tag} ${i}`))), payload: { ...PAYLOAD, tag, i } },
        { schema: '2.1.0', recordSignature: false, attestation: null, now: () => new Date(at) },
      ),
    ),
  );
}

interface Logged {
  records: AuditRecordV2_1[];
  /** The checkpoint's note text: what the token is over. */
  text: string;
  token: Uint8Array | undefined;
}

/** `recs` logged under one checkpoint the records' key signs, timestamped by `from` (none: no token). */
async function logged(recs: AuditRecordV2_1[], from: TestTsa | null = tsa): Promise<Logged> {
  const tree = new MerkleTree();
  for (const r of recs) tree.append(hexToBytes(r.trace_hash)!);
  const text = formatCheckpoint({ origin: ORIGIN, size: tree.size, root: tree.root(), extensions: [] });
  const checkpoint = await signNote(text, [await noteSignerFromSigner(ORIGIN, signer)]);
  const token = from ? (await requestTimestamp(from.url, sha256(utf8Bytes(text)))).token : undefined;
  return { records: withExtra(recs, tree, checkpoint, token), text, token };
}

function withExtra(
  recs: readonly AuditRecordV2_1[],
  tree: MerkleTree,
  checkpoint: string,
  extra: Uint8Array | undefined,
): AuditRecordV2_1[] {
  return recs.map((r, i) =>
    withLogProof(r, formatTlogProof({ index: i, hashes: tree.inclusionProof(i), checkpoint, extra })),
  );
}

/** The record with its proof's `extra` line replaced (or dropped). */
function reExtra(rec: AuditRecordV2_1, extra: Uint8Array): AuditRecordV2_1 {
  const lines = rec.log_proof!.split('\n');
  lines[1] = `extra ${Buffer.from(extra).toString('base64')}`;
  return { ...rec, log_proof: lines.join('\n') };
}

/** The token with its genTime's year changed in place: GeneralizedTime (tag 0x18) is the first one in the DER. */
function editedGenTime(token: Uint8Array): Uint8Array {
  const out = token.slice();
  const at = out.findIndex((b, i) => b === 0x18 && out[i + 1] === 0x0f);
  expect(at).toBeGreaterThan(0);
  out[at + 5] = out[at + 5] === 0x30 ? 0x31 : 0x30;
  return out;
}

const run = (rec: unknown, options: VerifyOptions = {}): Promise<VerifyResult> =>
  new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX], ...options }).verify(JSON.stringify(rec));
const codes = (r: VerifyResult) => r.errors.map((e) => e.code);
const warnings = (r: VerifyResult) => r.warnings.map((w) => w.code);
const pinned = (): VerifyOptions => ({ tsaRoots: [tsa.rootPem] });

describe("a log checkpoint's timestamp token, in the proof's extra line", () => {
  it('verifies with the TSA root pinned, reported as log.timestamp; the record has no token of its own', async () => {
    const before = Date.now();
    const log = await logged(await records(3, 'a'));
    const r = await run(log.records[1], pinned());
    expect(codes(r)).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.log).toMatchObject({ origin: ORIGIN, index: 1, tree_size: 3, verified: true });
    expect(r.log!.timestamp).toEqual({
      timestamped_at: expect.stringMatching(/Z$/),
      tsa: 'CN=Erst Test TSA, O=Erst Test',
      accuracy: TSA_ACCURACY_MS,
      verified: true,
    });
    expect(Date.parse(r.log!.timestamp!.timestamped_at)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(r.timestamp_token).toBeNull();
    // A proof without the line: no timestamp.
    const plain = await logged(await records(1, 'plain'), null);
    expect((await run(plain.records[0], pinned())).log).toMatchObject({ verified: true, timestamp: null });
  });

  it('is checked once per checkpoint: every further record under it costs no CMS signature', async () => {
    const log = await logged(await records(4, 'cost'));
    clearTimestampCache();
    // Records without a signature, a note checked by @noble: every WebCrypto verify counted is the token's.
    const verify = vi.spyOn(globalThis.crypto.subtle, 'verify');
    try {
      const v = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX], ...pinned(), backend: 'noble' });
      const cost: number[] = [];
      for (const rec of log.records) {
        const before = verify.mock.calls.length;
        const r = await v.verify(JSON.stringify(rec));
        expect(r.log?.timestamp?.verified).toBe(true);
        cost.push(verify.mock.calls.length - before);
      }
      expect(cost[0]).toBeGreaterThan(0);
      expect(cost.slice(1)).toEqual([0, 0, 0]);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('a token moved from another checkpoint fails with ERR_TIMESTAMP_IMPRINT_MISMATCH', async () => {
    const a = await logged(await records(2, 'swap-a'));
    const b = await logged(await records(2, 'swap-b'));
    const swapped = reExtra(a.records[0]!, b.token!);
    const r = await run(swapped, pinned());
    expect(codes(r)).toEqual(['ERR_TIMESTAMP_IMPRINT_MISMATCH']);
    expect(r.valid).toBe(false);
    expect(r.log).toMatchObject({ verified: true, timestamp: null });
    // Each verifies with its own.
    expect((await run(a.records[0], pinned())).valid).toBe(true);
    expect((await run(b.records[1], pinned())).valid).toBe(true);
  });

  it('an edited genTime breaks the CMS signature: ERR_TIMESTAMP_SIGNATURE_INVALID', async () => {
    const log = await logged(await records(1, 'edit'));
    const r = await run(reExtra(log.records[0]!, editedGenTime(log.token!)), pinned());
    expect(codes(r)).toEqual(['ERR_TIMESTAMP_SIGNATURE_INVALID']);
  });

  it('without a pinned TSA root: reported, unproven, with WARN_TIMESTAMP_NOT_CHECKED; an unpinned TSA fails', async () => {
    const log = await logged(await records(1, 'unpinned'));
    const r = await run(log.records[0]);
    expect(codes(r)).toEqual([]);
    expect(r.valid).toBe(true);
    expect(warnings(r)).toContain('WARN_TIMESTAMP_NOT_CHECKED');
    expect(r.log!.timestamp).toMatchObject({ tsa: 'CN=Erst Test TSA, O=Erst Test', verified: false });
    const other = await logged(await records(1, 'stranger'), stranger);
    expect(codes(await run(other.records[0], pinned()))).toEqual(['ERR_TIMESTAMP_UNTRUSTED_ROOT']);
  });

  it('a record dated later than genTime beyond the skew fails with ERR_TIMESTAMP_BEFORE_RECORD', async () => {
    const late = await logged(await records(1, 'late', Date.now() + 3600_000));
    const r = await run(late.records[0], pinned());
    expect(codes(r)).toEqual(['ERR_TIMESTAMP_BEFORE_RECORD']);
    expect(r.log!.timestamp?.verified).toBe(false);
  });

  it('requireTimestamp is met by the checkpoint token, and fails a record whose checkpoint has none', async () => {
    const stamped = await logged(await records(1, 'req'));
    const plain = await logged(await records(1, 'req-plain'), null);
    const options = { ...pinned(), requireTimestamp: true };
    expect(codes(await run(stamped.records[0], options))).toEqual([]);
    expect(codes(await run(plain.records[0], options))).toEqual(['ERR_TIMESTAMP_REQUIRED']);
    // A token nobody can check is no trusted timestamp.
    expect(codes(await run(stamped.records[0], { requireTimestamp: true }))).toEqual(['ERR_TIMESTAMP_REQUIRED']);
  });

  it("key validity windows are checked against the checkpoint's genTime, not the record's own date", async () => {
    const dated = Date.now() - 10 * DAY;
    const log = await logged(await records(1, 'window', dated));
    const window = (from: number, to: number) =>
      parseTrustFile({ keys: [{ public_key: SIGNING_PUBLIC_KEY_HEX, not_before: iso(from), not_after: iso(to) }] });
    const then = window(dated - DAY, dated + DAY);
    const r = await new Verifier({ trust: then, ...pinned() }).verify(JSON.stringify(log.records[0]));
    expect(codes(r)).toEqual(['ERR_KEY_OUTSIDE_VALIDITY']);
    expect(r.errors[0]!.message).toContain('TSA timestamped the record at');
    const now = window(Date.now() - DAY, Date.now() + DAY);
    expect(codes(await new Verifier({ trust: now, ...pinned() }).verify(JSON.stringify(log.records[0])))).toEqual([]);
    // Unproven, the token changes nothing: the record's own date decides.
    expect(codes(await new Verifier({ trust: then }).verify(JSON.stringify(log.records[0])))).toEqual([]);
  });

  it('describeRecord shows what the token says, and whether it is over the checkpoint', async () => {
    const a = await logged(await records(1, 'describe-a'));
    const b = await logged(await records(1, 'describe-b'));
    const d = await describeRecord(JSON.stringify(a.records[0]));
    expect(d.log_proof?.timestamp_token).toMatchObject({
      gen_time: expect.stringMatching(/Z$/),
      tsa: 'CN=Erst Test TSA, O=Erst Test',
      accuracy: TSA_ACCURACY_MS,
      hash_algorithm: 'SHA-256',
      imprint_matches_checkpoint: true,
      error: null,
    });
    const moved = await describeRecord(JSON.stringify(reExtra(a.records[0]!, b.token!)));
    expect(moved.log_proof?.timestamp_token?.imprint_matches_checkpoint).toBe(false);
    const garbage = await describeRecord(JSON.stringify(reExtra(a.records[0]!, new Uint8Array([0x30, 0x00]))));
    expect(garbage.log_proof?.timestamp_token).toMatchObject({ error: 'ERR_TIMESTAMP_MALFORMED', gen_time: null });
    const plain = await logged(await records(1, 'describe-plain'), null);
    expect((await describeRecord(JSON.stringify(plain.records[0]))).log_proof?.timestamp_token).toBeNull();
  });
});
