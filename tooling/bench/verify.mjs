#!/usr/bin/env node
// pnpm bench verify [--records N] [--rounds R]
// Ceiling: SHA-256 over each record's canonical bytes plus one native Ed25519
// verify (node:crypto, cached KeyObject), single-threaded, same records, same
// run. Measured: Verifier.verifyMany from @erst/verify in one process, from
// the record bytes (strict parse, duplicate-key check, JCS, hash, verify).
// Trusted timestamps (issue 12, Speed): the same records as 2.1.0, without
// and with an RFC 3161 token each (made before timing by `openssl ts -reply`
// under a TSA root, intermediate and TSA certificate made by openssl), the TSA
// root pinned: `tokens_ratio` is with / without, the target at least 0.9.
import { execFile } from 'node:child_process';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  VECTORS_DIR,
  benchArgs,
  importPackage,
  median,
  payloads,
  rate,
  ratioFields,
  report,
  testSigner,
} from './lib.mjs';

const { N, ROUNDS } = benchArgs();
const core = await importPackage('@erst/core');
const { Verifier } = await importPackage('@erst/verify');
const { signer } = await testSigner();
const rootPem = readFileSync(join(VECTORS_DIR, 'attestation-chain', 'root.pem'), 'utf8');
const attestation = JSON.parse(
  readFileSync(join(VECTORS_DIR, 'inputs.jsonl'), 'utf8').split('\n')[4],
).hardware_attestation;
const pub = await signer.publicKey();

const docs = payloads(N);
const enc = new TextEncoder();
async function signAll(att) {
  const out = [];
  for (const d of docs) {
    const rec = await core.generateWithSigner(
      signer,
      { transactionHash: d.transaction_hash, payload: d.payload },
      { attestation: att },
    );
    out.push(enc.encode(JSON.stringify(rec)));
  }
  return out;
}
const plain = await signAll(null);
const attested = await signAll(attestation);
const avgBytes = Math.round(plain.reduce((n, b) => n + b.length, 0) / plain.length);

// Ceiling inputs, prepared outside the timed loop.
const keyObject = createPublicKey({
  key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(pub.raw)]),
  format: 'der',
  type: 'spki',
});
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

// ---------- the same records as 2.1.0, without and with a timestamp token ----------
// A TSA root, an issuing CA and a TSA certificate (critical timeStamping EKU)
// made by openssl, as a TSA's chain is: the tokens carry the last two.
const ts = await importPackage('@erst/timestamp');
const run = promisify(execFile);
const tsaDir = mkdtempSync(join(tmpdir(), 'erst-bench-tsa-'));
process.once('exit', () => rmSync(tsaDir, { recursive: true, force: true }));
const tsa = (f) => join(tsaDir, f);
const openssl = (args) => run('openssl', args.split(' '), { cwd: tsaDir });
// Real TSAs mostly sign with RSA-2048; the test TSA with P-256 (the default here).
const keyAlg =
  process.env.ERST_BENCH_TSA_KEY === 'rsa'
    ? 'RSA -pkeyopt rsa_keygen_bits:2048'
    : 'EC -pkeyopt ec_paramgen_curve:P-256';
const CA = 'basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign\nsubjectKeyIdentifier = hash';
writeFileSync(
  tsa('openssl.cnf'),
  `[req]\ndistinguished_name = dn\n[dn]\n[root]\n${CA}\n[issuing]\n${CA}\nauthorityKeyIdentifier = keyid\n` +
    '[tsa_cert]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n' +
    'extendedKeyUsage = critical, timeStamping\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' +
    `[tsa]\ndefault_tsa = bench\n[bench]\nserial = ${tsa('serial')}\nsigner_cert = ${tsa('tsa.pem')}\n` +
    `certs = ${tsa('issuing.pem')}\nsigner_key = ${tsa('tsa.key')}\nsigner_digest = sha256\n` +
    'default_policy = 1.3.6.1.4.1.99999.3161.1\ndigests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\n',
);
writeFileSync(tsa('serial'), '01\n');
const conf = `-config ${tsa('openssl.cnf')}`;
for (const k of ['root', 'issuing', 'tsa']) await openssl(`genpkey -algorithm ${keyAlg} -out ${k}.key`);
await openssl(
  `req -new -x509 ${conf} -key root.key -subj /CN=erst-bench-tsa-root -days 2 -extensions root -out root.pem`,
);
for (const [k, issuer] of [
  ['issuing', 'root'],
  ['tsa', 'issuing'],
]) {
  await openssl(`req -new ${conf} -key ${k}.key -subj /CN=erst-bench-${k} -out ${k}.csr`);
  await openssl(
    `x509 -req -in ${k}.csr -CA ${issuer}.pem -CAkey ${issuer}.key -CAcreateserial -days 2 -extfile ${tsa('openssl.cnf')} -extensions ${k === 'tsa' ? 'tsa_cert' : k} -out ${k}.pem`,
  );
}
const tsaRoot = readFileSync(tsa('root.pem'), 'utf8');

const unsealed = [];
for (const d of docs)
  unsealed.push(
    await core.generateWithSigner(
      signer,
      { transactionHash: d.transaction_hash, payload: d.payload },
      { schema: '2.1.0' },
    ),
  );
