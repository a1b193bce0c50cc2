// Shared helpers for the benchmarks: payload generation, medians, output.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(BENCH_DIR, '..', '..');

/** Imports a workspace package's built entry point (benchmarks run on dist/). */
export async function importPackage(name) {
  const require = createRequire(join(REPO_ROOT, 'apps', 'cli', 'package.json'));
  const candidates = [join(REPO_ROOT, 'packages', name.replace('@erst/', ''))];
  for (const dir of candidates) {
    try {
      return await import(join(dir, 'dist', 'index.js'));
    } catch {
      // fall through to normal resolution
    }
  }
  return import(require.resolve(name));
}

/** `count` payload documents from gen-payloads.mjs (deterministic for a seed). */
export function payloads(count, seed = 'erst-bench') {
  const out = execFileSync(process.execPath, [join(BENCH_DIR, 'gen-payloads.mjs'), String(count), seed], {
    maxBuffer: 1024 * 1024 * 1024,
  });
  return out
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs `fn` (which processes `n` items) `rounds` times; returns the median rate per second. */
export async function rate(n, rounds, fn) {
  const rates = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await fn();
    rates.push(n / ((performance.now() - t) / 1000));
  }
  return median(rates);
}

/** `{<name>_per_s, <name>_ratio}` for a secondary rate measured against the same ceiling. */
export function ratioFields(name, perS, ceiling) {
  return { [`${name}_per_s`]: Math.round(perS), [`${name}_ratio`]: Number((perS / ceiling).toFixed(3)) };
}

export function report(fields) {
  const line = JSON.stringify(fields);
  console.log(line);
}

export const VECTORS_DIR = join(REPO_ROOT, 'tooling', 'fixtures', 'vectors');

/** `--records N --rounds R` with the given defaults. */
export function benchArgs(defaults = { records: 2000, rounds: 7 }) {
  const { parseArgs } = process.getBuiltinModule('node:util');
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: String(defaults.records) },
      rounds: { type: 'string', default: String(defaults.rounds) },
    },
  });
  return { N: Number(values.records), ROUNDS: Number(values.rounds) };
}

/** The vectors' Ed25519 test key as PEM and as an InMemorySigner. */
export async function testSigner() {
  const { readFileSync } = process.getBuiltinModule('node:fs');
  const { InMemorySigner } = await importPackage('@erst/signer-memory');
  const keyPem = readFileSync(join(VECTORS_DIR, 'attestation-chain', 'signing.pem'), 'utf8');
  return { keyPem, signer: InMemorySigner.fromPem(keyPem) };
}

// The ceiling `pnpm bench batch` (and `pnpm bench log`) compare with: SHA-256
// over each record's bytes plus one native Ed25519 verification (node:crypto,
// cached KeyObject), one worker thread per core, records in memory before
// timing starts. `jsonl` holds `count` records signed (2.0.0) by `pubHex`.
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

/**
 * Median items/s of ceiling workers over `rounds`: each worker says 'ready',
 * then on every 'go' does its share and answers how many items it did; a
 * round whose answers do not add up to `count` throws `lost`.
 */
async function workerRounds(workers, rounds, count, lost) {
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
  const rates = [];
  for (let round = 0; round < rounds; round++) {
    const t = performance.now();
    const done = await Promise.all(
      workers.map(
        (w) =>
          new Promise((r) => {
            w.once('message', r);
            w.postMessage('go');
          }),
      ),
    );
    const secs = (performance.now() - t) / 1000;
    if (done.reduce((a, b) => a + b, 0) !== count) throw new Error(lost);
    rates.push(count / secs);
  }
  await Promise.all(workers.map((w) => w.terminate()));
  return median(rates);
}

/** Median records/s of the ceiling loop over `rounds` (see CEILING_WORKER). */
export async function ceilingRate({ jsonl, pubHex, count, rounds, cores }) {
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const workers = Array.from(
    { length: cores },
    (_, k) => new Worker(CEILING_WORKER, { eval: true, workerData: { jsonl, pub: pubHex, k, of: cores } }),
  );
  return workerRounds(workers, rounds, count, 'the ceiling loop failed to verify some records');
}

/** The built commands, as their packages' `bin` names them (benchmarks run on dist/). */
export const ERST_BIN = join(REPO_ROOT, 'apps', 'cli', 'dist', 'bin.js');
export const ERST_BATCH_BIN = join(REPO_ROOT, 'apps', 'batch', 'dist', 'bin.js');

