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
// The last line is the JSON summary; rates are medians over --rounds.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { createGzip } from 'node:zlib';
import { BENCH_DIR, REPO_ROOT, importPackage, median, report } from './lib.mjs';

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
const BIN = join(REPO_ROOT, 'apps', 'batch', 'dist', 'bin.js');
if (!existsSync(BIN)) {
  console.error('apps/batch is not built: run pnpm turbo run build --filter=@erst/batch...');
  process.exit(2);
}

const core = await importPackage('@erst/core');
const { InMemorySigner } = await importPackage('@erst/signer-memory');
const tar = createRequire(join(REPO_ROOT, 'apps', 'batch', 'package.json'))('tar-stream');

const keyPem = readFileSync(join(REPO_ROOT, 'tooling', 'fixtures', 'vectors', 'attestation-chain', 'signing.pem'), 'utf8');
const signer = InMemorySigner.fromPem(keyPem);
const pubHex = signer.publicKeyHex;
const privateKey = createPrivateKey(keyPem);
const pubPem = core.publicKeyToPem(await signer.publicKey());

/** fast-json-stable-stringify 2.1.0 (what erst's AuditLogger uses), without its options. */
function stableStringify(data) {
  const seen = [];
  return (function stringify(node) {
    if (node && node.toJSON && typeof node.toJSON === 'function') node = node.toJSON();
    if (node === undefined) return;
    if (typeof node === 'number') return Number.isFinite(node) ? `${node}` : 'null';
    if (typeof node !== 'object') return JSON.stringify(node);
    let out;
    if (Array.isArray(node)) {
      out = '[';
      for (let i = 0; i < node.length; i++) {
        if (i) out += ',';
        out += stringify(node[i]) || 'null';
      }
      return `${out}]`;
    }
    if (node === null) return 'null';
    if (seen.indexOf(node) !== -1) throw new TypeError('Converting circular structure to JSON');
    const seenIndex = seen.push(node) - 1;
    const keys = Object.keys(node).sort();
    out = '';
    for (const key of keys) {
      const value = stringify(node[key]);
      if (!value) continue;
      if (out) out += ',';
      out += `${JSON.stringify(key)}:${value}`;
    }
    seen.splice(seenIndex, 1);
    return `{${out}}`;
  })(data);
}

// ---------------------------------------------------------------- the archive

const root = values.dir ?? mkdtempSync(join(tmpdir(), 'erst-bench-batch-'));
const marker = join(root, `.built-${N}-${SMALL}`);

class Archive {
  constructor(name) {
    this.dir = join(root, name, 'logs');
    this.jsonl = join(root, name, 'logs.jsonl');
    this.targz = join(root, name, 'logs.tar.gz');
    mkdirSync(this.dir, { recursive: true });
    this.lines = createWriteStream(this.jsonl);
    this.pack = tar.pack();
    this.gz = createWriteStream(this.targz);
    // Level 1: building is not what is measured; reading speed barely depends on the level.
    this.pack.pipe(createGzip({ level: 1 })).pipe(this.gz);
    this.days = new Set();
  }

  async add(rec, text) {
    const day = rec.timestamp.slice(0, 10);
    if (!this.days.has(day)) {
      mkdirSync(join(this.dir, day), { recursive: true });
      this.days.add(day);
    }
    writeFileSync(join(this.dir, day, `${rec.transaction_hash}.json`), text);
    if (!this.lines.write(`${text}\n`)) await new Promise((r) => this.lines.once('drain', r));
    await new Promise((resolve, reject) => this.pack.entry({ name: `logs/${day}/${rec.transaction_hash}.json` }, text, (e) => (e ? reject(e) : resolve())));
  }

  async close() {
    this.lines.end();
    this.pack.finalize();
    await Promise.all([finished(this.lines), finished(this.gz)]);
  }
}

