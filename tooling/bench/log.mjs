#!/usr/bin/env node
// pnpm bench log [--records 50000] [--rounds 3] [--sign-rounds 1] [--checkpoint-every 10000] [--hsm-records 20000] [--no-hsm] [--dir DIR]
//
// A logged archive, end to end with the built binaries, as cron and CI run them
// (one child process per run, timed from spawn to exit):
//   sign_per_s    `erst audit sign --batch --log --no-record-signature` of
//                 gen-payloads records into a fresh log (one checkpoint)
//   verify_per_s  `erst-batch verify <records.jsonl> --log <dir> --log-key`
//                 (the log read and verified once, every record verified and
//                 looked up in it, completeness both ways)
//   ceiling       the one `pnpm bench batch` uses (lib.mjs ceilingRate):
//                 SHA-256 plus one native Ed25519 verification per record,
//                 every core, records in memory, on the same payloads signed
//                 as 2.0.0, in the same run. ratio = verify_per_s / ceiling.
// Also, for where the time goes: erst-batch on the 2.0.0 records (no log),
// `erst log verify` alone, and erst-batch --log on one worker.
// With SoftHSM2: the same signing on a SoftHSM token to a .jsonl, against the
// raw C_SignAsync ceiling of `pnpm bench hsm` (softhsm.mjs openCeiling), with
// the token signatures counted (the summary line's count, cross-checked: one
// per checkpoint). --hsm-records is 20,000 by default, issue 14's SoftHSM batch
// size: at 2,000 the run took 1.6 s, mostly process start-up (0.6-0.85 s of CPU
// before the first record), and 2x the ceiling (11,434/s) would be 0.175 s, less
// than any process start-up. Rates are medians over rounds. The last line is JSON.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR, REPO_ROOT, VECTORS_DIR, ceilingRate, importPackage, median, report } from './lib.mjs';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '3' },
    'sign-rounds': { type: 'string', default: '1' },
    'hsm-records': { type: 'string', default: '20000' },
    // Kept at 10,000 so that sign_per_s compares with earlier runs. One checkpoint for all
    // 50,000 works too: the log stage reads held records back from its journal, 4 MiB at a time.
    'checkpoint-every': { type: 'string', default: '10000' },
    'no-hsm': { type: 'boolean', default: false },
    dir: { type: 'string' },
  },
});
const N = Number(values.records);
const ROUNDS = Number(values.rounds);
const SIGN_ROUNDS = Number(values['sign-rounds']);
const HSM_N = Math.min(N, Number(values['hsm-records']));
const CORES = availableParallelism();
const ERST = join(REPO_ROOT, 'apps', 'cli', 'dist', 'bin.js');
const BATCH = join(REPO_ROOT, 'apps', 'batch', 'dist', 'bin.js');
const ORIGIN = 'bench.erst.test/log';

const root = values.dir ?? mkdtempSync(join(tmpdir(), 'erst-bench-log-'));
const keyFile = join(VECTORS_DIR, 'attestation-chain', 'signing.pem');
const { InMemorySigner } = await importPackage('@erst/signer-memory');
const pubHex = InMemorySigner.fromPem(readFileSync(keyFile, 'utf8')).publicKeyHex;

/** Runs a built binary; resolves with seconds from spawn to exit and its output. Fails the bench on a bad exit. */
function timed(bin, args, { env = process.env, expect = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code !== expect) reject(new Error(`${bin} ${args.join(' ')}: exit ${code}\n${err}`));
      else resolve({ seconds, out, err });
    });
  });
}

// ---------------------------------------------------------------- inputs
const payloadFile = join(root, 'payloads.jsonl');
{
  const fd = openSync(payloadFile, 'w');
  const gen = spawn(process.execPath, [join(BENCH_DIR, 'gen-payloads.mjs'), String(N), 'erst-bench-log'], {
    stdio: ['ignore', fd, 'inherit'],
  });
  await new Promise((r) => gen.on('close', r));
  closeSync(fd);
}
const vkey = (await timed(ERST, ['log', 'verifier-key', '--origin', ORIGIN, '--key-file', keyFile])).out.trim();