/**
 * `count` payload documents the size of examples/sample-simulation.json (2.8
 * KB): its payload, each with a transaction hash of its own.
 */
export function samplePayloads(count) {
  const { readFileSync } = process.getBuiltinModule('node:fs');
  const { createHash } = process.getBuiltinModule('node:crypto');
  const sample = JSON.parse(readFileSync(join(REPO_ROOT, 'examples', 'sample-simulation.json'), 'utf8'));
  return Array.from({ length: count }, (_, i) => ({
    transaction_hash: createHash('sha256').update(`erst-bench-sample ${i}`).digest('hex'),
    payload: sample.payload,
  }));
}

/** Writes payload documents as a batch input, one JSON per line. */
export function writeBatchInput(path, docs) {
  const { writeFileSync } = process.getBuiltinModule('node:fs');
  writeFileSync(path, docs.map((d) => `${JSON.stringify(d)}\n`).join(''));
}

/**
 * Wall time (ms) of one built `erst` process from spawn to exit: `args`
 * after `erst`. Throws unless it exits 0.
 */
export async function timeErst(args, { env = process.env, cwd } = {}) {
  const { spawn } = process.getBuiltinModule('node:child_process');
  const t = performance.now();
  const child = spawn(process.execPath, [ERST_BIN, ...args], { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const ms = performance.now() - t;
  if (code !== 0) throw new Error(`erst ${args.join(' ')} exited ${code}: ${stderr}`);
  return ms;
}

// The signing ceiling: SHA-256 over each record's canonical bytes plus one
// native Ed25519 sign (node:crypto, cached KeyObject), one worker thread per
// core, records in memory before timing starts.
const SIGN_CEILING_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash, createPrivateKey, sign } = require('node:crypto');
const key = createPrivateKey(workerData.keyPem);
const items = workerData.items;
parentPort.postMessage('ready');
parentPort.on('message', () => {
  let n = 0;
  for (const bytes of items) if (sign(null, createHash('sha256').update(bytes).digest(), key).length === 64) n++;
  parentPort.postMessage(n);
});`;

/** Median records/s of the signing ceiling over `rounds` (see SIGN_CEILING_WORKER); `prepared`: canonical bytes. */
export async function signCeilingRate({ prepared, keyPem, rounds, cores }) {
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const workers = Array.from(
    { length: cores },
    (_, k) =>
      new Worker(SIGN_CEILING_WORKER, {
        eval: true,
        workerData: { keyPem, items: prepared.filter((_, i) => i % cores === k) },
      }),
  );
  return workerRounds(workers, rounds, prepared.length, 'the signing ceiling lost a signature');
}

/** The sizes of the regular files in `dir` (what a batch wrote there). */
export function fileSizes(dir) {
  const { readdirSync, statSync } = process.getBuiltinModule('node:fs');
  return readdirSync(dir)
    .map((name) => statSync(join(dir, name)))
    .filter((s) => s.isFile())
    .map((s) => s.size);
}

/**
 * The directory ceiling: wall time (ms) of a plain loop that writes one file
 * per entry of `sizes` into the new directory `dir` (create a temporary
 * file, write, fsync, close, rename), with enough files in flight that no
 * thread of libuv's pool waits for the event loop (16 per thread: fewer
 * measured slower here), then fsyncs the directory: what the file system
 * allows with `erst audit sign --out-dir`'s durability.
 */
export async function directoryCeilingMs(dir, sizes) {
  const { mkdirSync } = process.getBuiltinModule('node:fs');
  const { open, rename } = process.getBuiltinModule('node:fs/promises');
  mkdirSync(dir, { recursive: true });
  const data = Buffer.alloc(Math.max(...sizes), 0x61);
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: poolSize * 16 }, async () => {
      while (next < sizes.length) {
        const i = next++;
        const final = join(dir, `${String(i).padStart(64, '0')}.json`);
        const temp = `${join(dir, `.${i}`)}.tmp`;
        const h = await open(temp, 'wx', 0o644);
        await h.write(data, 0, sizes[i]);
        await h.sync();
        await h.close();
        await rename(temp, final);
      }
    }),
  );
  const d = await open(dir, 'r');
  await d.sync();
  await d.close();
  return performance.now() - t;
}
