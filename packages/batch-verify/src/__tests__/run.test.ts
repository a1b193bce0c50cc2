import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWithSigner, isErstError } from '@erst/core';
import { tempDir } from '@erst/fixtures';
import { generateKeyPair } from '@erst/signer-memory';
import { describe, expect, it } from 'vitest';
// The built package: its worker threads run dist/worker.js, which only exists built.
import { type VerifyRunOptions, runVerify } from '../../dist/index.js';

const { signer, publicKeyHex } = generateKeyPair();

async function archiveOf(names: string[]): Promise<string> {
  const dir = join(tempDir('erst-batch-verify-'), 'logs');
  mkdirSync(dir);
  for (const [i, name] of names.entries()) {
    const record = await generateWithSigner(signer, {
      transactionHash: (i + 1).toString(16).padStart(64, '0'),
      payload: { events: [] },
    });
    writeFileSync(join(dir, name), JSON.stringify(record));
  }
  return dir;
}

async function refusal(opts: VerifyRunOptions): Promise<{ code: string; message: string; details?: unknown }> {
  try {
    await runVerify(opts);
  } catch (e) {
    if (isErstError(e)) return e;
    throw e;
  }
  throw new Error('runVerify accepted the options');
}

describe('runVerify: options are checked before anything is read or written', () => {
  const cases: [string, Partial<VerifyRunOptions>, string[]][] = [
    ['no worker', { workers: 0 }, ['workers']],
    ['too many workers', { workers: 1025 }, ['workers']],
    ['a fractional worker count', { workers: 1.5 }, ['workers']],
    ['a record limit of zero', { maxBytes: 0 }, ['maxBytes']],
    ['shard 4 of 3', { shard: { index: 4, count: 3 } }, ['shard']],
    ['an expected state that is not a digest', { state: { path: 'x', expect: 'abc' } }, ['state.expect']],
    ['an input that is not a path', { inputs: [''] }, ['inputs']],
    [
      'a log and a shard: completeness needs the whole archive',
      { log: 'log', shard: { index: 1, count: 2 } },
      ['log', 'shard'],
    ],
    ['a log without a log key', { log: 'log' }, ['log', 'logKeys']],
    ['a log key that is not one', { log: 'log', verify: { logKeys: ['nonsense'] } }, ['logKeys']],
  ];
  for (const [what, change, options] of cases) {
    it(`${what}: ERR_OPTIONS_INVALID naming ${options.join(', ')}, no flag, no state file`, async () => {
      const dir = tempDir('erst-batch-verify-options-');
      const state = join(dir, 'state.jsonl');
      const base: VerifyRunOptions = { inputs: [dir], verify: {}, workers: 1, state: { path: state } };
      const e = await refusal({ ...base, ...change });
      expect(e.code).toBe('ERR_OPTIONS_INVALID');
      expect(e.details).toEqual({ options });
      expect(e.message).toContain(`\`${options[0]}\``);
      expect(e.message).not.toMatch(/--/);
      expect(existsSync(state)).toBe(false);
    });
  }
});

describe('runVerify with a state file', () => {
  it('a state written for another shard: ERR_OPTIONS_INVALID naming `state.path` and `shard`', async () => {
    const logs = await archiveOf(['a.json']);
    const state = join(logs, '..', 'state.jsonl');
    const first = await runVerify({
      inputs: [logs],
      verify: { publicKeys: [publicKeyHex] },
      workers: 1,
      shard: { index: 1, count: 2 },
      state: { path: state },
    });
    expect(first.state?.status).toBe('baseline');
    const e = await refusal({
      inputs: [logs],
      verify: { publicKeys: [publicKeyHex] },
      workers: 1,
      shard: { index: 2, count: 2 },
      state: { path: state },
    });
    expect(e).toMatchObject({ code: 'ERR_OPTIONS_INVALID', details: { options: ['state.path', 'shard'] } });
    expect(e.message).toContain('`shard` 1/2, and this run has `shard` 2/2');
    expect(e.message).not.toMatch(/--/);
  });

  it("the report's messages about the state and empty inputs name options, never flags", async () => {
    const logs = await archiveOf(['a.json']);
    const empty = join(logs, '..', 'empty');
    mkdirSync(empty);
    const report = await runVerify({
      inputs: [logs, empty],
      verify: { publicKeys: [publicKeyHex] },
      workers: 1,
      // A key but no state file and no `init`: the state is taken as deleted.
      state: { path: join(logs, '..', 'state.jsonl'), key: signer },
    });
    expect(report.exit_code).toBe(2);
    const messages = Object.fromEntries(report.failures.map((f) => [f.code, f.message]));
    expect(messages.ERR_STATE_TAMPERED).toContain('`state.key` says one was kept');
    expect(messages.ERR_STATE_TAMPERED).toContain('pass `state.init`');
    expect(messages.ERR_ARCHIVE_EMPTY).toContain('pass `allowEmpty`');
    for (const f of report.failures) expect(f.message).not.toMatch(/--/);
  });

  it('signed with `state.key` and pinned with `state.expect`, an older state put back is a rollback', async () => {
    const logs = await archiveOf(['a.json', 'b.json']);
    const path = join(logs, '..', 'state.jsonl');
    const opts = { inputs: [logs], verify: { publicKeys: [publicKeyHex] }, workers: 2 };
    const first = await runVerify({ ...opts, state: { path, key: signer, init: true } });
    expect(first.state).toMatchObject({ status: 'baseline', written: true });
    const digest = first.state!.digests![0]!.digest;
    const second = await runVerify({ ...opts, state: { path, key: signer, expect: digest } });
    expect(second.state).toMatchObject({ status: 'compared', signature_checked: true, written: true });
    expect(second.exit_code).toBe(0);
    // The second run's state is in place; the first run's digest no longer names it.
    const third = await runVerify({ ...opts, state: { path, key: signer, expect: digest } });
    expect(third.exit_code).toBe(1);
    expect(third.by_code).toEqual({ ERR_STATE_ROLLBACK: 1 });
    expect(third.failures[0]!.message).toContain('`state.expect` names');
  });
});