// ---------------------------------------------------------------- signing into a log
const logDir = join(root, 'log');
const logged = join(root, 'logged.jsonl');
const signSeconds = [];
for (let round = 0; round < SIGN_ROUNDS; round++) {
  rmSync(logDir, { recursive: true, force: true });
  rmSync(logged, { force: true });
  rmSync(`${logged}.log-journal`, { force: true });
  await timed(ERST, ['log', 'init', logDir, '--origin', ORIGIN, '--key-file', keyFile]);
  const r = await timed(ERST, [
    'audit',
    'sign',
    '--key-file',
    keyFile,
    '--batch',
    payloadFile,
    '--log',
    logDir,
    '--no-record-signature',
    '--checkpoint-every',
    values['checkpoint-every'],
    '--out',
    logged,
    '--quiet',
  ]);
  signSeconds.push(r.seconds);
}
const signPerS = N / median(signSeconds);

// The same payloads signed as 2.0.0: what the ceiling (and erst-batch without a log) verify.
const signed20 = join(root, 'signed-2.0.0.jsonl');
await timed(ERST, ['audit', 'sign', '--key-file', keyFile, '--batch', payloadFile, '--out', signed20, '--quiet']);

// ---------------------------------------------------------------- verifying
async function batchRun(input, extra) {
  const json = join(root, 'report.json');
  const r = await timed(BATCH, ['verify', input, '--public-key', pubHex, '--json', json, '--quiet', ...extra]);
  const rep = JSON.parse(readFileSync(json, 'utf8'));
  if (rep.totals.valid !== N) throw new Error(`erst-batch verified ${rep.totals.valid} of ${N} records`);
  if (extra.includes('--log') && (rep.log?.status !== 'verified' || rep.log.records_in_log !== N)) {
    throw new Error(`erst-batch --log: ${JSON.stringify(rep.log)}`);
  }
  return r.seconds;
}
const withLog = ['--log', logDir, '--log-key', vkey];
const verifySeconds = [];
const plainSeconds = [];
const logOnlySeconds = [];
for (let round = 0; round < ROUNDS; round++) {
  verifySeconds.push(await batchRun(logged, withLog));
  plainSeconds.push(await batchRun(signed20, []));
  logOnlySeconds.push((await timed(ERST, ['log', 'verify', logDir, '--log-key', vkey])).seconds);
}
const oneWorker = await batchRun(logged, [...withLog, '--workers', '1']);
const verifyPerS = N / median(verifySeconds);
const ceiling = await ceilingRate({ jsonl: signed20, pubHex, count: N, rounds: ROUNDS, cores: CORES });

console.log(`${N} records, ${ROUNDS} rounds (${SIGN_ROUNDS} signing), ${CORES} cores`);
console.log(`  erst audit sign --batch --log --no-record-signature   ${signPerS.toFixed(0).padStart(7)}/s`);
console.log(`  erst-batch verify --log                              ${verifyPerS.toFixed(0).padStart(7)}/s`);
console.log(`  erst-batch verify --log, 1 worker                    ${(N / oneWorker).toFixed(0).padStart(7)}/s`);
console.log(
  `  erst-batch verify, the same payloads as 2.0.0        ${(N / median(plainSeconds)).toFixed(0).padStart(7)}/s`,
);
console.log(
  `  erst log verify alone (whole run)                    ${median(logOnlySeconds).toFixed(2).padStart(7)} s`,
);
console.log(`  ceiling (sha256 + native Ed25519, ${CORES} threads)       ${ceiling.toFixed(0).padStart(7)}/s`);