const without = unsealed.map((rec) => enc.encode(JSON.stringify(rec)));
// One `openssl ts -reply` per token (it rewrites its serial file): one at a time, before any timing.
process.stderr.write(`making ${N} tokens with openssl ts -reply...\n`);
const withTokens = [];
for (const rec of unsealed) {
  writeFileSync(tsa('q.tsq'), ts.createTimestampRequest(core.timestampImprint(rec)).request);
  await openssl(`ts -reply ${conf} -queryfile q.tsq -token_out -out t.der`);
  const token = readFileSync(tsa('t.der')).toString('base64');
  withTokens.push(enc.encode(JSON.stringify(core.withTimestampToken(rec, token))));
}

const stamped = new Verifier({ publicKeys: [core.bytesToHex(pub.raw)], tsaRoots: [tsaRoot], requireTimestamp: true });
await stamped.verifyMany(withTokens.slice(0, 50)); // loads @erst/timestamp, fills its chain cache
const checked = await stamped.verifyMany(withTokens);
const tokensOk = checked.every((r) => r.valid && r.timestamp_token?.verified === true);
if (!tokensOk) throw new Error(`records with tokens failed: ${JSON.stringify(checked.find((r) => !r.valid)?.errors)}`);
const plainVerifier = new Verifier({ publicKeys: [core.bytesToHex(pub.raw)] });
await plainVerifier.verifyMany(without.slice(0, 50));
const withoutRate = await rate(N, ROUNDS, async () => {
  await plainVerifier.verifyMany(without);
});
const withRate = await rate(N, ROUNDS, async () => {
  await stamped.verifyMany(withTokens);
});

// Diagnostic (not a ratio): where a token's cost goes, in microseconds per token, each step alone over the
// same tokens (its chain cached): reading it (base64 + BER parse of the token and its TSTInfo, what
// inspectTimestampToken does), verifying it whole, and one native signature check on a cached key (the floor of
// what a token must add). verify - read is the CMS checks and the signature.
const tokenTexts = withTokens.map((b) => JSON.parse(new TextDecoder().decode(b)).timestamp_token);
const imprintsOf = unsealed.map((rec) => core.hexToBytes(rec.trace_hash));
const perToken = async (fn) => {
  const t = performance.now();
  for (let i = 0; i < tokenTexts.length; i++) await fn(i);
  return ((performance.now() - t) * 1000) / tokenTexts.length;
};
const tsaKey = createPublicKey(readFileSync(tsa('tsa.pem')));
const sigData = Buffer.from('erst bench: one signature');
const { sign: nodeSign } = await import('node:crypto');
const sigOne = nodeSign('sha256', sigData, readFileSync(tsa('tsa.key')));
const breakdown = { read: [], verify: [], native_sig: [] };
for (let r = 0; r < Math.max(3, ROUNDS); r++) {
  breakdown.read.push(await perToken((i) => ts.inspectTimestampToken(tokenTexts[i])));
  breakdown.verify.push(
    await perToken((i) => ts.verifyTimestampToken(tokenTexts[i], { imprint: imprintsOf[i], tsaRoots: [tsaRoot] })),
  );
  breakdown.native_sig.push(await perToken(() => nodeVerify('sha256', sigData, tsaKey, sigOne)));
}
const us = Object.fromEntries(Object.entries(breakdown).map(([k, v]) => [k, Number(median(v).toFixed(1))]));

console.log(`records: ${N} x ${ROUNDS} rounds, ${avgBytes} bytes on average; backend ${await pinned.backendName()}`);
console.log(`ceiling (sha256 + native Ed25519 verify, cached key, 1 thread): ${ceiling.toFixed(0)}/s`);
console.log(`verifyMany (one process):                                      ${ours.toFixed(0)}/s`);
console.log(
  `verifyMany, attested records with the root pinned:            ${attestedRate.toFixed(0)}/s (attested: ${attestedOk})`,
);
console.log(`verifyMany, 2.1.0 records without a timestamp token:           ${withoutRate.toFixed(0)}/s`);
console.log(
  `verifyMany, the same with an RFC 3161 token, TSA root pinned:  ${withRate.toFixed(0)}/s (${(withRate / withoutRate).toFixed(3)} of without)`,
);
console.log(
  `  per token (us): read ${us.read}, verify ${us.verify}, of which one native TSA signature check ${us.native_sig}`,
);
report({
  bench: 'verify',
  records: N,
  per_s: Math.round(ours),
  ceiling_per_s: Math.round(ceiling),
  ratio: Number((ours / ceiling).toFixed(3)),
  ...ratioFields('attested', attestedRate, ceiling),
  attested_ok: attestedOk,
  without_tokens_per_s: Math.round(withoutRate),
  with_tokens_per_s: Math.round(withRate),
  tokens_ratio: Number((withRate / withoutRate).toFixed(3)),
  token_us: {
    record_without: Number((1e6 / withoutRate).toFixed(1)),
    added_by_token: Number((1e6 / withRate - 1e6 / withoutRate).toFixed(1)),
    ...us,
  },
});
