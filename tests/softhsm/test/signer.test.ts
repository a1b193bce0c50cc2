import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { jsonlSink, signBatch } from '@erst/batch-sign';
import {
  type Signer,
  bytesToHex,
  generateWithSigner,
  parseSignDocument,
  parseStrictJson,
  publicKeyToPem,
  sha256,
} from '@erst/core';
import {
  type Pkcs11Config,
  type Pkcs11Signer,
  generateTokenKeyPair,
  hsmInfo,
  openPkcs11Signer,
  pkcs11ConfigFromEnv,
} from '@erst/signer-pkcs11';
import { verifyAuditLog } from '@erst/verify';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import pkcs11js from 'pkcs11js';
import { afterAll, describe, expect, it } from 'vitest';
import { addToken, createSoftHsm, findOne, rawToken } from './softhsm.js';

const hsm = createSoftHsm('signer-tests');
addToken(hsm, 'second token');
const base: Pkcs11Config = { module: hsm.module, tokenLabel: hsm.label, pin: hsm.pin };
const ed = await generateTokenKeyPair({ ...base, label: 'ed', id: '0e01', algorithm: 'ed25519' });
const ec = await generateTokenKeyPair({ ...base, label: 'p256', id: '0e02', algorithm: 'ecdsa-p256' });
const piv = await generateTokenKeyPair({ ...base, label: 'piv 9c', pivSlot: '9c', algorithm: 'ed25519' });

const open: Signer[] = [];
async function signer(config: Pkcs11Config): Promise<Pkcs11Signer> {
  const s = await openPkcs11Signer({ ...base, ...config });
  open.push(s);
  return s;
}
afterAll(async () => {
  for (const s of open) await s.close?.();
});

// Session states (PKCS#11 CK_STATE); pkcs11js does not export them.
const CKS_RO_PUBLIC_SESSION = 0;
const CKS_RO_USER_FUNCTIONS = 1;

const digest = (i: number | string) => sha256(new TextEncoder().encode(`digest ${i}`));
function verifies(alg: string, pub: Uint8Array, d: Uint8Array, sig: Uint8Array): boolean {
  return alg === 'ed25519'
    ? ed25519.verify(sig, d, pub, { zip215: false })
    : p256.verify(sig, d, pub, { prehash: false, lowS: true });
}

/** `count` signatures from `callers` concurrent loops; `during(n)` runs after the n-th completes. */
async function signMany(s: Signer, count: number, callers: number, during?: (done: number) => void) {
  const results = new Map<number, Uint8Array>();
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < count) {
        const i = next++;
        results.set(i, await s.sign(digest(i)));
        during?.(++done);
      }
    }),
  );
  return results;
}

