import {
  type AuditRecordV2_1,
  type JsonObject,
  MAX_LOG_PROOF_BYTES,
  type PublicKey,
  type Signer,
  bytesToHex,
  generateWithSigner,
  hashInputV2_1,
  hexToBytes,
  isErstError,
  seedSigner,
  sha256,
  withLogProof,
} from '@erst/core';
import {
  MAX_PROOF_BYTES,
  MerkleTree,
  type NoteSigner,
  formatTlogProof,
  formatVerifierKey,
  noteSigner,
  noteSignerFromSigner,
  signCheckpoint,
} from '@erst/tlog';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { thrownError } from '@erst/fixtures';
import {
  VERIFY_ERROR_CODES,
  VERIFY_WARNING_CODES,
  Verifier,
  type VerifyResult,
  isMalformed,
  parseTrustFile,
  verifiedCheckpointNote,
} from '../index.js';
import { FIXED_NOW, PAYLOAD } from './helpers.js';

const ORIGIN = 'audit.example.com/log';
const RECORD_SEED = new Uint8Array(32).fill(0x21);
const LOG_SEED = new Uint8Array(32).fill(0x22);

function ed25519Public(seed: Uint8Array): PublicKey {
  return { algorithm: 'ed25519', raw: ed25519.getPublicKey(seed) };
}
/** A note signer for an Ed25519 seed, under `name` (a log's key name is its origin). */
function edNoteSigner(seed: Uint8Array, name = ORIGIN): NoteSigner {
  return noteSigner(name, ed25519Public(seed), async (m) => ed25519.sign(m, seed));
}
/** A software ECDSA P-256 Signer, as @erst/signer-memory would give (raw r||s, low S). */
function p256Signer(secretByte: number): Signer {
  const secret = new Uint8Array(32).fill(secretByte);
  const key: PublicKey = { algorithm: 'ecdsa-p256', raw: p256.getPublicKey(secret, false) };
  return {
    algorithm: 'ecdsa-p256',
    publicKey: async () => key,
    sign: async (digest) => p256.sign(digest, secret, { prehash: false, lowS: true }),
  };
}
const RECORD_KEY = ed25519Public(RECORD_SEED);
const RECORD_VKEY = formatVerifierKey(ORIGIN, RECORD_KEY);
const LOG_VKEY = formatVerifierKey(ORIGIN, ed25519Public(LOG_SEED));

async function records(n: number, signer: Signer, recordSignature: boolean): Promise<AuditRecordV2_1[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      generateWithSigner(
        signer,
        { transactionHash: bytesToHex(sha256(new TextEncoder().encode(`tx ${i}`))), payload: { ...PAYLOAD, i } },
        { schema: '2.1.0', recordSignature, now: FIXED_NOW, attestation: null },
      ),
    ),
  );
}

/** A log of `recs` in memory: each record gets its proof under one checkpoint signed by `signers`. */
async function logged(
  recs: readonly AuditRecordV2_1[],
  signers: readonly NoteSigner[],
  origin = ORIGIN,
): Promise<AuditRecordV2_1[]> {
  const tree = new MerkleTree();
  for (const r of recs) tree.append(hexToBytes(r.trace_hash)!);
  const checkpoint = await signCheckpoint({ origin, size: tree.size, root: tree.root(), extensions: [] }, signers);
  return recs.map((r, i) => withLogProof(r, formatTlogProof({ index: i, hashes: tree.inclusionProof(i), checkpoint })));
}

const text = (r: unknown) => JSON.stringify(r);
const codes = (r: VerifyResult) => r.errors.map((e) => e.code);
const warningCodes = (r: VerifyResult) => r.warnings.map((w) => w.code);

const signed = await logged(await records(5, seedSigner(RECORD_SEED), true), [edNoteSigner(RECORD_SEED)]);
const unsigned = await logged(await records(5, seedSigner(RECORD_SEED), false), [edNoteSigner(RECORD_SEED)]);

