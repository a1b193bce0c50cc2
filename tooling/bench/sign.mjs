#!/usr/bin/env node
// pnpm bench sign [--records N] [--rounds R]
// Ceiling: SHA-256 over each record's canonical bytes plus one native Ed25519
// sign with a cached key, same payloads, same run. Measured:
// generateWithSigner with InMemorySigner (builds the record, JCS, hash, sign).
import { createHash, createPrivateKey, sign as nodeSign } from 'node:crypto';
import { benchArgs, importPackage, payloads, rate, report, testSigner } from './lib.mjs';

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
const sign = (d) => core.generateWithSigner(signer, { transactionHash: d.transaction_hash, payload: d.payload }, { attestation: null, now });
// As `erst audit sign --batch` runs: a window of records in flight, so
// canonicalization and hashing overlap with signatures on the thread pool.
const WINDOW = 32;
const ours = await rate(N, ROUNDS, async () => {
  const inFlight = [];
  for (const d of docs) {
    inFlight.push(sign(d));
    if (inFlight.length >= WINDOW) await inFlight.shift();
  }
  await Promise.all(inFlight);
});
const oneAtATime = await rate(N, ROUNDS, async () => {
  for (const d of docs) await sign(d);
});
console.log(`records: ${N} x ${ROUNDS} rounds`);
console.log(`ceiling (sha256 + native Ed25519 sign, cached key):      ${ceiling.toFixed(0)}/s`);
console.log(`generateWithSigner + InMemorySigner, ${WINDOW} in flight:      ${ours.toFixed(0)}/s`);
console.log(`generateWithSigner + InMemorySigner, one at a time:      ${oneAtATime.toFixed(0)}/s`);
report({
  bench: 'sign',
  records: N,
  per_s: Math.round(ours),
  ceiling_per_s: Math.round(ceiling),
  ratio: Number((ours / ceiling).toFixed(3)),
  sequential_per_s: Math.round(oneAtATime),
  sequential_ratio: Number((oneAtATime / ceiling).toFixed(3)),
});