async function build() {
  const t = performance.now();
  const big = new Archive('big');
  const small = new Archive('small');
  const ts = createWriteStream(join(root, 'erst-ts.jsonl'));
  // gen-payloads writes without waiting for a pipe to drain: give it a file.
  const payloadFile = join(root, 'payloads.jsonl');
  const fd = openSync(payloadFile, 'w');
  const gen = spawnSync(process.execPath, [join(BENCH_DIR, 'gen-payloads.mjs'), String(N), 'erst-bench-batch'], { stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  if (gen.status !== 0) throw new Error('gen-payloads failed');
  const base = Date.parse('2026-10-01T00:00:00Z');
  let i = 0;
  for await (const line of createInterface({ input: createReadStream(payloadFile), crlfDelay: Number.POSITIVE_INFINITY })) {
    if (!line) continue;
    const doc = JSON.parse(line);
    // Spread over 30 days, as a month of archive would be.
    const at = new Date(base + Math.floor((i * 30 * 86_400_000) / N));
    const rec = await core.generateWithSigner(signer, { transactionHash: doc.transaction_hash, payload: doc.payload }, { attestation: null, now: () => at });
    const text = JSON.stringify(rec);
    await big.add(rec, text);
    if (i < SMALL) await small.add(rec, text);
    // The same record in erst's TypeScript format.
    const p = doc.payload;
    const trace = {
      input: { tx_hash: doc.transaction_hash, envelope_xdr: p.envelope_xdr },
      state: { result_meta_xdr: p.result_meta_xdr },
      events: p.events,
      logs: p.logs,
      timestamp: rec.timestamp,
    };
    const hash = createHash('sha256').update(stableStringify({ trace })).digest('hex');
    const signature = nodeSign(null, Buffer.from(hash), privateKey).toString('hex');
    const tsRec = { trace, hash, signature, algorithm: 'Ed25519+SHA256', publicKey: pubPem, signer: { provider: 'software' } };
    if (!ts.write(`${JSON.stringify(tsRec)}\n`)) await new Promise((r) => ts.once('drain', r));
    i++;
    if (i % 10000 === 0) process.stderr.write(`  built ${i}/${N}\n`);
  }
  if (i !== N) throw new Error(`gen-payloads gave ${i} records, not ${N}`);
  ts.end();
  await Promise.all([big.close(), small.close(), finished(ts)]);
  unlinkSync(payloadFile);
  writeFileSync(marker, '');
  console.log(`built ${N} records (+${SMALL}) in ${((performance.now() - t) / 1000).toFixed(1)} s under ${root}`);
}

if (!existsSync(marker)) await build();
const archives = {
  big: { dir: join(root, 'big', 'logs'), jsonl: join(root, 'big', 'logs.jsonl'), targz: join(root, 'big', 'logs.tar.gz') },
  small: { dir: join(root, 'small', 'logs'), jsonl: join(root, 'small', 'logs.jsonl'), targz: join(root, 'small', 'logs.tar.gz') },
};

// ---------------------------------------------------------------- erst-batch runs

function runBatch(input, expected) {
  return new Promise((resolve, reject) => {
    const out = join(root, 'report.json');
    const t = performance.now();
    const child = spawn(process.execPath, [BIN, 'verify', input, '--public-key', pubHex, '--json', out, '--quiet', '--stats'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const seconds = (performance.now() - t) / 1000;
      if (code !== 0) return reject(new Error(`erst-batch exited ${code} on ${input}: ${stderr.slice(-500)}`));
      const r = JSON.parse(readFileSync(out, 'utf8'));
      if (r.totals.valid !== expected || r.totals.records !== expected) {
        return reject(new Error(`erst-batch verified ${JSON.stringify(r.totals)} on ${input}, expected ${expected} valid`));
      }
      const stats = JSON.parse(stderr.trim().split('\n').pop()).erst_batch_stats;
      resolve({ seconds, rss: stats.max_rss_mb });
    });
  });
}

const FORMATS = [
  ['dir', 'directory'],
  ['jsonl', '.jsonl'],
  ['targz', '.tar.gz'],
];
const results = {};
for (const [f] of FORMATS) results[f] = { seconds: [], rss: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const [f] of FORMATS) {
    const r = await runBatch(archives.big[f], N);
    results[f].seconds.push(r.seconds);
    results[f].rss.push(r.rss);
  }
}
const small = {};
for (const [f] of FORMATS) small[f] = await runBatch(archives.small[f], SMALL);

// ---------------------------------------------------------------- ceiling: every core

const CEILING_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash, createPublicKey, verify } = require('node:crypto');
const { readFileSync } = require('node:fs');
const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(workerData.pub, 'hex')]), format: 'der', type: 'spki' });
// This worker's share of the records, in memory before timing starts.
const text = readFileSync(workerData.jsonl);
const items = [];
let start = 0, i = 0;
for (;;) {
  const nl = text.indexOf(10, start);
  if (nl === -1) break;
  if (i++ % workerData.of === workerData.k) {
    const bytes = text.subarray(start, nl);
    const rec = JSON.parse(bytes.toString('utf8'));
    items.push({ bytes, digest: Buffer.from(rec.trace_hash, 'hex'), sig: Buffer.from(rec.signature, 'hex') });
  }
  start = nl + 1;
}
parentPort.postMessage('ready');
parentPort.on('message', () => {
  let ok = 0;
  for (const it of items) {
    createHash('sha256').update(it.bytes).digest();
    if (verify(null, it.digest, key, it.sig)) ok++;
  }
  parentPort.postMessage(ok);
});`;

async function ceilingRate() {
  const workers = Array.from({ length: CORES }, (_, k) => new Worker(CEILING_WORKER, { eval: true, workerData: { jsonl: archives.big.jsonl, pub: pubHex, k, of: CORES } }));
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
  const rates = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t = performance.now();
    const oks = await Promise.all(
      workers.map(
        (w) =>
          new Promise((r) => {
            w.once('message', r);
            w.postMessage('go');
          }),
      ),
    );
    const secs = (performance.now() - t) / 1000;
    if (oks.reduce((a, b) => a + b, 0) !== N) throw new Error('the ceiling loop failed to verify some records');
    rates.push(N / secs);
  }
  await Promise.all(workers.map((w) => w.terminate()));
  return median(rates);
}
const ceiling = await ceilingRate();

// ---------------------------------------------------------------- erst's TypeScript verifier logic

async function erstTsRate() {
  const lines = [];
  for await (const line of createInterface({ input: createReadStream(join(root, 'erst-ts.jsonl')), crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line) lines.push(Buffer.from(line));
  }
  const rates = [];
  for (let round = 0; round < ROUNDS; round++) {
    let ok = 0;
    const t = performance.now();
    for (const b of lines) {
      const r = JSON.parse(b.toString('utf8'));
      const hash = createHash('sha256').update(stableStringify({ trace: r.trace })).digest('hex');
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
const peakRss = Math.max(...FORMATS.flatMap(([f]) => results[f].rss));
const smallRss = Math.max(...FORMATS.map(([f]) => small[f].rss));

console.log(`${N} records (${SMALL} for the memory comparison), ${ROUNDS} rounds, ${CORES} cores, erst-batch with ${CORES} workers`);
for (const [f, label] of FORMATS) {
  console.log(
    `  erst-batch ${label.padEnd(10)} ${perFormat[f].toFixed(0).padStart(7)}/s   peak RSS ${Math.max(...results[f].rss).toFixed(0)} MB (${small[f].rss.toFixed(0)} MB at ${SMALL})`,
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
  workers: CORES,
  rounds: ROUNDS,
});