describe('finding the token and the key', () => {
  it('reads the public key from the token, by label, by CKA_ID and by PIV slot', async () => {
    expect(bytesToHex((await (await signer({ keyLabel: 'ed' })).publicKey()).raw)).toBe(bytesToHex(ed.publicKey.raw));
    expect(bytesToHex((await (await signer({ keyId: '0e02' })).publicKey()).raw)).toBe(bytesToHex(ec.publicKey.raw));
    const byPiv = await signer({ pivSlot: '9c' });
    expect(piv.id).toBe('02');
    expect(bytesToHex((await byPiv.publicKey()).raw)).toBe(bytesToHex(piv.publicKey.raw));
    expect(byPiv.key).toEqual({ label: 'piv 9c', id: '02' });
  });

  it('takes the algorithm from the key and reports the token', async () => {
    const s = await signer({ keyLabel: 'p256' });
    expect(s.algorithm).toBe('ecdsa-p256');
    expect(s.tokenLabel).toBe(hsm.label);
    expect(s.tokenInfo).toMatch(/^signer-tests SoftHSM v2 #[0-9a-f]+ \(SoftHSM project\)$/);
  });

  it('matches token labels without their blank padding, and selects by slot index', async () => {
    const padded = await signer({ tokenLabel: `${hsm.label}      `, keyLabel: 'ed' });
    expect(padded.tokenLabel).toBe(hsm.label);
    const info = await hsmInfo({ module: hsm.module });
    const index = info.slots.find((s) => s.token?.label === hsm.label)!.index;
    const bySlot = await signer({ tokenLabel: undefined, slot: index, keyLabel: 'ed' });
    expect(bySlot.tokenLabel).toBe(hsm.label);
  });

  it('works from the ERST_PKCS11_* variables alone', async () => {
    const config = pkcs11ConfigFromEnv({ ...hsm.env, ERST_PKCS11_KEY_ID: '0e01', ERST_PKCS11_ALGORITHM: 'ed25519' });
    const s = await openPkcs11Signer(config);
    open.push(s);
    expect(bytesToHex((await s.publicKey()).raw)).toBe(bytesToHex(ed.publicKey.raw));
  });

  it('names the choices when a token or key is ambiguous or missing', async () => {
    await expect(openPkcs11Signer({ ...base, tokenLabel: undefined, keyLabel: 'ed' })).rejects.toMatchObject({
      code: 'ERR_PKCS11_TOKEN_NOT_FOUND',
      message: expect.stringContaining('"second token"'),
    });
    await expect(openPkcs11Signer({ ...base, keyLabel: undefined })).rejects.toMatchObject({
      code: 'ERR_PKCS11_KEY_NOT_FOUND',
      message: expect.stringMatching(/"ed" \(ID 0e01\) ed25519.*|.*"ed" \(ID 0e01\)/),
    });
    await expect(openPkcs11Signer({ ...base, keyLabel: 'ed', keyId: '0e02' })).rejects.toMatchObject({
      code: 'ERR_PKCS11_KEY_NOT_FOUND',
    });
    await expect(openPkcs11Signer({ ...base, keyLabel: 'ed', slot: 99, tokenLabel: undefined })).rejects.toMatchObject({
      code: 'ERR_PKCS11_TOKEN_NOT_FOUND',
    });
  });

  it('checks ERST_PKCS11_PUBLIC_KEY_PEM against the token key', async () => {
    const ok = await signer({ keyLabel: 'ed', publicKeyPem: publicKeyToPem(ed.publicKey) });
    expect(bytesToHex((await ok.publicKey()).raw)).toBe(bytesToHex(ed.publicKey.raw));
    await expect(
      openPkcs11Signer({ ...base, keyLabel: 'ed', publicKeyPem: publicKeyToPem(piv.publicKey) }),
    ).rejects.toMatchObject({
      code: 'ERR_PKCS11_KEY_MISMATCH',
    });
    await expect(
      openPkcs11Signer({ ...base, keyLabel: 'ed', publicKeyPem: publicKeyToPem(ec.publicKey) }),
    ).rejects.toMatchObject({
      code: 'ERR_PKCS11_KEY_MISMATCH',
    });
  });

  it('refuses a key of another algorithm than the one asked for', async () => {
    await expect(openPkcs11Signer({ ...base, keyLabel: 'p256', algorithm: 'ed25519' })).rejects.toMatchObject({
      code: 'ERR_PKCS11_KEY_MISMATCH',
    });
  });
});

describe('PIN handling', () => {
  it('reports a wrong PIN, and keeps it out of the message, details and cause', async () => {
    for (const s of open.splice(0)) await s.close?.();
    const wrong = 'Wr0ng-PIN-31337';
    const error = await openPkcs11Signer({ ...base, keyLabel: 'ed', pin: wrong }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PKCS11_PIN_INCORRECT' });
    // SoftHSM raises CKF_USER_PIN_COUNT_LOW after a wrong PIN; the error says so.
    expect((error as { details: { pin_count_low: boolean } }).details.pin_count_low).toBe(true);
    const everything = [
      inspect(error, { depth: 10, showHidden: true }),
      JSON.stringify(error),
      String((error as Error).cause),
    ].join('\n');
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain(hsm.pin);
  });

  it('refuses a wrong PIN even while another signer in the process is logged in', async () => {
    const first = await signer({ keyLabel: 'ed' });
    await expect(openPkcs11Signer({ ...base, keyLabel: 'p256', pin: 'another-PIN' })).rejects.toMatchObject({
      code: 'ERR_PKCS11_PIN_INCORRECT',
    });
    const second = await signer({ keyLabel: 'p256' });
    expect(second.algorithm).toBe('ecdsa-p256');
    await first.close();
  });

  it('says where to put the PIN when there is none', async () => {
    await expect(openPkcs11Signer({ ...base, keyLabel: 'ed', pin: undefined })).rejects.toMatchObject({
      code: 'ERR_PKCS11_PIN_MISSING',
    });
  });

  it('logs in once for thousands of signatures', async () => {
    const s = await signer({ keyLabel: 'ed', poolSize: 4 });
    const sigs = await signMany(s, 2000, 16);
    expect(sigs.size).toBe(2000);
    expect(s.stats()).toMatchObject({ signatures: 2000, recoveries: 0, poolSize: 4 });
    expect(s.stats().openSessions).toBeLessThanOrEqual(4);
  });
});

// Each mode of signing: C_SignAsync on libuv's pool (the default), and
// batches on the signer's own threads (`threads`, for bulk signing).
const MODES = [
  ['C_SignAsync', false],
  ['signing threads', true],
] as const;

describe('concurrency', () => {
  for (const [label, key, [mode, threads]] of [
    ['ed', ed, MODES[0]],
    ['p256', ec, MODES[0]],
    ['ed', ed, MODES[1]],
    ['p256', ec, MODES[1]],
  ] as const) {
    it(`${key.algorithm}, ${mode}: 500 signatures from 8 concurrent callers all verify, none lost or duplicated`, async () => {
      const s = await signer({ keyLabel: label, threads });
      const sigs = await signMany(s, 500, 8);
      expect([...sigs.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
      expect(new Set([...sigs.values()].map(bytesToHex)).size).toBe(500);
      for (const [i, sig] of sigs)
        expect(verifies(key.algorithm, key.publicKey.raw, digest(i), sig), `signature ${i}`).toBe(true);
      if (key.algorithm === 'ecdsa-p256') {
        for (const sig of sigs.values()) expect(p256.Signature.fromBytes(sig, 'compact').hasHighS()).toBe(false);
      }
      expect(s.stats().signingThreads > 0).toBe(threads);
      expect(s.stats().signingThreads).toBeLessThanOrEqual(s.stats().poolSize);
    });
  }

  it('two signers on one token in one process: closing one leaves the other working', async () => {
    const a = await openPkcs11Signer({ ...base, keyLabel: 'ed' });
    const b = await openPkcs11Signer({ ...base, keyLabel: 'p256' });
    await a.close();
    const sig = await b.sign(digest('after a closed'));
    expect(verifies('ecdsa-p256', ec.publicKey.raw, digest('after a closed'), sig)).toBe(true);
    await b.close();
  });
});

describe.each(MODES)('a session lost under the signer (%s)', (_mode, threads) => {
  const { p11, slot, session } = rawToken(hsm);

  it('is logged back in when the token logs out mid-run (signatures in flight), with no signature lost', async () => {
    const s = await signer({ keyLabel: 'ed', poolSize: 4, threads });
    let sabotaged = false;
    const sigs = await signMany(s, 300, 8, (done) => {
      if (done === 100 && !sabotaged) {
        sabotaged = true;
        p11.C_Logout(session());
      }
    });
    expect(sabotaged).toBe(true);
    expect(sigs.size).toBe(300);
    for (const [i, sig] of sigs)
      expect(verifies('ed25519', ed.publicKey.raw, digest(i), sig), `signature ${i}`).toBe(true);
    expect(s.stats()).toMatchObject({ signatures: 300 });
    expect(s.stats().recoveries).toBeGreaterThanOrEqual(1);
  });

  // SoftHSM frees a session that C_CloseAllSessions closes even while another
  // thread is inside C_Sign on it (and crashes), so close them between two
  // halves of the run, the way a network HSM drops idle sessions.
  it('is reopened when all its sessions are closed mid-run, with no signature lost', async () => {
    const s = await signer({ keyLabel: 'p256', poolSize: 4, threads });
    const first = await signMany(s, 100, 8);
    expect(s.stats().openSessions).toBe(4);
    p11.C_CloseAllSessions(slot);
    const second = await signMany(s, 200, 8);
    expect(first.size + second.size).toBe(300);
    for (const [i, sig] of second)
      expect(verifies('ecdsa-p256', ec.publicKey.raw, digest(i), sig), `signature ${i}`).toBe(true);
    expect(s.stats()).toMatchObject({ signatures: 300, recoveries: 1 });
  });

  it('recovers between runs too (an idle signer whose login timed out)', async () => {
    const s = await signer({ keyLabel: 'p256', threads });
    await s.sign(digest('before'));
    p11.C_CloseAllSessions(slot);
    const sig = await s.sign(digest('after'));
    expect(verifies('ecdsa-p256', ec.publicKey.raw, digest('after'), sig)).toBe(true);
    expect(s.stats().recoveries).toBe(1);
  });

  it('fails with ERR_PKCS11_SESSION, naming the cause, when logging back in fails', async () => {
    const s = await signer({ keyLabel: 'ed', threads });
    await s.sign(digest('before'));
    const admin = session();
    p11.C_SetPIN(admin, hsm.pin, 'changed-PIN-55');
    try {
      p11.C_CloseAllSessions(slot);
      const error = await s.sign(digest('after')).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_PKCS11_SESSION', cause: { code: 'ERR_PKCS11_PIN_INCORRECT' } });
      expect(inspect(error, { depth: 10 })).not.toContain(hsm.pin);
      // It does not try the refused PIN again (that would lock a real token).
      const flagsBefore = p11.C_GetTokenInfo(slot).flags;
      await expect(s.sign(digest('again'))).rejects.toBe(error);
      expect(p11.C_GetTokenInfo(slot).flags).toBe(flagsBefore);
    } finally {
      const s2 = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      p11.C_Login(s2, pkcs11js.CKU_USER, 'changed-PIN-55');
      p11.C_SetPIN(s2, 'changed-PIN-55', hsm.pin);
      p11.C_CloseSession(s2);
    }
  });
});

describe('self-check of the first signature', () => {
  let victim: Awaited<ReturnType<typeof generateTokenKeyPair>> | undefined;
  it.each(MODES)(
    'fails at once when the token public key is not the private key, and keeps failing (%s)',
    async (_mode, threads) => {
      victim ??= await replacePublicKey();
      const signerWithWrongKey = await signer({ keyLabel: 'victim', threads });
      expect(bytesToHex((await signerWithWrongKey.publicKey()).raw)).not.toBe(bytesToHex(victim.publicKey.raw));
      await expect(
        generateWithSigner(
          signerWithWrongKey,
          { transactionHash: 'ab'.repeat(32), payload: { a: 1 } },
          { attestation: null },
        ),
      ).rejects.toMatchObject({ code: 'ERR_SIGNER_SELF_CHECK' });
      await expect(signerWithWrongKey.sign(digest(1))).rejects.toMatchObject({ code: 'ERR_SIGNER_SELF_CHECK' });
      // Many at once: none of them gets a signature the key does not verify.
      const burst = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => signerWithWrongKey.sign(digest(`burst ${i}`))),
      );
      expect(
        burst.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_SIGNER_SELF_CHECK'),
      ).toBe(true);
    },
  );

  /** A key pair 'victim' whose public-key object holds another key's point. */
  async function replacePublicKey() {
    const made = await generateTokenKeyPair({ ...base, label: 'victim', id: '0e10', algorithm: 'ed25519' });
    const { p11, session } = rawToken(hsm);
    const s = session();
    // Replace the victim's public-key object with one holding another key's point.
    p11.C_DestroyObject(
      s,
      findOne(p11, s, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
        { type: pkcs11js.CKA_LABEL, value: 'victim' },
      ]),
    );
    p11.C_CreateObject(s, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: 0x40 },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: 'victim' },
      { type: pkcs11js.CKA_ID, value: Buffer.from('0e10', 'hex') },
      { type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from('130c656477617264733235353139', 'hex') },
      { type: pkcs11js.CKA_EC_POINT, value: Buffer.concat([Buffer.from([4, 32]), Buffer.from(ed.publicKey.raw)]) },
    ]);
    p11.C_CloseSession(s);
    return made;
  }
});

