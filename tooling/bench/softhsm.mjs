// A fresh SoftHSM2 token and the raw C_SignAsync ceiling, shared by the
// benchmarks that sign with a token (`pnpm bench hsm`, `pnpm bench log`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, importPackage } from './lib.mjs';

export const MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/** Whether SoftHSM2 is installed (softhsm2-util and the module). */
export function hasSoftHsm() {
  const util = spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8' });
  return !(util.error || util.status !== 0 || !existsSync(MODULE));
}

/**
 * A fresh token store (SOFTHSM2_CONF is set for this process, read by SoftHSM
 * at C_Initialize) with one initialized token and a key `be01` of `algorithm`.
 * Exits with status 2 when SoftHSM2 is not installed.
 */
export async function freshToken(algorithm) {
  if (!hasSoftHsm()) {
    console.error(`this benchmark needs SoftHSM2 (softhsm2-util and ${MODULE}): apt-get install -y softhsm2`);
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'erst-bench-hsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  const LABEL = 'erst-bench';
  const PIN = 'bench-pin-1234';
  const init = spawnSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', LABEL, '--so-pin', 'bench-so-5678', '--pin', PIN],
    { encoding: 'utf8' },
  );
  if (init.status !== 0) throw new Error(`softhsm2-util --init-token failed: ${init.stderr}`);

  const lib = await importPackage('@erst/signer-pkcs11');
  const core = await importPackage('@erst/core');
  const pkcs11js = createRequire(join(REPO_ROOT, 'packages/signer-pkcs11/package.json'))('pkcs11js');
  const base = { module: MODULE, tokenLabel: LABEL, pin: PIN };
  const key = await lib.generateTokenKeyPair({ ...base, label: 'bench', id: 'be01', algorithm });
  const mech = { mechanism: algorithm === 'ed25519' ? lib.CKM_EDDSA : pkcs11js.CKM_ECDSA };
  return { dir, conf, base, lib, core, pkcs11js, key, mech };
}

export function findKey(pkcs11js, p11, session) {
  p11.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_ID, value: Buffer.from('be01', 'hex') },
  ]);
  const k = p11.C_FindObjects(session);
  p11.C_FindObjectsFinal(session);
  return k;
}

/**
 * The ceiling: raw C_SignAsync on its own `sessions`, one loop per session,
 * no canonicalization or hashing. It runs on a second pkcs11js handle while
 * a signer is open (same library state, so the login is shared), or logs in
 * with `pin` when none is.
 */
export function openCeiling({ pkcs11js, core, label, mech, sessions: count, pin }) {
  const p11 = new pkcs11js.PKCS11();
  p11.load(MODULE);
  try {
    p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (error) {
    if (error.message !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw error;
  }
  const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === label);
  const sessions = Array.from({ length: count }, () => p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION));
  // Without a signer open in this process, the handle logs in itself (`pin`).
  if (pin !== undefined) p11.C_Login(sessions[0], pkcs11js.CKU_USER, pin);
  const k = findKey(pkcs11js, p11, sessions[0]);
  const digests = Array.from({ length: 256 }, (_, i) => core.sha256(Buffer.from(`ceiling ${i}`)));
  return {
    async run(n) {
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        sessions.map(async (s) => {
          while (next < n) {
            const i = next++;
            p11.C_SignInit(s, mech, k);
            await p11.C_SignAsync(s, Buffer.from(digests[i & 255]), Buffer.alloc(72));
          }
        }),
      );
      return performance.now() - t0;
    },
    close() {
      for (const s of sessions) p11.C_CloseSession(s);
      p11.close();
    },
  };
}
