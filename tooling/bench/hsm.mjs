#!/usr/bin/env node
// pnpm bench hsm: signing throughput of @erst/signer-pkcs11 on a fresh SoftHSM2 token.
//
//   per_s       gen-payloads records signed end to end through the pooled signer as
//               `erst audit sign --batch` opens it (threads: signing threads make the
//               PKCS#11 calls in batches; core's generateWithSigner does JCS and SHA-256)
//   async_per_s the same with the signer's default mode (C_SignAsync on libuv's pool,
//               C_SignInit on the event loop), what one-off signing uses
//   ceiling     a raw pkcs11js C_SignAsync loop over the same number of sessions,
//               same token and key, same run (no canonicalization or hashing)
//   signer_digests_per_s  the threaded signer on ready digests: its own overhead
//   login_per_signature_per_s   erst's old approach on a subset: open a session,
//               log in, find the key, sign, log out, close, for every record
//   reload_per_signature_per_s  the same plus loading and initializing the module
//               each time (what erst's TypeScript signer did), on a smaller subset
//
//   e2e: the built `erst audit sign --batch --hsm-provider pkcs11` process, spawn to
//               exit (the token's Ed25519 key signs on the threads that build the
//               records, a session each: Pkcs11Signer.threadSigning), on --e2e-records
//               (default 20,000: the count issue 14's table measures SoftHSM at; at
//               5,000 the process's start-up weighs four times as much per record)
//               gen-payloads records (`gen_*`) and records the
//               size of examples/sample-simulation.json (`sample_*`), to a .jsonl
//               (`*_jsonl_ratio`: to the raw C_SignAsync ceiling, same run, target 0.7)
//               and to a directory (`*_dir_ratio`: to a plain loop writing, fsyncing and
//               renaming as many files of the same sizes on the whole thread pool, then
//               fsyncing the directory; `*_dir_sign_ratio`: to the C_SignAsync ceiling)
//
// Usage: node tooling/bench/hsm.mjs [--records 10000] [--rounds 5] [--algorithm ed25519|ecdsa-p256]
//                                   [--pool N] [--callers 32] [--login-subset 500] [--reload-subset 100]
//                                   [--e2e-records 20000] [--e2e-rounds 3]
// Each round signs all records both ways in alternating slices (the machine is
// shared, so background load falls on both alike). per_s and ceiling_per_s are
// medians over rounds; ratio is the median of the rounds' paired ratios.
// Prints one line per round, then the result as JSON on the last line.
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  directoryCeilingMs,
  fileSizes,
  median,
  payloads,
  ratioFields,
  report,
  samplePayloads,
  timeErst,
  writeBatchInput,
} from './lib.mjs';
import { MODULE, findKey, freshToken, openCeiling } from './softhsm.mjs';

const { values: opts } = parseArgs({
  options: {
    records: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '5' },
    algorithm: { type: 'string', default: 'ed25519' },
    pool: { type: 'string' },
    callers: { type: 'string', default: '32' },
    'login-subset': { type: 'string', default: '500' },
    'reload-subset': { type: 'string', default: '100' },
    'e2e-records': { type: 'string', default: '20000' },
    'e2e-rounds': { type: 'string', default: '3' },
  },
});
const RECORDS = Number(opts.records);
// Records in flight at once: erst audit sign --batch's default --concurrency.
const CALLERS = Number(opts.callers);
const ROUNDS = Number(opts.rounds);
const LOGIN_SUBSET = Math.min(RECORDS, Number(opts['login-subset']));
const RELOAD_SUBSET = Math.min(RECORDS, Number(opts['reload-subset']));

const { dir, base, lib, core, pkcs11js, key, mech: MECH } = await freshToken(opts.algorithm);
const { pin: PIN, tokenLabel: LABEL } = base;
const POOL = opts.pool ? Number(opts.pool) : lib.defaultPoolSize();

const docs = payloads(RECORDS);
console.log(`bench hsm: ${docs.length} records, ${opts.algorithm} key on SoftHSM, ${POOL} sessions, ${ROUNDS} rounds`);

const rate = (n, t0) => n / ((performance.now() - t0) / 1000);

function rawModule() {
  const p11 = new pkcs11js.PKCS11();
  p11.load(MODULE);
  p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === LABEL);
  return { p11, slot };
}

/** The pooled signer, end to end: records built, canonicalized, hashed and signed. */
function pooledRunner(signer) {
  let bytes = 0;
  return {
    async run(from, to) {
      let next = from;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CALLERS }, async () => {
          while (next < to) {
            const d = docs[next++];
            const rec = await core.generateWithSigner(
              signer,
              { transactionHash: d.transaction_hash, payload: d.payload },
              { attestation: null },
            );
            bytes += rec.signature.length;
          }
        }),
      );
      return performance.now() - t0;
    },
    check(n) {
      if (bytes !== n * 128) throw new Error('a signature went missing');
    },
  };
}

