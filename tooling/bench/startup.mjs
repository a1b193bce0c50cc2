#!/usr/bin/env node
// pnpm bench startup [--runs 15]
// Start-up as users see it: wall time from spawn to exit of the built
// commands on one record, against `node -e 0` (the floor: Node itself) in the
// same run. Runs are interleaved (one of each command per round), so that
// background load on a shared machine falls on all alike; medians over the
// rounds. Targets: `erst audit verify one.json` within 2 times `node -e 0`,
// `erst-batch verify one.json` within 3 times.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ERST_BIN, ERST_BATCH_BIN, importPackage, median, report, testSigner } from './lib.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const RUNS = Math.max(10, Number(values.runs));

const core = await importPackage('@erst/core');
const { signer } = await testSigner();
const dir = mkdtempSync(join(tmpdir(), 'erst-bench-startup-'));
const one = join(dir, 'one.json');
const record = await core.generateWithSigner(
  signer,
  { transactionHash: 'ab'.repeat(32), payload: { envelope_xdr: 'AAAA' } },
  { attestation: null },
);
writeFileSync(one, `${JSON.stringify(record, null, 2)}\n`);

const COMMANDS = {
  node: ['-e', '0'],
  erst_version: [ERST_BIN, '--version'],
  erst_verify: [ERST_BIN, 'audit', 'verify', one],
  batch_verify: [ERST_BATCH_BIN, 'verify', one, '--quiet'],
};
const times = Object.fromEntries(Object.keys(COMMANDS).map((k) => [k, []]));
try {
  for (let round = 0; round < RUNS; round++) {
    for (const [name, args] of Object.entries(COMMANDS)) {
      const t = performance.now();
      const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8' });
      const ms = performance.now() - t;
      if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
      times[name].push(ms);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const ms = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, Number(median(v).toFixed(1))]));
const ratio = (k) => Number((ms[k] / ms.node).toFixed(2));
console.log(`start-up, median of ${RUNS} interleaved runs (wall time, spawn to exit):`);
console.log(`  node -e 0                       ${ms.node} ms`);
console.log(`  erst --version                  ${ms.erst_version} ms  (${ratio('erst_version')} x node)`);
console.log(`  erst audit verify one.json      ${ms.erst_verify} ms  (${ratio('erst_verify')} x node; target 2)`);
console.log(`  erst-batch verify one.json      ${ms.batch_verify} ms  (${ratio('batch_verify')} x node; target 3)`);
report({
  bench: 'startup',
  runs: RUNS,
  node_ms: ms.node,
  erst_version_ms: ms.erst_version,
  erst_verify_ms: ms.erst_verify,
  batch_verify_ms: ms.batch_verify,
  erst_version_ratio: ratio('erst_version'),
  ratio: ratio('erst_verify'),
  batch_ratio: ratio('batch_verify'),
});