describe('close()', () => {
  it.each(MODES)(
    'waits for signatures in flight, then refuses new ones; twice is fine (%s)',
    async (_mode, threads) => {
      const s = await openPkcs11Signer({ ...base, keyLabel: 'ed', threads });
      const inflight = Array.from({ length: 50 }, (_, i) => s.sign(digest(i)));
      const closed = s.close();
      const sigs = await Promise.all(inflight);
      await closed;
      await s.close();
      expect(sigs).toHaveLength(50);
      await expect(s.sign(digest(0))).rejects.toMatchObject({ code: 'ERR_SIGNER_CLOSED' });
    },
  );

  it.each(MODES)('logs out of the token (%s)', async (_mode, threads) => {
    for (const s of open.splice(0)) await s.close?.();
    const s = await openPkcs11Signer({ ...base, keyLabel: 'ed', threads });
    await s.sign(digest('before logout'));
    const { p11, slot } = rawToken(hsm);
    const probe = () => {
      const h = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
      const state = p11.C_GetSessionInfo(h).state;
      p11.C_CloseSession(h);
      return state;
    };
    expect(probe()).toBe(CKS_RO_USER_FUNCTIONS);
    await s.close();
    expect(probe()).toBe(CKS_RO_PUBLIC_SESSION);
  });
});