/** The pooled signer alone, on ready digests: what the signer itself costs over the raw loop. */
function digestRunner(signer) {
  const digests = Array.from({ length: 256 }, (_, i) => core.sha256(Buffer.from(`signer ${i}`)));
  return async (count) => {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        while (next < count) await signer.sign(digests[next++ & 255]);
      }),
    );
    return performance.now() - t0;
  };
}

// The machine is shared: run both sides in alternating slices of the same
// round, so that background load falls on both alike.
const SLICES = 10;
async function round(n) {
  const signer = await lib.openPkcs11Signer({ ...base, keyId: 'be01', poolSize: POOL, threads: true });
  const asyncSigner = await lib.openPkcs11Signer({ ...base, keyId: 'be01', poolSize: POOL });
  // Warm up as the ceiling is (its sessions are open before timing): the
  // first-signature self-check, then a burst that opens the pool's sessions
  // and starts the signing threads.
  for (const s of [signer, asyncSigner]) {
    await s.sign(core.sha256(Buffer.from('warm up')));
    await Promise.all(Array.from({ length: CALLERS * 2 }, (_, i) => s.sign(core.sha256(Buffer.from(`warm up ${i}`)))));
  }
  const ceilingSide = openCeiling({ pkcs11js, core, label: LABEL, mech: MECH, sessions: POOL });
  const pooledSide = pooledRunner(signer);
  const asyncSide = pooledRunner(asyncSigner);
  const digestSide = digestRunner(signer);
  let tCeiling = 0;
  let tPooled = 0;
  let tAsync = 0;
  let tDigests = 0;
  try {
    for (let i = 0; i < SLICES; i++) {
      const from = Math.floor((i * docs.length) / SLICES);
      const to = Math.floor(((i + 1) * docs.length) / SLICES);
      if ((i + n) % 2) {
        tCeiling += await ceilingSide.run(to - from);
        tPooled += await pooledSide.run(from, to);
      } else {
        tPooled += await pooledSide.run(from, to);
        tCeiling += await ceilingSide.run(to - from);
      }
      tAsync += await asyncSide.run(from, to);
      tDigests += await digestSide(to - from);
    }
    pooledSide.check(docs.length);
    asyncSide.check(docs.length);
  } finally {
    ceilingSide.close();
    await signer.close();
    await asyncSigner.close();
  }
  const per = (t) => docs.length / (t / 1000);
  return { ceiling: per(tCeiling), pooled: per(tPooled), async: per(tAsync), digests: per(tDigests) };
}

/** erst's old way: a session and a login for every signature (optionally a module load too). */
async function perSignature(count, reload) {
  const shared = reload ? undefined : rawModule();
  const signOnce = async (digest) => {
    const { p11, slot } = shared ?? rawModule();
    const s = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    p11.C_Login(s, pkcs11js.CKU_USER, PIN);
    p11.C_SignInit(s, MECH, findKey(pkcs11js, p11, s));
    const sig = await p11.C_SignAsync(s, Buffer.from(digest), Buffer.alloc(72));
    p11.C_Logout(s);
    p11.C_CloseSession(s);
    if (!shared) {
      p11.C_Finalize();
      p11.close();
    }
    return new Uint8Array(sig);
  };
  const signer = { algorithm: key.algorithm, publicKey: async () => key.publicKey, sign: signOnce };
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const d = docs[i];
    await core.generateWithSigner(
      signer,
      { transactionHash: d.transaction_hash, payload: d.payload },
      { attestation: null },
    );
  }
  const r = rate(count, t0);
  if (shared) {
    shared.p11.C_Finalize();
    shared.p11.close();
  }
  return r;
}

/**
 * `erst audit sign --batch` on the token, end to end, against the raw
 * C_SignAsync ceiling and the directory ceiling, alternating in each round.
 */
