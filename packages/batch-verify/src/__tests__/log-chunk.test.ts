import type { VerifyResult } from '@erst/verify';
import { describe, expect, it } from 'vitest';
import { chunkLog } from '../log-chunk.js';

const NOTE = 'example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— example.com/log abcd\n';
const PROOF = `c2sp.org/tlog-proof@v1\nindex 3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n${NOTE}`;

/** A result whose log proof verified at `index`, as the worker passes it. */
function verified(index: number): VerifyResult {
  return { trace_hash: 'ab'.repeat(32), log: { verified: true, index } } as unknown as VerifyResult;
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe("chunkLog: a verified record's checkpoint note, found without parsing the record again", () => {
  it("takes the outermost object's log_proof, never one nested in the payload or quoted in a string", () => {
    const decoys = {
      payload: { log_proof: 'c2sp.org/tlog-proof@v1\nindex 9\n\nnot the note\n', text: '"log_proof":"x\\n\\ny"' },
      logs: ['"log_proof"', { log_proof: 'x\n\ny' }],
    };
    const records = [
      JSON.stringify({ ...decoys, log_proof: PROOF }),
      // Whitespace around the colon, and the member first.
      `{ "log_proof" :\n "${PROOF.replaceAll('\n', '\\n')}", "payload": ${JSON.stringify(decoys.payload)} }`,
      // A byte order mark, and escapes the string decodes.
      `\ufeff${JSON.stringify({ a: 'x\\', log_proof: PROOF.replace('—', '\u2014') })}`,
    ];
    const out = chunkLog(
      records.map(() => verified(3)),
      records.map(bytes),
    );
    expect(out).toEqual({ trace: Array(3).fill('ab'.repeat(32)), proof: [3, 3, 3], note: [0, 0, 0], notes: [NOTE] });
  });

  it('a record without a top-level log_proof, or whose proof did not verify, has no note', () => {
    const nested = JSON.stringify({ payload: { log_proof: PROOF } });
    const unverified = { ...verified(3), log: { verified: false, index: 3 } } as unknown as VerifyResult;
    const out = chunkLog([verified(3), unverified], [bytes(nested), bytes(JSON.stringify({ log_proof: PROOF }))]);
    expect(out).toEqual({ trace: ['ab'.repeat(32), 'ab'.repeat(32)], proof: [-1, -1], note: [-1, -1], notes: [] });
  });
});