// ---------------------------------------------------------------- SoftHSM
let hsm = {};
const { hasSoftHsm, freshToken, openCeiling } = await import('./softhsm.mjs');
if (!values['no-hsm'] && hasSoftHsm()) {
  const token = await freshToken('ed25519');
  const pinFile = join(root, 'pin');
  writeFileSync(pinFile, token.base.pin, { mode: 0o600 });
  const keyArgs = [
    '--hsm-provider',
    'pkcs11',
    '--pkcs11-module',
    token.base.module,
    '--token-label',
    token.base.tokenLabel,
    '--pin-file',
    pinFile,
    '--key-id',
    'be01',
  ];
  const hsmPayloads = join(root, 'hsm-payloads.jsonl');
  // The first HSM_N of the same payloads (gen-payloads is deterministic for a seed), without reading 850 MB as text.
  const fd = openSync(hsmPayloads, 'w');
  const gen = spawn(process.execPath, [join(BENCH_DIR, 'gen-payloads.mjs'), String(HSM_N), 'erst-bench-log'], {
    stdio: ['ignore', fd, 'inherit'],
  });
  await new Promise((r) => gen.on('close', r));
  closeSync(fd);
  const hsmSeconds = [];
  let signatures;
  for (let round = 0; round < ROUNDS; round++) {
    const hsmLog = join(root, `hsm-log-${round}`);
    const out = join(root, `hsm-${round}.jsonl`);
    // A --dir kept from an earlier run holds these already.
    rmSync(hsmLog, { recursive: true, force: true });
    rmSync(out, { force: true });
    rmSync(`${out}.log-journal`, { force: true });
    await timed(ERST, ['log', 'init', hsmLog, '--origin', ORIGIN, ...keyArgs]);
    // Not --quiet: the summary line states the signatures the token made.
    const r = await timed(ERST, [
      'audit',
      'sign',
      ...keyArgs,
      '--batch',
      hsmPayloads,
      '--log',
      hsmLog,
      '--no-record-signature',
      '--out',
      out,
    ]);
    hsmSeconds.push(r.seconds);
    const counted = /(\d+) (?:key|token) signatures?/.exec(r.err);
    if (!counted) throw new Error(`no signature count in the summary: ${r.err}`);
    signatures = Number(counted[1]);
  }
  const ceilingSide = openCeiling({
    pkcs11js: token.pkcs11js,
    core: token.core,
    label: token.base.tokenLabel,
    mech: token.mech,
    sessions: token.lib.defaultPoolSize(),
    pin: token.base.pin,
  });
  const ceilingRates = [];
  try {
    for (let round = 0; round < ROUNDS; round++) ceilingRates.push(HSM_N / ((await ceilingSide.run(HSM_N)) / 1000));
  } finally {
    ceilingSide.close();
    rmSync(token.dir, { recursive: true, force: true });
  }
  const hsmPerS = HSM_N / median(hsmSeconds);
  const hsmCeiling = median(ceilingRates);
  console.log(
    `  SoftHSM: ${HSM_N} records --log --no-record-signature to .jsonl ${hsmPerS.toFixed(0)}/s with ${signatures} token signature(s); raw C_SignAsync ceiling ${hsmCeiling.toFixed(0)}/s`,
  );
  hsm = {
    hsm_records: HSM_N,
    hsm_sign_per_s: Math.round(hsmPerS),
    hsm_ceiling_per_s: Math.round(hsmCeiling),
    hsm_ratio: Number((hsmPerS / hsmCeiling).toFixed(3)),
    hsm_token_signatures: signatures,
  };
} else {
  console.log('  SoftHSM: skipped (--no-hsm, or SoftHSM2 not installed)');
}

if (!values.dir) rmSync(root, { recursive: true, force: true });
report({
  bench: 'log',
  records: N,
  sign_per_s: Math.round(signPerS),
  verify_per_s: Math.round(verifyPerS),
  ceiling_per_s: Math.round(ceiling),
  ratio: Number((verifyPerS / ceiling).toFixed(3)),
  verify_one_worker_per_s: Math.round(N / oneWorker),
  verify_2_0_0_per_s: Math.round(N / median(plainSeconds)),
  log_verify_seconds: Number(median(logOnlySeconds).toFixed(2)),
  ...hsm,
  checkpoint_every: Number(values['checkpoint-every']),
  workers: CORES,
  rounds: ROUNDS,
});