describe('2.1.0 records with a log proof', () => {
  it('signed, with its checkpoint signed by its own key: verified under the record key', async () => {
    const r = await new Verifier().verify(text(signed[3]));
    expect(codes(r)).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.format).toBe('2.1.0');
    expect(r.integrity).toEqual({ hash: 'ok', signature: 'ok' });
    expect(r.log).toEqual({ origin: ORIGIN, index: 3, tree_size: 5, key: 'record', verified: true, timestamp: null });
    expect(r.covered).not.toContain('log_proof');
    expect(warningCodes(r)).toEqual(['WARN_KEY_NOT_PINNED']);
  });

  it('without a signature: integrity rests on the proof, and trust is decided on the record key', async () => {
    const open = await new Verifier().verify(text(unsigned[0]));
    expect(codes(open)).toEqual([]);
    expect(open.integrity).toEqual({ hash: 'ok', signature: 'absent' });
    expect(open.log).toEqual({
      origin: ORIGIN,
      index: 0,
      tree_size: 5,
      key: 'record',
      verified: true,
      timestamp: null,
    });
    expect(open.trust).toBe('embedded-only');
    const pinned = await new Verifier({ publicKeys: [bytesToHex(RECORD_KEY.raw)] }).verify(text(unsigned[4]));
    expect(pinned.valid).toBe(true);
    expect(pinned.trust).toBe('pinned');
    const other = await new Verifier({ publicKeys: [bytesToHex(ed25519Public(LOG_SEED).raw)] }).verify(
      text(unsigned[4]),
    );
    expect(codes(other)).toEqual(['ERR_KEY_NOT_TRUSTED']);
  });

  it('a given log key for the origin is the key that must have signed the checkpoint', async () => {
    const byLog = await logged(await records(3, seedSigner(RECORD_SEED), true), [edNoteSigner(LOG_SEED)]);
    const checked = await new Verifier({ logKeys: [LOG_VKEY] }).verify(text(byLog[1]));
    expect(codes(checked)).toEqual([]);
    expect(checked.log).toMatchObject({ key: 'log-key', verified: true, index: 1 });
    // The record's own key signed this checkpoint, but a log key was given for its origin, and did not.
    const wrong = await new Verifier({ logKeys: [LOG_VKEY] }).verify(text(signed[1]));
    expect(codes(wrong)).toEqual(['ERR_NOTE_UNVERIFIED']);
    expect(wrong.log).toMatchObject({ key: 'log-key', verified: false });
  });

  it('a signed record whose checkpoint no key given vouches for: valid on its signature, with a warning', async () => {
    const byLog = await logged(await records(2, seedSigner(RECORD_SEED), true), [edNoteSigner(LOG_SEED)]);
    const r = await new Verifier({ publicKeys: [bytesToHex(RECORD_KEY.raw)] }).verify(text(byLog[0]));
    expect(codes(r)).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.trust).toBe('pinned');
    expect(warningCodes(r)).toEqual(['WARN_LOG_PROOF_UNCHECKED']);
    expect(r.log).toEqual({ origin: ORIGIN, index: 0, tree_size: 2, key: 'record', verified: false, timestamp: null });
  });

  it("an unsigned record needs its own key's signature on the checkpoint, a log key's is not enough", async () => {
    const recs = await records(2, seedSigner(RECORD_SEED), false);
    const byLog = await logged(recs, [edNoteSigner(LOG_SEED)]);
    expect(codes(await new Verifier().verify(text(byLog[0])))).toEqual(['ERR_LOG_NOT_SIGNED_BY_RECORD_KEY']);
    expect(codes(await new Verifier({ logKeys: [LOG_VKEY] }).verify(text(byLog[0])))).toEqual([
      'ERR_LOG_NOT_SIGNED_BY_RECORD_KEY',
    ]);
    const cosigned = await logged(recs, [edNoteSigner(LOG_SEED), edNoteSigner(RECORD_SEED)]);
    const r = await new Verifier({ logKeys: [LOG_VKEY] }).verify(text(cosigned[1]));
    expect(codes(r)).toEqual([]);
    expect(r.log).toMatchObject({ key: 'log-key', verified: true });
  });

  it('log keys for another origin: the record key vouches, as if none were given', async () => {
    const elsewhere = formatVerifierKey('other.example.com/log', ed25519Public(LOG_SEED));
    for (const rec of [signed[2], unsigned[2]]) {
      const r = await new Verifier({ logKeys: [elsewhere] }).verify(text(rec));
      expect(codes(r)).toEqual([]);
      expect(r.log).toMatchObject({ origin: ORIGIN, key: 'record', verified: true });
    }
    const asLogKey = await new Verifier({ logKeys: [elsewhere, RECORD_VKEY] }).verify(text(unsigned[2]));
    expect(asLogKey.log).toMatchObject({ key: 'log-key', verified: true });
  });

  it('one Verifier for records of several keys and origins in turn: each judged on its own key, as alone', async () => {
    const SEED_B = new Uint8Array(32).fill(0x23);
    const ofB = await records(3, seedSigner(SEED_B), false);
    // B's records under a checkpoint only A signed (and one B signed), A's under another origin's name.
    const bUnderA = await logged(ofB, [edNoteSigner(RECORD_SEED)]);
    const bUnderB = await logged(ofB, [
      noteSigner(ORIGIN, ed25519Public(SEED_B), async (m) => ed25519.sign(m, SEED_B)),
    ]);
    const elsewhere = 'other.example.com/log';
    const aElsewhere = await logged(await records(2, seedSigner(RECORD_SEED), false), [
      edNoteSigner(RECORD_SEED, elsewhere),
    ]);
    const p256Recs = await logged(await records(2, p256Signer(9), false), [
      await noteSignerFromSigner(ORIGIN, p256Signer(9)),
    ]);
    const sequence = [
      unsigned[0],
      bUnderA[0],
      unsigned[1],
      bUnderB[1],
      bUnderA[2],
      aElsewhere[0],
      unsigned[2],
      p256Recs[0],
      bUnderB[0],
      aElsewhere[1],
      unsigned[3],
    ];
    const shared = new Verifier();
    for (const rec of sequence) expect(await shared.verify(text(rec))).toEqual(await new Verifier().verify(text(rec)));
    expect(codes(await shared.verify(text(bUnderA[1])))).toEqual(['ERR_LOG_NOT_SIGNED_BY_RECORD_KEY']);
    expect((await shared.verify(text(bUnderB[2]))).valid).toBe(true);
  });

  it('a log key that signed a checkpoint naming another origin: ERR_CHECKPOINT_ORIGIN_MISMATCH', async () => {
    const forged = await logged(
      await records(2, seedSigner(RECORD_SEED), true),
      [edNoteSigner(LOG_SEED, ORIGIN)],
      'other.example.com/log',
    );
    const r = await new Verifier({ logKeys: [LOG_VKEY] }).verify(text(forged[0]));
    expect(codes(r)).toEqual(['ERR_CHECKPOINT_ORIGIN_MISMATCH']);
  });

  it('ECDSA P-256: a record and its checkpoint under one P-256 key, signed or not', async () => {
    const signer = p256Signer(3);
    const vkey = formatVerifierKey(ORIGIN, await signer.publicKey());
    const noteKey = await noteSignerFromSigner(ORIGIN, signer);
    for (const recordSignature of [true, false]) {
      const recs = await logged(await records(3, signer, recordSignature), [noteKey]);
      for (const options of [{}, { logKeys: [vkey] }]) {
        const r = await new Verifier(options).verify(text(recs[2]));
        expect(codes(r), `${recordSignature} ${JSON.stringify(options)}`).toEqual([]);
        expect(r.key?.algorithm).toBe('ecdsa-p256');
        expect(r.integrity.signature).toBe(recordSignature ? 'ok' : 'absent');
        expect(r.log).toMatchObject({ key: 'logKeys' in options ? 'log-key' : 'record', verified: true });
      }
    }
  });
});

