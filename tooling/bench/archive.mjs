// The archive of `pnpm bench batch` (gen-payloads records signed as 2.0.0,
// written as a directory tree, a .jsonl and a .tar.gz, plus the same records
// in erst's TypeScript format), and erst-batch timed on it: shared by the
// batch and web benchmarks, so that both measure the same records.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, sign as nodeSign } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { BENCH_DIR, REPO_ROOT, importPackage } from './lib.mjs';

export const BIN = join(REPO_ROOT, 'apps', 'batch', 'dist', 'bin.js');

const core = await importPackage('@erst/core');
const { InMemorySigner } = await importPackage('@erst/signer-memory');
const tar = createRequire(join(REPO_ROOT, 'apps', 'batch', 'package.json'))('tar-stream');

const keyPem = readFileSync(
  join(REPO_ROOT, 'tooling', 'fixtures', 'vectors', 'attestation-chain', 'signing.pem'),
  'utf8',
);
const signer = InMemorySigner.fromPem(keyPem);
const pubHex = signer.publicKeyHex;
const privateKey = createPrivateKey(keyPem);
const pubPem = core.publicKeyToPem(await signer.publicKey());

/** fast-json-stable-stringify 2.1.0 (what erst's AuditLogger uses), without its options. */
export function stableStringify(data) {
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

class Archive {
  constructor(root, name) {
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
    await new Promise((resolve, reject) =>
      this.pack.entry({ name: `logs/${day}/${rec.transaction_hash}.json` }, text, (e) => (e ? reject(e) : resolve())),
    );
  }

  async close() {
    this.lines.end();
    this.pack.finalize();
    await Promise.all([finished(this.lines), finished(this.gz)]);
  }
}

async function build(root, marker, N, SMALL) {
  const t = performance.now();
  const big = new Archive(root, 'big');
  const small = new Archive(root, 'small');
  const ts = createWriteStream(join(root, 'erst-ts.jsonl'));
  // gen-payloads writes without waiting for a pipe to drain: give it a file.
  const payloadFile = join(root, 'payloads.jsonl');
  const fd = openSync(payloadFile, 'w');
  const gen = spawnSync(process.execPath, [join(BENCH_DIR, 'gen-payloads.mjs'), String(N), 'erst-bench-batch'], {
    stdio: ['ignore', fd, 'inherit'],
  });
  closeSync(fd);
  if (gen.status !== 0) throw new Error('gen-payloads failed');
  const base = Date.parse('2026-10-01T00:00:00Z');
  let i = 0;
  for await (const line of createInterface({
    input: createReadStream(payloadFile),
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    if (!line) continue;
    const doc = JSON.parse(line);
    // Spread over 30 days, as a month of archive would be.
    const at = new Date(base + Math.floor((i * 30 * 86_400_000) / N));
    const rec = await core.generateWithSigner(
      signer,
      { transactionHash: doc.transaction_hash, payload: doc.payload },
      { attestation: null, now: () => at },
    );
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
    const tsRec = {
      trace,
      hash,
      signature,
      algorithm: 'Ed25519+SHA256',
      publicKey: pubPem,
      signer: { provider: 'software' },
    };
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

/**
 * The archive under `dir` (built there once: a marker file says it is
 * complete), or under a new temporary directory. `N` records, and the first
 * `SMALL` of them again for the memory comparison.
 */
export async function batchArchive({ N, SMALL, dir }) {
  const root = dir ?? mkdtempSync(join(tmpdir(), 'erst-bench-batch-'));
  const marker = join(root, `.built-${N}-${SMALL}`);
  if (!existsSync(marker)) await build(root, marker, N, SMALL);
  const archives = {
    big: {
      dir: join(root, 'big', 'logs'),
      jsonl: join(root, 'big', 'logs.jsonl'),
      targz: join(root, 'big', 'logs.tar.gz'),
    },
    small: {
      dir: join(root, 'small', 'logs'),
      jsonl: join(root, 'small', 'logs.jsonl'),
      targz: join(root, 'small', 'logs.tar.gz'),
    },
  };
  return { root, archives, pubHex };
}

/**
 * erst-batch on `input` (one child process, as cron runs it), timed from
 * spawn to exit; it must verify `expected` records. `extra`: more arguments
 * (a state file, say).
 */
export function runBatch(root, input, expected, extra = []) {
  return new Promise((resolve, reject) => {
    const out = join(root, 'report.json');
    const t = performance.now();
    const child = spawn(
      process.execPath,
      [BIN, 'verify', input, '--public-key', pubHex, '--json', out, '--quiet', '--stats', ...extra],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
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
        return reject(
          new Error(`erst-batch verified ${JSON.stringify(r.totals)} on ${input}, expected ${expected} valid`),
        );
      }
      const stats = JSON.parse(stderr.trim().split('\n').pop()).erst_batch_stats;
      resolve({ seconds, rss: stats.max_rss_mb });
    });
  });
}
