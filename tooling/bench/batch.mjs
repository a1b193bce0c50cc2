#!/usr/bin/env node
// pnpm bench batch [--records 50000] [--small 5000] [--rounds 3] [--dir DIR]
//
// Builds an archive of gen-payloads records signed as 2.0.0, written three
// ways (a directory tree, a .jsonl, a .tar.gz), and verifies each with the
// built erst-batch binary, as cron would run it: a child process per run,
// timed from spawn to exit (start-up, reading, decompression, worker threads
// and report writing included), its peak RSS reported by the child itself
// (getrusage: every thread of the process).
//
// Measured in the same run, on the same records:
//   ceiling   SHA-256 over each record's bytes plus one native Ed25519
//             verification (node:crypto, cached KeyObject), on every core
//             (one worker thread per core), records already in memory.
//   erst-ts   erst's TypeScript AuditVerifier logic on the same records in
//             its format: JSON.parse, fast-json-stable-stringify of {trace},
//             SHA-256 hex compared with `hash`, the PEM key parsed on every
//             call, crypto.verify over the 64 hex characters. One thread, as
//             erst runs it.
//   memory    peak RSS at --records against --small records.
//   nightly   each input kind again with a signed state (--state,
//             --state-key): a full run (--full) and a rerun over the
//             unchanged archive, which verifies nothing again and reuses the
//             results the state keeps; their rates and the rerun's speed-up.
// The last line is the JSON summary; rates are medians over --rounds.
import { createHash, createPublicKey, generateKeyPairSync, verify as nodeVerify } from 'node:crypto';
import { createReadStream, existsSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { BIN, batchArchive, runBatch, stableStringify } from './archive.mjs';
import { ceilingRate, median, report } from './lib.mjs';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '50000' },
    small: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string' },
  },
});
const N = Number(values.records);
const SMALL = Math.min(N, Number(values.small));
const ROUNDS = Number(values.rounds);
const CORES = availableParallelism();
if (!existsSync(BIN)) {
  console.error('apps/batch is not built: run pnpm turbo run build --filter=@erst/batch...');
  process.exit(2);
}

const { root, archives, pubHex } = await batchArchive({ N, SMALL, dir: values.dir });

// ---------------------------------------------------------------- erst-batch runs

const FORMATS = [
  ['dir', 'directory'],
  ['jsonl', '.jsonl'],
  ['targz', '.tar.gz'],
];
const results = {};
for (const [f] of FORMATS) results[f] = { seconds: [], rss: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const [f] of FORMATS) {
    const r = await runBatch(root, archives.big[f], N);
    results[f].seconds.push(r.seconds);
    results[f].rss.push(r.rss);
  }
}
const small = {};
for (const [f] of FORMATS) small[f] = await runBatch(root, archives.small[f], SMALL);

// ---------------------------------------------------------------- nightly runs: a signed state