describe('2.1.0 records that must fail', () => {
  const verifier = new Verifier();
  const other = seedSigner(new Uint8Array(32).fill(0x23));

  it('each covered field changed: ERR_HASH_MISMATCH, whether a signature or the proof seals the record', async () => {
    const otherKey = bytesToHex((await other.publicKey()).raw);
    const changes: [string, (r: JsonObject) => void][] = [
      ['timestamp', (r) => (r.timestamp = '2026-11-26T12:00:01.000Z')],
      ['transaction_hash', (r) => (r.transaction_hash = 'f'.repeat(64))],
      ['public_key', (r) => (r.public_key = otherKey)],
      ['payload', (r) => ((r.payload as JsonObject).logs = ['forged'])],
      ['an added member', (r) => (r.note = 'added')],
    ];
    for (const [sealed, rec] of [
      ['signature', signed[1]],
      ['proof', unsigned[1]],
    ] as const) {
      for (const [field, change] of changes) {
        const tampered = JSON.parse(text(rec)) as JsonObject;
        change(tampered);
        const r = await verifier.verify(text(tampered));
        expect(r.valid, `${sealed}: ${field}`).toBe(false);
        expect(r.integrity.hash, `${sealed}: ${field}`).toBe('mismatch');
        expect(codes(r)[0], `${sealed}: ${field}`).toBe('ERR_HASH_MISMATCH');
      }
    }
    const r = await verifier.verify(text({ ...unsigned[1], trace_hash: 'e'.repeat(64) }));
    expect(codes(r)).toEqual(['ERR_HASH_MISMATCH', 'ERR_TLOG_INCLUSION_INVALID']);
  });

  it("another index's proof, a relabelled index, another log's proof: ERR_TLOG_INCLUSION_INVALID", async () => {
    for (const rec of [signed[0]!, unsigned[0]!]) {
      const wrongIndex = { ...rec, log_proof: unsigned[3]!.log_proof };
      expect(codes(await verifier.verify(text(wrongIndex)))).toEqual(['ERR_TLOG_INCLUSION_INVALID']);
      const relabelled = { ...rec, log_proof: rec.log_proof!.replace('index 0\n', 'index 1\n') };
      expect(codes(await verifier.verify(text(relabelled)))).toEqual(['ERR_TLOG_INCLUSION_INVALID']);
    }
    // Same index, same key and origin, a log holding other records.
    const otherLog = await logged(await records(5, other, false), [edNoteSigner(RECORD_SEED)]);
    const swapped = { ...unsigned[2], log_proof: otherLog[2]!.log_proof };
    expect(codes(await verifier.verify(text(swapped)))).toEqual(['ERR_TLOG_INCLUSION_INVALID']);
  });

  it('a checkpoint under another key: unchecked when signed, an error when not', async () => {
    const foreign = await logged(await records(1, seedSigner(RECORD_SEED), false), [edNoteSigner(LOG_SEED)]);
    expect(codes(await verifier.verify(text(foreign[0])))).toEqual(['ERR_LOG_NOT_SIGNED_BY_RECORD_KEY']);
    const swapped = { ...signed[0], log_proof: foreign[0]!.log_proof };
    const r = await verifier.verify(text(swapped));
    expect(codes(r)).toEqual([]);
    expect(warningCodes(r)).toContain('WARN_LOG_PROOF_UNCHECKED');
  });

  it('a checkpoint signature changed after an earlier record verified under it: ERR_NOTE_SIGNATURE_INVALID', async () => {
    const v = new Verifier();
    expect((await v.verify(text(unsigned[0]))).valid).toBe(true);
    const proof = unsigned[1]!.log_proof!;
    const sigAt = proof.lastIndexOf(' ') + 10;
    const flipped = proof.slice(0, sigAt) + (proof[sigAt] === 'A' ? 'B' : 'A') + proof.slice(sigAt + 1);
    expect(codes(await v.verify(text({ ...unsigned[1], log_proof: flipped })))).toEqual(['ERR_NOTE_SIGNATURE_INVALID']);
  });

  it('a truncated or malformed proof, and non-canonical base64, each with its own code', async () => {
    const rec = unsigned[1]!;
    const proof = rec.log_proof!;
    const blank = proof.indexOf('\n\n');
    const hashLine = proof.split('\n')[2]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    // The last character before "=" carries two pad bits: setting one spells the same bytes another way.
    const last = hashLine[42]!;
    const respelled = hashLine.slice(0, 42) + alphabet[alphabet.indexOf(last) | 1] + hashLine.slice(43);
    const cases: [string, string, string][] = [
      ['cut before the checkpoint', proof.slice(0, blank), 'ERR_TLOG_PROOF_MALFORMED'],
      ['cut inside the checkpoint', proof.slice(0, blank + 30), 'ERR_NOTE_MALFORMED'],
      ['a size with a leading zero', proof.replace(`${ORIGIN}\n5\n`, `${ORIGIN}\n05\n`), 'ERR_CHECKPOINT_MALFORMED'],
      ['no signature lines', proof.slice(0, proof.lastIndexOf('\n\n') + 2), 'ERR_NOTE_MALFORMED'],
      ['another header', proof.replace('tlog-proof@v1', 'tlog-proof@v2'), 'ERR_TLOG_PROOF_MALFORMED'],
      ['a respelled hash', proof.replace(hashLine, respelled), 'ERR_TLOG_BASE64_NONCANONICAL'],
      ['an empty proof', '', 'ERR_TLOG_PROOF_MALFORMED'],
    ];
    for (const [what, logProof, code] of cases) {
      const r = await verifier.verify(text({ ...rec, log_proof: logProof }));
      expect(codes(r), what).toEqual([code]);
      expect(r.format, what).toBe('2.1.0');
      expect(isMalformed(r), what).toBe(false);
    }
    expect(respelled).not.toBe(hashLine);
  });

  it('neither signature nor proof: refused as not a record', async () => {
    const { log_proof: _, ...bare } = unsigned[0]!;
    const r = await verifier.verify(text(bare));
    expect(codes(r)).toEqual(['ERR_RECORD_NO_SIGNATURE_OR_PROOF']);
    expect(isMalformed(r)).toBe(true);
  });

  it('an unsigned record under a weak Ed25519 key: ERR_PUBLIC_KEY_WEAK, whatever its proof', async () => {
    const weak = JSON.parse(text(unsigned[0])) as JsonObject;
    weak.public_key = `01${'00'.repeat(31)}`;
    weak.trace_hash = bytesToHex(sha256(hashInputV2_1(weak)));
    expect(codes(await verifier.verify(text(weak)))).toEqual(['ERR_PUBLIC_KEY_WEAK']);
  });

  it('every code these records produce is documented', async () => {
    const results = await verifier.verifyMany(
      [...signed, ...unsigned, { ...unsigned[0], log_proof: 'x' }, { ...unsigned[0], log_proof: undefined }].map(text),
    );
    for (const r of results) {
      for (const c of codes(r)) expect(VERIFY_ERROR_CODES).toContain(c);
      for (const c of warningCodes(r)) expect(VERIFY_WARNING_CODES).toContain(c);
    }
  });
});