async function endToEnd(records, rounds) {
  const pinFile = join(dir, 'pin');
  writeFileSync(pinFile, PIN);
  chmodSync(pinFile, 0o600);
  const token = ['--hsm-provider', 'pkcs11', '--pkcs11-module', MODULE, '--token-label', LABEL, '--pin-file', pinFile];
  const signer = [...token, '--key-id', 'be01', '--quiet'];
  const out = {};
  for (const [kind, kindDocs] of [
    ['gen', payloads(records)],
    ['sample', samplePayloads(records)],
  ]) {
    const input = join(dir, `${kind}.jsonl`);
    writeBatchInput(input, kindDocs);
    const r = { ceiling: [], jsonl: [], dir: [], dirCeiling: [] };
    for (let i = 0; i < rounds; i++) {
      // No signer is open in this process now: the ceiling's handle logs in itself.
      const ceilingSide = openCeiling({ pkcs11js, core, label: LABEL, mech: MECH, sessions: POOL, pin: PIN });
      try {
        r.ceiling.push(records / ((await ceilingSide.run(records)) / 1000));
      } finally {
        ceilingSide.close();
      }
      const jsonl = join(dir, 'out.jsonl');
      r.jsonl.push(records / ((await timeErst(['audit', 'sign', '--batch', input, '--out', jsonl, ...signer])) / 1000));
      rmSync(jsonl, { force: true });
      const outDir = join(dir, 'out');
      r.dir.push(
        records / ((await timeErst(['audit', 'sign', '--batch', input, '--out-dir', outDir, ...signer])) / 1000),
      );
      const sizes = fileSizes(outDir);
      if (sizes.length !== records) throw new Error(`erst wrote ${sizes.length} files for ${records} records`);
      rmSync(outDir, { recursive: true, force: true });
      const plain = join(dir, 'plain');
      r.dirCeiling.push(records / ((await directoryCeilingMs(plain, sizes)) / 1000));
      rmSync(plain, { recursive: true, force: true });
    }
    const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)]));
    out[kind] = m;
    console.log(`erst audit sign --batch on SoftHSM, ${records} ${kind} records, medians of ${rounds} rounds:`);
    console.log(`  raw C_SignAsync ceiling, ${POOL} sessions: ${m.ceiling.toFixed(0)}/s`);
    console.log(
      `  to .jsonl:      ${m.jsonl.toFixed(0)}/s (${(m.jsonl / m.ceiling).toFixed(3)} of the ceiling; target 0.7)`,
    );
    console.log(
      `  directory ceiling (write + fsync + rename on the thread pool, dir fsync): ${m.dirCeiling.toFixed(0)}/s`,
    );
    console.log(
      `  to a directory: ${m.dir.toFixed(0)}/s (${(m.dir / m.dirCeiling).toFixed(3)} of the directory ceiling; ${(m.dir / m.ceiling).toFixed(3)} of C_SignAsync)`,
    );
  }
  return out;
}

const results = { ceiling: [], pooled: [], async: [], digests: [], login: [], reload: [] };
let e2e = {};
try {
  for (let i = 1; i <= ROUNDS; i++) {
    const r = await round(i);
    results.ceiling.push(r.ceiling);
    results.pooled.push(r.pooled);
    results.async.push(r.async);
    results.digests.push(r.digests);
    results.login.push(await perSignature(LOGIN_SUBSET, false));
    results.reload.push(await perSignature(RELOAD_SUBSET, true));
    const [c, p, a, d, l, rl] = ['ceiling', 'pooled', 'async', 'digests', 'login', 'reload'].map((k) =>
      Math.round(results[k].at(-1)),
    );
    console.log(
      `round ${i}: threaded signer ${p} records/s, raw C_SignAsync ceiling ${c}/s (ratio ${(p / c).toFixed(3)}), C_SignAsync signer ${a}/s (${(a / c).toFixed(3)}), threaded signer on ready digests ${d}/s, login per signature ${l}/s, reload per signature ${rl}/s`,
    );
  }
  e2e = await endToEnd(Number(opts['e2e-records']), Number(opts['e2e-rounds']));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const e2eFields = {};
for (const [kind, m] of Object.entries(e2e)) {
  e2eFields[`${kind}_ceiling_per_s`] = Math.round(m.ceiling);
  Object.assign(e2eFields, ratioFields(`${kind}_jsonl`, m.jsonl, m.ceiling));
  e2eFields[`${kind}_dir_ceiling_per_s`] = Math.round(m.dirCeiling);
  Object.assign(e2eFields, ratioFields(`${kind}_dir`, m.dir, m.dirCeiling));
  e2eFields[`${kind}_dir_sign_ratio`] = Number((m.dir / m.ceiling).toFixed(3));
}

const perS = median(results.pooled);
const ceilingPerS = median(results.ceiling);
report({
  bench: 'hsm',
  records: docs.length,
  per_s: Math.round(perS),
  ceiling_per_s: Math.round(ceilingPerS),
  ratio: Number(median(results.pooled.map((p, i) => p / results.ceiling[i])).toFixed(3)),
  ...ratioFields('async', median(results.async), ceilingPerS),
  signer_digests_per_s: Math.round(median(results.digests)),
  login_per_signature_per_s: Math.round(median(results.login)),
  reload_per_signature_per_s: Math.round(median(results.reload)),
  login_subset: LOGIN_SUBSET,
  reload_subset: RELOAD_SUBSET,
  algorithm: opts.algorithm,
  sessions: POOL,
  callers: CALLERS,
  rounds: ROUNDS,
  e2e_records: Number(opts['e2e-records']),
  e2e_rounds: Number(opts['e2e-rounds']),
  ...e2eFields,
});