const stateKey = join(root, 'state-key.pem');
writeFileSync(stateKey, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
const nightly = {};
for (const [f] of FORMATS) {
  const state = ['--state', join(root, `state-${f}.jsonl`), '--state-key', stateKey];
  rmSync(state[1], { force: true });
  await runBatch(root, archives.big[f], N, [...state, '--init-state']);
  nightly[f] = { full: [], rerun: [] };
  for (let round = 0; round < ROUNDS; round++) {
    nightly[f].full.push((await runBatch(root, archives.big[f], N, [...state, '--full'])).seconds);
    nightly[f].rerun.push((await runBatch(root, archives.big[f], N, state)).seconds);
  }
}

// ---------------------------------------------------------------- ceiling: every core

const ceiling = await ceilingRate({ jsonl: archives.big.jsonl, pubHex, count: N, rounds: ROUNDS, cores: CORES });

// ---------------------------------------------------------------- erst's TypeScript verifier logic

async function erstTsRate() {
  const lines = [];
  for await (const line of createInterface({
    input: createReadStream(join(root, 'erst-ts.jsonl')),
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    if (line) lines.push(Buffer.from(line));
  }
  const rates = [];
  for (let round = 0; round < ROUNDS; round++) {
    let ok = 0;
    const t = performance.now();
    for (const b of lines) {
      const r = JSON.parse(b.toString('utf8'));
      const hash = createHash('sha256')
        .update(stableStringify({ trace: r.trace }))
        .digest('hex');
      if (hash !== r.hash) continue;
      const key = createPublicKey(r.publicKey);
      if (nodeVerify(null, Buffer.from(r.hash), key, Buffer.from(r.signature, 'hex'))) ok++;
    }
    rates.push(lines.length / ((performance.now() - t) / 1000));
    if (ok !== lines.length) throw new Error('erst-ts logic failed to verify some records');
  }
  return median(rates);
}
const erstTs = await erstTsRate();

// ---------------------------------------------------------------- summary

const perFormat = {};
for (const [f] of FORMATS) perFormat[f] = N / median(results[f].seconds);
// All three formats together: total records over total (median) time.
const perS = (3 * N) / FORMATS.reduce((s, [f]) => s + median(results[f].seconds), 0);
const fullSeconds = FORMATS.reduce((s, [f]) => s + median(nightly[f].full), 0);
const rerunSeconds = FORMATS.reduce((s, [f]) => s + median(nightly[f].rerun), 0);
const peakRss = Math.max(...FORMATS.flatMap(([f]) => results[f].rss));
const smallRss = Math.max(...FORMATS.map(([f]) => small[f].rss));

console.log(
  `${N} records (${SMALL} for the memory comparison), ${ROUNDS} rounds, ${CORES} cores, erst-batch with ${CORES} workers`,
);
for (const [f, label] of FORMATS) {
  console.log(
    `  erst-batch ${label.padEnd(10)} ${perFormat[f].toFixed(0).padStart(7)}/s   peak RSS ${Math.max(...results[f].rss).toFixed(0)} MB (${small[f].rss.toFixed(0)} MB at ${SMALL})`,
  );
}
for (const [f, label] of FORMATS) {
  const full = N / median(nightly[f].full);
  const rerun = N / median(nightly[f].rerun);
  console.log(
    `  nightly ${label.padEnd(10)} full ${full.toFixed(0).padStart(7)}/s   unchanged rerun ${rerun.toFixed(0).padStart(7)}/s   ${(rerun / full).toFixed(1)}x`,
  );
}
console.log(`  ceiling (sha256 + native Ed25519, ${CORES} threads)  ${ceiling.toFixed(0)}/s`);
console.log(`  erst TypeScript verifier logic (1 thread)     ${erstTs.toFixed(0)}/s`);
if (!values.dir) rmSync(root, { recursive: true, force: true });
report({
  bench: 'batch',
  records: N,
  per_s: Math.round(perS),
  ceiling_per_s: Math.round(ceiling),
  ratio: Number((perS / ceiling).toFixed(3)),
  peak_rss_mb: Math.round(peakRss),
  erst_ts_per_s: Math.round(erstTs),
  vs_erst_ts: Number((perS / erstTs).toFixed(2)),
  rss_5000_mb: Math.round(smallRss),
  rss_ratio: Number((peakRss / smallRss).toFixed(3)),
  per_s_dir: Math.round(perFormat.dir),
  per_s_jsonl: Math.round(perFormat.jsonl),
  per_s_targz: Math.round(perFormat.targz),
  // With a signed state, over the three kinds: a full run, and a rerun over the unchanged archive.
  full_per_s: Math.round((3 * N) / fullSeconds),
  rerun_per_s: Math.round((3 * N) / rerunSeconds),
  rerun_speedup: Number((fullSeconds / rerunSeconds).toFixed(2)),
  rerun_speedup_dir: Number((median(nightly.dir.full) / median(nightly.dir.rerun)).toFixed(2)),
  rerun_speedup_jsonl: Number((median(nightly.jsonl.full) / median(nightly.jsonl.rerun)).toFixed(2)),
  rerun_speedup_targz: Number((median(nightly.targz.full) / median(nightly.targz.rerun)).toFixed(2)),
  workers: CORES,
  rounds: ROUNDS,
});