describe('the bound on log_proof', () => {
  it("is the log package's own bound on a tlog-proof: core refuses no proof that @erst/tlog accepts", () => {
    expect(MAX_LOG_PROOF_BYTES).toBe(MAX_PROOF_BYTES);
  });
});

describe("a trust file's log_keys", () => {
  it('count as logKeys do: the log key for the origin must have signed the checkpoint', async () => {
    const byLog = await logged(await records(2, seedSigner(RECORD_SEED), true), [edNoteSigner(LOG_SEED)]);
    const trust = parseTrustFile({ log_keys: [LOG_VKEY] });
    expect(trust.logKeys).toEqual([LOG_VKEY]);
    const viaFile = await new Verifier({ trust }).verify(text(byLog[1]));
    expect(codes(viaFile)).toEqual([]);
    expect(viaFile.log).toMatchObject({ key: 'log-key', verified: true, index: 1 });
    // Given both ways (as node-io passes them), the key counts once and the result is the same.
    const both = await new Verifier({ trust, logKeys: [LOG_VKEY] }).verify(text(byLog[1]));
    expect(both.log).toEqual(viaFile.log);
    const wrong = await new Verifier({ trust }).verify(text(signed[1]));
    expect(codes(wrong)).toEqual(['ERR_NOTE_UNVERIFIED']);
  });

  it('a policy made by hand has its logKeys checked: ERR_OPTIONS_INVALID, the key not quoted', () => {
    const policy = { keys: [], attestationRoots: [], requireAttestation: false };
    for (const logKeys of ['x', [42], ['not+a+key']]) {
      const e = thrownError(() => new Verifier({ trust: { ...policy, logKeys: logKeys as string[] } }));
      expect(e?.code).toBe('ERR_OPTIONS_INVALID');
      expect(e?.message).not.toContain('not+a+key');
    }
  });
});

