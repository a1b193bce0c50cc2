import { readFileSync } from 'node:fs';
import { SIGNING_PUBLIC_KEY_HEX, readVectorLines, vectorPath } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { checkEd25519PublicKey, selectBackend, signatureIsStrictlyEncoded } from '../ed25519.js';
import { Verifier } from '../verify.js';

const h = (x: string) => Uint8Array.from(Buffer.from(x, 'hex'));

interface SpecCase {
  index: number;
  message: string;
  pub_key: string;
  signature: string;
}
const speccheck = JSON.parse(readFileSync(vectorPath('ed25519-speccheck.json'), 'utf8')) as SpecCase[];

// The same policy answers as ed25519.test.ts pins for the other backends.
const POLICY = [false, false, false, true, false, false, false, false, false, false];

describe('the node:crypto backend (opt-in, for callers with their own worker threads)', () => {
  it('is chosen only when asked for', async () => {
    expect((await selectBackend('node')).name).toBe('node');
    expect((await selectBackend('auto')).name).toBe('webcrypto');
    expect(await new Verifier({ backend: 'node' }).backendName()).toBe('node');
  });

  it("gives the policy's answer on every ed25519-speccheck case", async () => {
    const node = await selectBackend('node');
    const answers = [];
    for (const c of speccheck) {
      const [pub, msg, sig] = [h(c.pub_key), h(c.message), h(c.signature)];
      answers.push(checkEd25519PublicKey(pub) === 'ok' && signatureIsStrictlyEncoded(sig) && (await node.verify(pub, msg, sig)));
    }
    expect(answers).toEqual(POLICY);
  });

  it('agrees with WebCrypto on every speccheck case even before the policy runs', async () => {
    const [node, wc] = [await selectBackend('node'), await selectBackend('webcrypto')];
    for (const c of speccheck) {
      const [pub, msg, sig] = [h(c.pub_key), h(c.message), h(c.signature)];
      expect(await node.verify(pub, msg, sig), `case ${c.index}`).toBe(await wc.verify(pub, msg, sig));
    }
  });

  it('returns false, never throws, for a bad signature or key', async () => {
    const node = await selectBackend('node');
    expect(await node.verify(new Uint8Array(32), new Uint8Array(1), new Uint8Array(64))).toBe(false);
    expect(await node.verify(new Uint8Array(31), new Uint8Array(1), new Uint8Array(64))).toBe(false);
  });

  it('verifies the shared vectors like the default backend', async () => {
    const verifier = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX], backend: 'node' });
    for (const file of ['erst-go-1.1.0.jsonl', 'erst-go-1.0.0.jsonl', 'erst-ts-legacy.jsonl']) {
      for (const line of readVectorLines(file)) {
        const r = await verifier.verify(line);
        expect(r.valid, `${file}: ${JSON.stringify(r.errors)}`).toBe(true);
      }
      const tampered = readVectorLines(file)[0]!.replace(/"signature":"(.)/, (_m, c: string) => `"signature":"${c === 'a' ? 'b' : 'a'}`);
      expect((await verifier.verify(tampered)).errors.map((e) => e.code)).toContain('ERR_SIGNATURE_INVALID');
    }
  });
});
