#!/usr/bin/env node
// pnpm bench sign [--records N] [--rounds R]
// Ceiling: SHA-256 over each record's canonical bytes plus one native Ed25519
// sign with a cached key, same payloads, same run. Measured:
// generateWithSigner with InMemorySigner (builds the record, JCS, hash, sign).
import { createHash, createPrivateKey, sign as nodeSign } from 'node:crypto';
import { benchArgs, importPackage, payloads, rate, ratioFields, report, testSigner } from './lib.mjs';

const { N, ROUNDS } = benchArgs();
const core = await importPackage('@erst/core');
const { keyPem, signer } = await testSigner();
const key = createPrivateKey(keyPem);
const docs = payloads(N);
const enc = new TextEncoder();
const now = () => new Date('2026-11-26T12:00:00.000Z');

// Ceiling inputs: the canonical bytes of each unsigned record, prepared untimed.
const prepared = [];
for (const d of docs) {
  const rec = await core.generateWithSigner(signer, { transactionHash: d.transaction_hash, payload: d.payload }, { attestation: null, now });
  const { trace_hash, signature, ...rest } = rec;
  prepared.push(enc.encode(core.canonicalize(rest)));
}
const ceiling = await rate(N, ROUNDS, () => {
  for (const bytes of prepared) nodeSign(null, createHash('sha256').update(bytes).digest(), key);
});
const { ThreadedSigner } = await importPackage('@erst/signer-memory');
const signWith = (s) => (d) => core.generateWithSigner(s, { transactionHash: d.transaction_hash, payload: d.payload }, { attestation: null, now });
// As `erst audit sign --batch` runs: a window of records in flight, so the
// main thread canonicalizes and hashes while signatures are made elsewhere.
const WINDOW = 32;
const windowed = (sign) => async () => {
  const inFlight = [];
  for (const d of docs) {
    inFlight.push(sign(d));
    if (inFlight.length >= WINDOW) await inFlight.shift();
  }
  await Promise.all(inFlight);
};
const threaded = await ThreadedSigner.from(signer);
const ours = await rate(N, ROUNDS, windowed(signWith(threaded)));
await threaded.close();
const pool = await rate(N, ROUNDS, windowed(signWith(signer)));
const oneAtATime = await rate(N, ROUNDS, async () => {
  for (const d of docs) await signWith(signer)(d);
});
console.log(`records: ${N} x ${ROUNDS} rounds`);
console.log(`ceiling (sha256 + native Ed25519 sign, cached key, one thread):  ${ceiling.toFixed(0)}/s`);
console.log(`ThreadedSigner (what erst audit sign --batch uses), ${WINDOW} in flight: ${ours.toFixed(0)}/s`);
console.log(`InMemorySigner (libuv pool), ${WINDOW} in flight:                  ${pool.toFixed(0)}/s`);
console.log(`InMemorySigner, one record at a time:                        ${oneAtATime.toFixed(0)}/s`);
report({
  bench: 'sign',
  records: N,
  per_s: Math.round(ours),
  ceiling_per_s: Math.round(ceiling),
  ratio: Number((ours / ceiling).toFixed(3)),
  ...ratioFields('pool', pool, ceiling),
  ...ratioFields('sequential', oneAtATime, ceiling),
});