describe('logKeys option', () => {
  it('a key that is not a verifier key string is ERR_OPTIONS_INVALID naming logKeys, without quoting it', () => {
    const secretish = 'not+a+key';
    for (const logKeys of [[secretish], [42], 'x', [RECORD_VKEY.replace(/\+[0-9a-f]{8}\+/, '+00000000+')]]) {
      let err: unknown;
      try {
        new Verifier({ logKeys: logKeys as string[] });
      } catch (e) {
        err = e;
      }
      expect(isErstError(err, 'ERR_OPTIONS_INVALID'), JSON.stringify(logKeys)).toBe(true);
      expect((err as { details: { options: string[] } }).details.options).toEqual(['logKeys']);
      expect((err as Error).message).not.toContain(secretish);
    }
    expect(() => new Verifier({ logKeys: [RECORD_VKEY, LOG_VKEY] })).not.toThrow();
  });
});

describe('verifiedLogs: a log the caller verified whole turns each inclusion proof into a lookup', () => {
  /** The log of `recs` as a caller that read and verified it hands it in: entry i at bytes 32 i. */
  function verifiedLog(recs: readonly AuditRecordV2_1[], vkey: string, size = recs.length) {
    const entries = new Uint8Array(size * 32);
    for (const [i, r] of recs.slice(0, size).entries()) entries.set(hexToBytes(r.trace_hash)!, i * 32);
    return { verifierKey: vkey, size, entries };
  }
  /** The proof with each inclusion hash replaced: still well formed, no longer a path to the root. */
  function scrambled(rec: AuditRecordV2_1): AuditRecordV2_1 {
    const proof = rec.log_proof!;
    const blank = proof.indexOf('\n\n');
    const hashes = proof.slice(0, blank).replace(/^[A-Za-z0-9+/]{43}=$/gm, `${'A'.repeat(42)}E=`);
    return { ...rec, log_proof: hashes + proof.slice(blank) };
  }

  it('a record in the verified log holds by its entry at its index, and an edited proof still fails', async () => {
    const v = new Verifier({ verifiedLogs: [verifiedLog(unsigned, RECORD_VKEY)] });
    for (const rec of unsigned) {
      const r = await v.verify(text(rec));
      expect(codes(r)).toEqual([]);
      // The verified log's key counts as a log key for its origin.
      expect(r.log).toMatchObject({ origin: ORIGIN, key: 'log-key', verified: true });
    }
    // Any change to a record breaks it, in a verifier given the whole log as in one that is not: its neighbours'
    // proofs (authenticated just above) do not let an edited proof through.
    expect(codes(await v.verify(text(scrambled(unsigned[3]!))))).toEqual(['ERR_TLOG_INCLUSION_INVALID']);
    expect(codes(await new Verifier().verify(text(scrambled(unsigned[3]!))))).toEqual(['ERR_TLOG_INCLUSION_INVALID']);
  });

  it("names a verified proof's checkpoint note, and none for a proof that failed", async () => {
    const v = new Verifier({ verifiedLogs: [verifiedLog(unsigned, RECORD_VKEY)] });
    const proof = unsigned[0]!.log_proof!;
    const note = proof.slice(proof.indexOf('\n\n') + 2);
    const notes = [];
    for (const rec of unsigned) notes.push(verifiedCheckpointNote((await v.verify(text(rec))).log!));
    expect(notes).toEqual(unsigned.map(() => note));
    const failed = await v.verify(text(scrambled(unsigned[3]!)));
    expect(failed.log).toMatchObject({ verified: false });
    expect(verifiedCheckpointNote(failed.log!)).toBeUndefined();
    // A report that crossed a structured clone, or was made elsewhere, names none.
    const ok = await v.verify(text(unsigned[2]));
    expect(verifiedCheckpointNote(structuredClone(ok.log!))).toBeUndefined();
  });

  it('a log that holds another entry at the index: ERR_TLOG_INCLUSION_INVALID', async () => {
    // The same key and origin, another history: the caller verified a log in which these records are not.
    const other = await logged(await records(5, seedSigner(new Uint8Array(32).fill(0x24)), false), [
      edNoteSigner(RECORD_SEED),
    ]);
    const v = new Verifier({ verifiedLogs: [verifiedLog(other, RECORD_VKEY)] });
    const r = await v.verify(text(unsigned[2]));
    expect(codes(r)).toEqual(['ERR_TLOG_INCLUSION_INVALID']);
    expect(r.log).toMatchObject({ index: 2, verified: false });
  });

  it('past the verified size, or under a checkpoint the key did not sign, the proof decides as before', async () => {
    const v = new Verifier({ verifiedLogs: [verifiedLog(unsigned, RECORD_VKEY, 3)] });
    expect(codes(await v.verify(text(unsigned[4])))).toEqual([]);
    expect(codes(await v.verify(text(scrambled(unsigned[4]!))))).toEqual(['ERR_TLOG_INCLUSION_INVALID']);
    const byLog = await logged(await records(2, seedSigner(RECORD_SEED), true), [edNoteSigner(LOG_SEED)]);
    expect(codes(await v.verify(text(byLog[0])))).toEqual(['ERR_NOTE_UNVERIFIED']);
  });

  it("the record's checkpoint is still checked: a changed signature fails, an unsigned record needs its key", async () => {
    const proof = unsigned[1]!.log_proof!;
    const sigAt = proof.lastIndexOf(' ') + 10;
    const flipped = proof.slice(0, sigAt) + (proof[sigAt] === 'A' ? 'B' : 'A') + proof.slice(sigAt + 1);
    const v = new Verifier({ verifiedLogs: [verifiedLog(unsigned, RECORD_VKEY)] });
    expect(codes(await v.verify(text({ ...unsigned[1], log_proof: flipped })))).toEqual(['ERR_NOTE_SIGNATURE_INVALID']);
    const byLog = await logged(await records(2, seedSigner(RECORD_SEED), false), [edNoteSigner(LOG_SEED)]);
    const w = new Verifier({ verifiedLogs: [verifiedLog(byLog, LOG_VKEY)] });
    expect(codes(await w.verify(text(byLog[1])))).toEqual(['ERR_LOG_NOT_SIGNED_BY_RECORD_KEY']);
  });

  it('refuses a malformed entry with ERR_OPTIONS_INVALID naming verifiedLogs, without quoting it', () => {
    const good = verifiedLog(unsigned, RECORD_VKEY);
    const bad: unknown[] = [
      'x',
      [null],
      [{ ...good, verifierKey: 'not+a+key' }],
      [{ ...good, verifierKey: 42 }],
      [{ ...good, size: -1 }],
      [{ ...good, size: 1.5 }],
      [{ ...good, entries: good.entries.subarray(1) }],
      [{ ...good, entries: [...good.entries] }],
      [good, verifiedLog(signed, RECORD_VKEY)],
    ];
    for (const verifiedLogs of bad) {
      let err: unknown;
      try {
        new Verifier({ verifiedLogs: verifiedLogs as never });
      } catch (e) {
        err = e;
      }
      expect(isErstError(err, 'ERR_OPTIONS_INVALID'), JSON.stringify(verifiedLogs)).toBe(true);
      expect((err as { details: { options: string[] } }).details.options).toEqual(['verifiedLogs']);
      expect((err as Error).message).not.toContain('not+a+key');
    }
    expect(() => new Verifier({ verifiedLogs: [good], logKeys: [RECORD_VKEY] })).not.toThrow();
  });
});
