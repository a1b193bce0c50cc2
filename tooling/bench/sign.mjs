#!/usr/bin/env node
// pnpm bench sign [--records N] [--rounds R] [--e2e-records M] [--e2e-rounds K]
//
// Library: generateWithSigner with InMemorySigner (builds the record, JCS,
// hash, sign) on N gen-payloads records, against one thread doing SHA-256 over
// each record's canonical bytes plus one native Ed25519 sign with a cached key.
//
// End to end: the built `erst audit sign --batch` process, spawn to exit, on
// M records, to a .jsonl (--out) and to a directory (--out-dir), on
// gen-payloads records (`gen_*`, about 17 KB) and on records the size of
// examples/sample-simulation.json (`sample_*`, 2.8 KB). Ceilings, same run:
//   signing    SHA-256 plus native Ed25519 sign of each record's canonical
//              bytes on every core, records in memory (`*_ratio`)
//   directory  a plain loop writing, fsyncing and renaming as many files of the
//              same sizes on the whole thread pool, then fsyncing the directory
//              (`*_dir_ratio`; `*_dir_sign_ratio` is to the signing ceiling)
// Targets (issue 14): .jsonl 0.7 of the signing ceiling, a directory 0.7 of its own.
// M defaults to 20000, the batch size of issue 14's own table: at 5000 the
// process's fixed cost (Node's start, loading the command, starting signing
// threads: about 0.2-0.3 s) weighs four times as much against a ceiling that
// has none (pass --e2e-records 5000 to compare with runs before this default).
import { createHash, createPrivateKey, sign as nodeSign } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  directoryCeilingMs,
  fileSizes,
  importPackage,
  median,
  payloads,
  rate,
  ratioFields,
  report,
  samplePayloads,
  signCeilingRate,
  testSigner,
  timeErst,
  writeBatchInput,
} from './lib.mjs';

const { values: opts } = parseArgs({
  options: {
    records: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '7' },
    'e2e-records': { type: 'string', default: '20000' },
    'e2e-rounds': { type: 'string', default: '3' },
  },
});
const N = Number(opts.records);
const ROUNDS = Number(opts.rounds);
const E2E_N = Number(opts['e2e-records']);
const E2E_ROUNDS = Number(opts['e2e-rounds']);
const core = await importPackage('@erst/core');
const { keyPem, signer } = await testSigner();
const key = createPrivateKey(keyPem);
const docs = payloads(N);
const enc = new TextEncoder();
const now = () => new Date('2026-11-26T12:00:00.000Z');

// Ceiling inputs: the canonical bytes of each unsigned record, prepared untimed.
const prepared = [];
for (const d of docs) {
  const rec = await core.generateWithSigner(
    signer,
    { transactionHash: d.transaction_hash, payload: d.payload },
    { attestation: null, now },
  );
  const { trace_hash, signature, ...rest } = rec;
  prepared.push(enc.encode(core.canonicalize(rest)));
}
const ceiling = await rate(N, ROUNDS, () => {
  for (const bytes of prepared) nodeSign(null, createHash('sha256').update(bytes).digest(), key);
});
const { ThreadedSigner } = await importPackage('@erst/signer-memory');
const signWith = (s) => (d) =>
  core.generateWithSigner(s, { transactionHash: d.transaction_hash, payload: d.payload }, { attestation: null, now });
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

