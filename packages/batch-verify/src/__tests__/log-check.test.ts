import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex } from '@erst/core';
import { tempDir } from '@erst/fixtures';
import { initLog } from '@erst/log-store';
import { generateKeyPair } from '@erst/signer-memory';
import { formatVerifierKey, noteSignerFromSigner } from '@erst/tlog';
import { describe, expect, it } from 'vitest';
import { LogCheck } from '../log.js';
import { ReportBuilder } from '../report.js';

const ORIGIN = 'log-check.test/log';

/** A log of `n` entries (entry i is 32 bytes of i + 1) and its verifier key. */
async function makeLog(n: number): Promise<{ dir: string; vkey: string; entries: Uint8Array[]; note: string }> {
  const dir = join(tempDir('log-check'), 'log');
  const { signer } = generateKeyPair();
  const writer = await initLog(dir, { origin: ORIGIN, signer: await noteSignerFromSigner(ORIGIN, signer) });
  const entries = Array.from({ length: n }, (_, i) => new Uint8Array(32).fill(i + 1));
  for (const e of entries) writer.append(e);
  await writer.checkpoint();
  await writer.close();
  const vkey = formatVerifierKey(ORIGIN, await signer.publicKey());
  return { dir, vkey, entries, note: readFileSync(join(dir, 'checkpoint'), 'utf8') };
}

function finish(check: LogCheck) {
  const builder = new ReportBuilder(['archive.jsonl'], null, { keys: [], trust_files: [] } as never);
  return check.finish(builder, undefined);
}

// The verifier threads start before the log is read (LogCheck.start): results that arrive first must count exactly
// as results that arrive after, whatever the order.
describe('LogCheck: results that arrive while the log is still being read', () => {
  it('are kept and checked once it is: completeness both ways, as if they had come after', async () => {
    const { dir, vkey, entries, note } = await makeLog(5);
    const check = LogCheck.start(dir, [vkey]);
    // Before the log is read: record 0 by its hash (no verified proof), record 1 by its proof, and a record whose
    // proof names index 2 while its trace is entry 3's (a proof for another index).
    check.observe(['a', 'b', 'c'], [0, 1, 2], {
      trace: [bytesToHex(entries[0]!), bytesToHex(entries[1]!), bytesToHex(entries[3]!)],
      proof: [-1, 1, 2],
      note: [-1, 0, 0],
      notes: [note],
    });
    await check.ready();
    check.observe(['d'], [3], { trace: [bytesToHex(entries[4]!)], proof: [4], note: [0], notes: [note] });
    const summary = finish(check);
    expect(summary.status).toBe('failed');
    expect(summary.records_in_log).toBe(3);
    expect(summary.not_in_log).toEqual(['c']);
    // Entries 2 and 3 have no record at their index: entry 3's trace came with a proof for index 2.
    expect(summary.missing).toEqual([2, 3]);
  });

  it('a log that fails to verify is reported, and results that came first do not throw', async () => {
    const { dir, entries } = await makeLog(3);
    const other = await makeLog(1);
    const check = LogCheck.start(dir, [other.vkey]);
    check.observe(['a'], [0], { trace: [bytesToHex(entries[0]!)], proof: [-1], note: [-1], notes: [] });
    await check.ready();
    const summary = finish(check);
    expect(summary.status).toBe('failed');
    expect(summary.records_in_log).toBe(0);
  });

  it('reads nothing before begin or ready: a log that appears after start is the one checked', async () => {
    const { dir, vkey, entries, note } = await makeLog(2);
    const later = join(tempDir('log-check-later'), 'log');
    const check = LogCheck.start(later, [vkey]);
    check.observe(['a'], [0], { trace: [bytesToHex(entries[0]!)], proof: [0], note: [0], notes: [note] });
    // Had start read the log, it would have found no checkpoint here.
    cpSync(dir, later, { recursive: true });
    check.begin();
    check.begin();
    await check.ready();
    check.observe(['b'], [1], { trace: [bytesToHex(entries[1]!)], proof: [1], note: [0], notes: [note] });
    const summary = finish(check);
    expect(summary.status).toBe('verified');
    expect(summary.records_in_log).toBe(2);
  });

  it('a bad log key fails at once, before anything is read', () => {
    expect(() => LogCheck.start('no-such-dir', ['nonsense'])).toThrow(/logKeys/);
  });
});
