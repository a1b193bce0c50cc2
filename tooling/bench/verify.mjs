#!/usr/bin/env node
// pnpm bench verify [--records N] [--rounds R]
// Ceiling: SHA-256 over each record's canonical bytes plus one native Ed25519
// verify (node:crypto, cached KeyObject), single-threaded, same records, same
// run. Measured: Verifier.verifyMany from @erst/verify in one process, from
// the record bytes (strict parse, duplicate-key check, JCS, hash, verify).
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VECTORS_DIR, benchArgs, importPackage, payloads, rate, ratioFields, report, testSigner } from './lib.mjs';

const { N, ROUNDS } = benchArgs();
const core = await importPackage('@erst/core');
const { Verifier } = await importPackage('@erst/verify');
const { signer } = await testSigner();
const rootPem = readFileSync(join(VECTORS_DIR, 'attestation-chain', 'root.pem'), 'utf8');
const attestation = JSON.parse(readFileSync(join(VECTORS_DIR, 'inputs.jsonl'), 'utf8').split('\n')[4]).hardware_attestation;
const pub = await signer.publicKey();

const docs = payloads(N);
const enc = new TextEncoder();
async function signAll(att) {
  const out = [];
  for (const d of docs) {
    const rec = await core.generateWithSigner(signer, { transactionHash: d.transaction_hash, payload: d.payload }, { attestation: att });
    out.push(enc.encode(JSON.stringify(rec)));
  }
  return out;
}
const plain = await signAll(null);
const attested = await signAll(attestation);
const avgBytes = Math.round(plain.reduce((n, b) => n + b.length, 0) / plain.length);

// Ceiling inputs, prepared outside the timed loop.
const keyObject = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(pub.raw)]), format: 'der', type: 'spki' });
const prepared = plain.map((b) => {
  const rec = JSON.parse(new TextDecoder().decode(b));
  const { trace_hash, signature, ...rest } = rec;
  return { bytes: enc.encode(core.canonicalize(rest)), sig: Buffer.from(signature, 'hex') };
});
let ok = 0;
const ceiling = await rate(N, ROUNDS, () => {
  for (const p of prepared) {
    const digest = createHash('sha256').update(p.bytes).digest();
    if (nodeVerify(null, digest, keyObject, p.sig)) ok++;
  }
});
if (ok !== N * ROUNDS) throw new Error('ceiling loop failed to verify');

const pinned = new Verifier({ publicKeys: [core.bytesToHex(pub.raw)] });
await pinned.verifyMany(plain.slice(0, 50)); // warm key caches and the backend probe
let bad = 0;
const ours = await rate(N, ROUNDS, async () => {
  for (const r of await pinned.verifyMany(plain)) if (!r.valid) bad++;
});
if (bad) throw new Error(`${bad} records failed verification`);

const withRoot = new Verifier({ attestationRoots: [rootPem] });
const first = await withRoot.verify(attested[0]);
const attestedOk = first.valid && first.trust === 'attested';
const attestedRate = await rate(N, ROUNDS, async () => {
  await withRoot.verifyMany(attested);
});

console.log(`records: ${N} x ${ROUNDS} rounds, ${avgBytes} bytes on average; backend ${await pinned.backendName()}`);
console.log(`ceiling (sha256 + native Ed25519 verify, cached key, 1 thread): ${ceiling.toFixed(0)}/s`);
console.log(`verifyMany (one process):                                      ${ours.toFixed(0)}/s`);
console.log(`verifyMany, attested records with the root pinned:            ${attestedRate.toFixed(0)}/s (attested: ${attestedOk})`);
report({
  bench: 'verify',
  records: N,
  per_s: Math.round(ours),
  ceiling_per_s: Math.round(ceiling),
  ratio: Number((ours / ceiling).toFixed(3)),
  ...ratioFields('attested', attestedRate, ceiling),
  attested_ok: attestedOk,
});