// End to end, each kind of record: the signing ceiling, then `erst audit sign
// --batch` to a .jsonl and to a directory, then the directory ceiling, in
// every round (the machine is shared: background load falls on all alike).
const cores = availableParallelism();
const work = mkdtempSync(join(tmpdir(), 'erst-bench-sign-'));
const keyFile = join(work, 'signing.pem');
writeFileSync(keyFile, keyPem);
chmodSync(keyFile, 0o600);
const e2e = {};
try {
  for (const [kind, kindDocs] of [
    ['gen', payloads(E2E_N)],
    ['sample', samplePayloads(E2E_N)],
  ]) {
    const input = join(work, `${kind}.jsonl`);
    writeBatchInput(input, kindDocs);
    const canonical = [];
    for (const d of kindDocs) {
      const rec = await core.generateWithSigner(
        signer,
        { transactionHash: d.transaction_hash, payload: d.payload },
        { attestation: null, now },
      );
      const { trace_hash, signature, ...rest } = rec;
      canonical.push(enc.encode(core.canonicalize(rest)));
    }
    const r = { ceiling: [], jsonl: [], dir: [], dirCeiling: [] };
    for (let round = 0; round < E2E_ROUNDS; round++) {
      r.ceiling.push(await signCeilingRate({ prepared: canonical, keyPem, rounds: 1, cores }));
      const out = join(work, 'out.jsonl');
      r.jsonl.push(
        E2E_N /
          ((await timeErst(['audit', 'sign', '--batch', input, '--out', out, '--key-file', keyFile, '--quiet'])) /
            1000),
      );
      rmSync(out, { force: true });
      const outDir = join(work, 'out');
      r.dir.push(
        E2E_N /
          ((await timeErst([
            'audit',
            'sign',
            '--batch',
            input,
            '--out-dir',
            outDir,
            '--key-file',
            keyFile,
            '--quiet',
          ])) /
            1000),
      );
      const sizes = fileSizes(outDir);
      if (sizes.length !== E2E_N) throw new Error(`erst wrote ${sizes.length} files for ${E2E_N} records`);
      rmSync(outDir, { recursive: true, force: true });
      const plain = join(work, 'plain');
      r.dirCeiling.push(E2E_N / ((await directoryCeilingMs(plain, sizes)) / 1000));
      rmSync(plain, { recursive: true, force: true });
    }
    const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)]));
    e2e[kind] = m;
    console.log(
      `erst audit sign --batch, ${E2E_N} ${kind} records (${Math.round(canonical.reduce((a, b) => a + b.length, 0) / E2E_N)} bytes canonical), medians of ${E2E_ROUNDS} rounds:`,
    );
    console.log(`  signing ceiling (sha256 + native sign, ${cores} cores, in memory): ${m.ceiling.toFixed(0)}/s`);
    console.log(
      `  to .jsonl:      ${m.jsonl.toFixed(0)}/s (${(m.jsonl / m.ceiling).toFixed(3)} of the signing ceiling; target 0.7)`,
    );
    console.log(
      `  directory ceiling (write + fsync + rename on the thread pool, dir fsync): ${m.dirCeiling.toFixed(0)}/s`,
    );
    console.log(
      `  to a directory: ${m.dir.toFixed(0)}/s (${(m.dir / m.dirCeiling).toFixed(3)} of the directory ceiling, target 0.7; ${(m.dir / m.ceiling).toFixed(3)} of the signing ceiling)`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log(`library, records: ${N} x ${ROUNDS} rounds`);
console.log(`ceiling (sha256 + native Ed25519 sign, cached key, one thread):  ${ceiling.toFixed(0)}/s`);
console.log(`ThreadedSigner (what erst audit sign --batch uses), ${WINDOW} in flight: ${ours.toFixed(0)}/s`);
console.log(`InMemorySigner (libuv pool), ${WINDOW} in flight:                  ${pool.toFixed(0)}/s`);
console.log(`InMemorySigner, one record at a time:                        ${oneAtATime.toFixed(0)}/s`);
const e2eFields = {};
for (const [kind, m] of Object.entries(e2e)) {
  e2eFields[`${kind}_ceiling_per_s`] = Math.round(m.ceiling);
  Object.assign(e2eFields, ratioFields(`${kind}_jsonl`, m.jsonl, m.ceiling));
  e2eFields[`${kind}_dir_ceiling_per_s`] = Math.round(m.dirCeiling);
  Object.assign(e2eFields, ratioFields(`${kind}_dir`, m.dir, m.dirCeiling));
  e2eFields[`${kind}_dir_sign_ratio`] = Number((m.dir / m.ceiling).toFixed(3));
}
report({
  bench: 'sign',
  records: N,
  per_s: Math.round(ours),
  ceiling_per_s: Math.round(ceiling),
  ratio: Number((ours / ceiling).toFixed(3)),
  ...ratioFields('pool', pool, ceiling),
  ...ratioFields('sequential', oneAtATime, ceiling),
  e2e_records: E2E_N,
  e2e_rounds: E2E_ROUNDS,
  cores,
  ...e2eFields,
});