describe('records', () => {
  it('signs 2.0.0 and 1.1.0 records that verify with the token key pinned, without an attestation when the token has none', async () => {
    const s = await signer({ keyLabel: 'ed' });
    expect(await s.attestation()).toBeUndefined();
    const payload = { envelope_xdr: 'AAAA', result_meta_xdr: 'AAAA', events: ['e'], logs: null };
    for (const schema of ['2.0.0', '1.1.0'] as const) {
      const record = await generateWithSigner(s, { transactionHash: 'cd'.repeat(32), payload }, { schema });
      expect(record.hardware_attestation).toBeUndefined();
      const result = await verifyAuditLog(JSON.stringify(record), { publicKeys: [bytesToHex(ed.publicKey.raw)] });
      expect(result.errors).toEqual([]);
      expect(result).toMatchObject({ valid: true, trust: 'pinned', format: schema });
    }
  });
});

describe('signing on threads (threadSigning, what batch signing uses)', () => {
  it('gives each thread a session of its own; the threads write exactly the bytes the signer would, and close() waits for release', async () => {
    const s = await openPkcs11Signer({ ...base, keyLabel: 'ed', threads: true });
    const dir = mkdtempSync(join(tmpdir(), 'erst-thread-signing-'));
    try {
      const input = join(dir, 'in.jsonl');
      const doc = (i: number, payload: string) =>
        `{"transaction_hash":"${i.toString(16).padStart(64, '0')}","payload":${payload}}`;
      const lines = Array.from({ length: 300 }, (_, i) =>
        doc(
          i + 1,
          `{"envelope_xdr":"AAAA","n":${i},"big":9007199254740991,"f":1E+21,"g":-0.5e-3,"__proto__":{"x":"\\u00e9\\n"}}`,
        ),
      );
      writeFileSync(input, `${lines.join('\r\n')}\r\n`);
      const out = join(dir, 'out.jsonl');
      const r = await signBatch({ signer: s, input, output: jsonlSink(out), threads: { count: 2, minInputBytes: 0 } });
      expect(r.badLines.slice(0, 1)).toEqual([]);
      expect(r).toMatchObject({ signed: 300, bad: 0 });
      // The signer signed only its self-check: every record was signed on a thread (or on the batch's own thread).
      expect(s.stats().signatures).toBe(1);
      expect(s.stats().signingThreads).toBe(0);
      const written = readFileSync(out, 'utf8').trimEnd().split('\n');
      // Ed25519 is deterministic: the one-record path, at each record's own time, gives the same bytes.
      for (const [i, l] of written.entries()) {
        const { timestamp } = JSON.parse(l) as { timestamp: string };
        // Read as the batch reads a line (core's parser: big numbers and __proto__ kept exactly).
        const document = parseSignDocument(parseStrictJson(Buffer.from(lines[i]!)));
        const slow = await generateWithSigner(s, document, { now: () => new Date(timestamp) });
        expect(l).toBe(JSON.stringify(slow));
      }
      const result = await verifyAuditLog(written[0]!, { publicKeys: [bytesToHex(ed.publicKey.raw)] });
      expect(result).toMatchObject({ valid: true, trust: 'pinned' });

      // Sessions handed to threads keep the signer busy: close() waits until they are given back.
      const signing = (await s.threadSigning(2))!;
      expect(signing.data).toHaveLength(2);
      let closed = false;
      const closing = s.close().then(() => {
        closed = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(closed).toBe(false);
      await signing.release();
      await closing;
      expect(closed).toBe(true);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is not offered for an ECDSA key (its signatures are normalized by the signer): batches sign line by line', async () => {
    const s = await signer({ keyLabel: 'p256' });
    expect(await s.threadSigning(2)).toBeUndefined();
  });
});
