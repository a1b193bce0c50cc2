import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type HardwareAttestation,
  type PublicKey,
  generateWithSigner,
  hexToBytes,
  publicKeyFromRaw,
  seedSigner,
} from '@erst/core';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX, runBatch, runCli, tempDir } from '@erst/fixtures';
import { ROOT_DEFECTS, TestCa, attestationFor, forgedAnchorChain, lookAlikeCertificates } from '@erst/test-ca';
import { createPrivateKey } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';

const KEY: PublicKey = publicKeyFromRaw(hexToBytes(SIGNING_PUBLIC_KEY_HEX)!, 'ed25519');
const SEED = new Uint8Array(Buffer.from(createPrivateKey(SIGNING_KEY_PEM).export({ format: 'jwk' }).d!, 'base64url'));
const TX = '530ea1ea71c0810d3e19206c17a2a497101a832a8108bc83d5f6c3c699e520b8';
const PAYLOAD = { envelope_xdr: 'AAAAAgAAAAA=', result_meta_xdr: 'AAAAAwAAAAA=', events: ['e'], logs: ['l'] };

let dir: string;
let ca: TestCa;
beforeAll(async () => {
  dir = tempDir('erst-adv-att-');
  ca = await TestCa.create();
});

/** A record the attacker signs with their own key, carrying whatever attestation they like. */
async function record(name: string, attestation: HardwareAttestation): Promise<string> {
  const file = join(dir, name);
  writeFileSync(
    file,
    JSON.stringify(
      await generateWithSigner(seedSigner(SEED), { transactionHash: TX, payload: PAYLOAD }, { attestation }),
    ),
  );
  return file;
}

/** The record's error codes; an unattested key that nobody pinned is also untrusted. */
function codesOf(stdout: string): string[] {
  const [res] = JSON.parse(stdout).results;
  return [...new Set((res.errors as { code: string }[]).map((e) => e.code))]
    .filter((c) => c !== 'ERR_KEY_NOT_TRUSTED')
    .sort();
}

describe("a forged look-alike of the pinned root at the chain's end does not stand in for it", () => {
  for (const defect of ROOT_DEFECTS) {
    it(`${defect} root: exit 1 with the root's own defect, not attested`, async () => {
      const v = await forgedAnchorChain(defect, KEY, new Date());
      const rec = await record(`forged-${defect}.json`, attestationFor(v.chain));
      const root = join(dir, `${defect}-root.pem`);
      writeFileSync(root, v.rootPem);
      const r = await runCli(['audit', 'verify', rec, '--attestation-root', root, '--json']);
      expect(r.code, r.stderr).toBe(1);
      const [res] = JSON.parse(r.stdout).results;
      expect(res.trust).not.toBe('attested');
      expect(res.attestation.attested).toBe(false);
      expect(codesOf(r.stdout)).toEqual([...v.expect].sort());
      expect(res.errors.map((e: { code: string }) => e.code)).toContain('ERR_KEY_NOT_TRUSTED');
    });
  }
});

describe('chain search cost', () => {
  it('800 certificates with one name and distinct keys: refused fast with ERR_ATTESTATION_TOO_MANY_CERTS, by erst and erst-batch', async () => {
    // Before the cap this took minutes (about N^2 signature checks). The
    // machine is shared, so time is measured against the same binary
    // verifying an ordinary three-certificate chain.
    const rec = await record('many.json', attestationFor(await lookAlikeCertificates(800, new Date())));
    const ordinary = await record('ordinary.json', attestationFor(await ca.chain(KEY)));
    const root = join(dir, 'ca-root.pem');
    writeFileSync(root, ca.rootPem);
    const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
      const t = performance.now();
      const r = await run();
      return [r, performance.now() - t];
    };
    for (const [name, run] of [
      ['erst', (file: string) => runCli(['audit', 'verify', file, '--attestation-root', root, '--json'])],
      ['erst-batch', (file: string) => runBatch(['verify', file, '--attestation-root', root, '--workers', '1'])],
    ] as const) {
      const [, baseline] = await timed(() => run(ordinary));
      const [r, ms] = await timed(() => run(rec));
      expect(ms - baseline, name).toBeLessThan(2000);
      expect(r.code, `${name}: ${r.stderr}`).toBe(1);
      expect(r.stdout + r.stderr, name).toContain('ERR_ATTESTATION_TOO_MANY_CERTS');
      if (name === 'erst') expect(codesOf(r.stdout)).toEqual(['ERR_ATTESTATION_TOO_MANY_CERTS']);
    }
  });
});

describe('trust-file roots', () => {
  function trustDir(roots: string[]): { trust: string; base: string } {
    const base = tempDir('erst-adv-trust-');
    mkdirSync(join(base, 'trust'));
    writeFileSync(join(base, 'trust', 'root.pem'), ca.rootPem);
    writeFileSync(join(base, 'secret.txt'), 'SECRET-CONTENT-4f1d');
    writeFileSync(join(base, 'other-root.pem'), ca.rootPem);
    const trust = join(base, 'trust', 'trust.json');
    writeFileSync(trust, JSON.stringify({ attestation_roots: roots }));
    return { trust, base };
  }

  it("a path out of the trust file's directory (.., absolute, symlink out) is refused: exit 2, ERR_TRUST_FILE_INVALID, nothing of the file quoted", async () => {
    const rec = await record('plain.json', attestationFor(await ca.chain(KEY)));
    for (const entry of ['../secret.txt', '../other-root.pem', '/etc/passwd', 'link.pem']) {
      const { trust, base } = trustDir(['root.pem', entry]);
      symlinkSync(join(base, 'secret.txt'), join(base, 'trust', 'link.pem'));
      for (const run of [
        runCli(['audit', 'verify', rec, '--trust', trust]),
        runBatch(['verify', rec, '--trust', trust]),
      ]) {
        const r = await run;
        expect(r.code, `${entry}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain('ERR_TRUST_FILE_INVALID');
        expect(r.stderr).toContain('attestation_roots[1]');
        expect(r.stdout + r.stderr).not.toContain('SECRET-CONTENT');
        expect(r.stdout + r.stderr).not.toContain('root:x:0');
      }
    }
  });

  it('a root file that is no certificate is refused from a trust file as from --attestation-root: exit 2', async () => {
    const rec = await record('plain2.json', attestationFor(await ca.chain(KEY)));
    const { trust, base } = trustDir(['key.pem']);
    writeFileSync(
      join(base, 'trust', 'key.pem'),
      '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEASECWJ6tx9yrw1zk3SJGM8fe4Hu7cqvnXCaAUQ+iiKBY=\n-----END PUBLIC KEY-----\n',
    );
    const viaTrust = await runCli(['audit', 'verify', rec, '--trust', trust]);
    expect(viaTrust.code).toBe(2);
    expect(viaTrust.stderr).toContain('ERR_TRUST_FILE_INVALID');
    const viaFlag = await runCli(['audit', 'verify', rec, '--attestation-root', join(base, 'trust', 'key.pem')]);
    expect(viaFlag.code).toBe(2);
    expect(viaFlag.stderr).toContain('ERR_USAGE');
    for (const r of [viaTrust, viaFlag]) expect(r.stderr).not.toContain('MCowBQYDK2Vw');
  });
});
