import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@erst/fixtures';
import pkcs11js from 'pkcs11js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const INSTALL = 'apt-get install -y softhsm2';

/** Fails (never skips) when SoftHSM2 is not installed, saying how to install it. */
export function requireSoftHsm(): void {
  const util = spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8' });
  if (util.error || util.status !== 0) {
    throw new Error(
      `SoftHSM2 is required for these tests but softhsm2-util was not found: install it with \`${INSTALL}\``,
    );
  }
  if (!existsSync(SOFTHSM_MODULE)) {
    throw new Error(
      `SoftHSM2 is required for these tests but ${SOFTHSM_MODULE} is missing: install it with \`${INSTALL}\``,
    );
  }
}

export interface SoftHsm {
  dir: string;
  conf: string;
  module: string;
  label: string;
  pin: string;
  soPin: string;
  /** Environment for `runCli`: the token config, module, token label and PIN. */
  env: Record<string, string>;
}

/**
 * A fresh SoftHSM2 token store in a temporary directory, used by this test
 * process and its children through SOFTHSM2_CONF. SoftHSM reads the file at
 * C_Initialize, so this runs before anything loads the module.
 */
export function createSoftHsm(label = 'erst-test', pin = 'Zq7-erst-pin', soPin = 'So-erst-8842'): SoftHsm {
  requireSoftHsm();
  for (const k of Object.keys(process.env)) if (k.startsWith('ERST_')) delete process.env[k];
  const dir = tempDir('erst-softhsm-');
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
  );
  process.env.SOFTHSM2_CONF = conf;
  const hsm: SoftHsm = {
    dir,
    conf,
    module: SOFTHSM_MODULE,
    label,
    pin,
    soPin,
    env: {
      SOFTHSM2_CONF: conf,
      ERST_PKCS11_MODULE: SOFTHSM_MODULE,
      ERST_PKCS11_TOKEN_LABEL: label,
      ERST_PKCS11_PIN: pin,
    },
  };
  addToken(hsm, label, pin, soPin);
  return hsm;
}

export function addToken(hsm: SoftHsm, label: string, pin = hsm.pin, soPin = hsm.soPin): void {
  const r = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin], {
    env: { ...process.env, SOFTHSM2_CONF: hsm.conf },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`softhsm2-util --init-token failed: ${r.stderr}`);
}

export type P11 = InstanceType<typeof pkcs11js.PKCS11>;

/**
 * A second, raw pkcs11js handle on the same library, for setting up and
 * sabotaging the token under a signer. The library keeps one state per
 * process, so this shares login state with any open signer; it is never
 * finalized (that would close the signer's sessions too).
 */
export function rawToken(hsm: SoftHsm, label = hsm.label): { p11: P11; slot: Buffer; session: () => Buffer } {
  const p11 = new pkcs11js.PKCS11();
  p11.load(hsm.module);
  try {
    p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (error) {
    if ((error as Error).message !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw error;
  }
  const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === label);
  if (!slot) throw new Error(`no SoftHSM token labelled ${label}`);
  return {
    p11,
    slot,
    /** A read-write session, logged in as the user. */
    session: () => {
      const s = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      try {
        p11.C_Login(s, pkcs11js.CKU_USER, hsm.pin);
      } catch (error) {
        if ((error as Error).message !== 'CKR_USER_ALREADY_LOGGED_IN') throw error;
      }
      return s;
    },
  };
}

export function findOne(p11: P11, session: Buffer, template: { type: number; value?: unknown }[]): Buffer {
  p11.C_FindObjectsInit(session, template as Parameters<P11['C_FindObjectsInit']>[1]);
  const found = p11.C_FindObjects(session, 10);
  p11.C_FindObjectsFinal(session);
  if (found.length !== 1) throw new Error(`expected one object, found ${found.length}`);
  return found[0]!;
}

/** Generates an RSA key pair on the token (a key erst cannot sign with). */
export function generateRsaKey(hsm: SoftHsm, label: string, id: string): void {
  const { p11, session } = rawToken(hsm);
  const s = session();
  const idBuf = Buffer.from(id, 'hex');
  p11.C_GenerateKeyPair(
    s,
    { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
    [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_VERIFY, value: true },
      { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 },
      { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_ID, value: idBuf },
    ],
    [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SIGN, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_ID, value: idBuf },
    ],
  );
  p11.C_CloseSession(s);
}

/** One DER TLV at `offset`: where its contents start and where it ends. */
function tlv(der: Uint8Array, offset: number): { start: number; end: number } {
  let len = der[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | der[start + i]!;
    start += n;
  }
  return { start, end: start + len };
}

/** The DER subject Name of a certificate (CKA_SUBJECT, which SoftHSM requires on certificate objects). */
export function certificateSubject(der: Uint8Array): Uint8Array {
  const tbs = tlv(der, tlv(der, 0).start);
  let at = tbs.start;
  if (der[at] === 0xa0) at = tlv(der, at).end; // [0] version
  for (let i = 0; i < 4; i++) at = tlv(der, at).end; // serial, signature, issuer, validity
  return der.subarray(at, tlv(der, at).end);
}

/** Stores a DER certificate on the token as a CKO_CERTIFICATE object. */
export function importCertificate(hsm: SoftHsm, der: Uint8Array, label: string, idHex: string): void {
  const { p11, session } = rawToken(hsm);
  const s = session();
  const template: { type: number; value: unknown }[] = [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
    { type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: false },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: Buffer.from(idHex, 'hex') },
    { type: pkcs11js.CKA_VALUE, value: Buffer.from(der) },
    { type: pkcs11js.CKA_SUBJECT, value: Buffer.from(certificateSubject(der)) },
  ];
  p11.C_CreateObject(s, template as Parameters<P11['C_CreateObject']>[1]);
  p11.C_CloseSession(s);
}

/** Files in `dir` other than those listed: an aborted write must leave nothing behind (not even a temp file). */
export function strayFiles(dir: string, keep: readonly string[] = []): string[] {
  return readdirSync(dir).filter((f) => !keep.includes(f));
}
