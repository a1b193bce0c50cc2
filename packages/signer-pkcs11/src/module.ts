import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { type ErrorCode, ErstError } from '@erst/core';
import { type P11, pk } from './constants.js';

/** The CKR_* name of a pkcs11js error (pkcs11js puts it in `.message` and the number in `.code`). */
export function ckrName(error: unknown): string | undefined {
  const m = (error as { message?: unknown } | null)?.message;
  return typeof m === 'string' && /^CKR_[A-Z0-9_]+$/.test(m) ? m : undefined;
}

/**
 * A cause safe to attach to an ErstError: the CKR name and the PKCS#11
 * function only. pkcs11js errors carry native stacks; nothing of the
 * arguments (a PIN) may travel further.
 */
export function safeCause(error: unknown, fn?: string): Error {
  const name = ckrName(error);
  const method = fn ?? (error as { method?: unknown } | null)?.method;
  const where = typeof method === 'string' && method ? ` in ${method}` : '';
  if (name) return Object.assign(new Error(`${name}${where}`), { code: (error as { code?: number }).code });
  return new Error(`${error instanceof Error ? error.name : 'error'}${where}`);
}

export function pkcs11Error(
  code: ErrorCode,
  message: string,
  cause?: unknown,
  fn?: string,
  details?: Record<string, unknown>,
): ErstError {
  return new ErstError(code, message, { cause: cause === undefined ? undefined : safeCause(cause, fn), details });
}

/** Calls a PKCS#11 function, turning any failure into an ErstError (code ERR_PKCS11 unless told). */
export function call<T>(fn: string, thunk: () => T, what: string, code: ErrorCode = 'ERR_PKCS11'): T {
  try {
    return thunk();
  } catch (error) {
    throw pkcs11Error(code, `${what}: ${fn} failed with ${ckrName(error) ?? 'a native error'}`, error, fn);
  }
}

/**
 * Errors meaning the session, its login or its object handles are gone
 * (network HSMs time sessions out; another part of the process logged out or
 * closed all sessions; the device went away): worth one reopen and re-login.
 */
export const SESSION_LOST: ReadonlySet<string> = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_OBJECT_HANDLE_INVALID',
  'CKR_KEY_HANDLE_INVALID',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_DEVICE_ERROR',
]);

export function isSessionLost(error: unknown): boolean {
  const name = ckrName(error);
  return name !== undefined && SESSION_LOST.has(name);
}

export interface LoadedModule {
  readonly path: string;
  readonly p11: P11;
  refs: number;
  /** False when something else in this process had already initialized the library: then we must not finalize it. */
  ownsInit: boolean;
  /**
   * Per slot (hex of the slot handle): how many of our signers rely on the
   * login, and a keyed digest of the PIN it was made with. Login state is per
   * application, not per session.
   */
  readonly logins: Map<string, { refs: number; pin: Buffer | undefined }>;
}

// Keyed per process, so the digest of a PIN is useless outside it.
const PIN_KEY = randomBytes(32);
const pinDigest = (pin: string | undefined) =>
  pin === undefined ? undefined : createHmac('sha256', PIN_KEY).update(pin, 'utf8').digest();

export function loginRefs(m: LoadedModule, slot: Buffer): number {
  return m.logins.get(slotKey(slot))?.refs ?? 0;
}

/**
 * Once one signer has logged in, C_Login answers CKR_USER_ALREADY_LOGGED_IN
 * to anyone in the process whatever PIN they give. A second signer with a
 * different PIN than the one that worked must still be refused.
 */
export function samePinAsLogin(m: LoadedModule, slot: Buffer, pin: string | undefined): boolean {
  const held = m.logins.get(slotKey(slot));
  // No PIN at all is for login() to judge (PIN pads need none; others get ERR_PKCS11_PIN_MISSING).
  if (!held || held.refs === 0 || !held.pin || pin === undefined) return true;
  return timingSafeEqual(pinDigest(pin)!, held.pin);
}

export function addLogin(m: LoadedModule, slot: Buffer, pin: string | undefined): void {
  const k = slotKey(slot);
  const held = m.logins.get(k);
  if (held) held.refs++;
  else m.logins.set(k, { refs: 1, pin: pinDigest(pin) });
}

/** Drops one reference; true when it was the last (time to log out). */
export function dropLogin(m: LoadedModule, slot: Buffer): boolean {
  const k = slotKey(slot);
  const held = m.logins.get(k);
  if (!held || held.refs <= 1) {
    m.logins.delete(k);
    return true;
  }
  held.refs--;
  return false;
}

// A PKCS#11 library has one state per process: a second dlopen returns the
// same instance and a second C_Finalize would pull the rug from under the
// first user. So each path is loaded and initialized once, and reference counted.
const loaded = new Map<string, LoadedModule>();

export const MODULE_HINT =
  'set ERST_PKCS11_MODULE or give `module` (SoftHSM: /usr/lib/softhsm/libsofthsm2.so; YubiKey: libykcs11.so from ' +
  'yubico-piv-tool)';

export function initialize(p11: P11): boolean {
  try {
    p11.C_Initialize({ flags: pk.CKF_OS_LOCKING_OK });
    return true;
  } catch (error) {
    if (ckrName(error) === 'CKR_CRYPTOKI_ALREADY_INITIALIZED') return false;
    if (ckrName(error) === 'CKR_CANT_LOCK') {
      // Libraries without OS locking: pkcs11js serializes nothing itself, but
      // we never run two operations on one session, which is what the spec needs.
      p11.C_Initialize();
      return true;
    }
    throw error;
  }
}

/**
 * What to check when a module loads but will not start. Modules say only
 * CKR_GENERAL_ERROR; with SoftHSM that is nearly always its configuration:
 * SOFTHSM2_CONF names a file that is missing or unreadable, or the token
 * directory that file names does not exist.
 */
export function initializeHint(env: Record<string, string | undefined>): string {
  const conf = env.SOFTHSM2_CONF || undefined;
  return (
    'check that the module path is the right library and, for SoftHSM, that SOFTHSM2_CONF names a readable ' +
    'configuration ' +
    `file whose directories.tokendir exists ` +
    `(${conf === undefined ? 'SOFTHSM2_CONF is unset, so SoftHSM reads /etc/softhsm/softhsm2.conf' : confState(conf)})`
  );
}

function confState(conf: string): string {
  let text: string;
  try {
    if (!statSync(conf).isFile()) return `SOFTHSM2_CONF ${conf} is not a file`;
    text = readFileSync(conf, 'utf8');
  } catch (error) {
    return (
      `SOFTHSM2_CONF ${conf} ` +
      `${(error as { code?: string }).code === 'ENOENT' ? 'does not exist' : 'cannot be read'}`
    );
  }
  const tokendir = /^\s*directories\.tokendir\s*=\s*(.*?)\s*$/m.exec(text)?.[1];
  if (!tokendir) return `SOFTHSM2_CONF ${conf} sets no directories.tokendir`;
  if (!existsSync(tokendir)) return `the directories.tokendir ${tokendir} in SOFTHSM2_CONF ${conf} does not exist`;
  return `SOFTHSM2_CONF ${conf} and its directories.tokendir ${tokendir} exist`;
}

export function acquireModule(path: string | undefined): LoadedModule {
  if (!path)
    throw new ErstError('ERR_PKCS11_MODULE', `no PKCS#11 module given: ${MODULE_HINT}`, {
      details: { options: ['module'] },
    });
  let real: string;
  try {
    real = realpathSync(path);
    if (statSync(real).isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
  } catch (error) {
    const why = (error as { code?: string }).code === 'EISDIR' ? 'is a directory' : 'no such file';
    throw new ErstError('ERR_PKCS11_MODULE', `PKCS#11 module ${path}: ${why}; ${MODULE_HINT}`, {
      details: { module: path, options: ['module'] },
    });
  }
  const existing = loaded.get(real);
  if (existing) {
    existing.refs++;
    return existing;
  }
  const p11 = new pk.PKCS11();
  try {
    p11.load(real);
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ErstError('ERR_PKCS11_MODULE', `${path} is not a loadable PKCS#11 module (${why})`, {
      cause: safeCause(error, 'load'),
      details: { module: path },
    });
  }
  let ownsInit: boolean;
  try {
    ownsInit = initialize(p11);
  } catch (error) {
    try {
      p11.close();
    } catch {
      // nothing more to release
    }
    throw pkcs11Error(
      'ERR_PKCS11_MODULE',
      `${path}: C_Initialize failed with ${ckrName(error) ?? 'a native error'}: ${initializeHint(process.env)}`,
      error,
      'C_Initialize',
      { module: path },
    );
  }
  const entry: LoadedModule = { path, p11, refs: 1, ownsInit, logins: new Map() };
  loaded.set(real, entry);
  return entry;
}

export function releaseModule(entry: LoadedModule): void {
  if (--entry.refs > 0) return;
  for (const [k, v] of loaded) if (v === entry) loaded.delete(k);
  if (entry.ownsInit) {
    try {
      entry.p11.C_Finalize();
    } catch {
      // already finalized underneath us: nothing left to release
    }
  }
  try {
    entry.p11.close();
  } catch {
    // dlclose failures leave nothing to clean up
  }
}

/** Runs `fn` with the module loaded, releasing it afterwards. */
export async function withModule<T>(path: string | undefined, fn: (m: LoadedModule) => Promise<T> | T): Promise<T> {
  const m = acquireModule(path);
  try {
    return await fn(m);
  } finally {
    releaseModule(m);
  }
}

export function trimPadded(s: string): string {
  return s.replace(/[\s\0]+$/, '');
}

export function slotKey(slot: Buffer): string {
  return slot.toString('hex');
}

/** The numeric slot ID (CK_SLOT_ID, native-endian CK_ULONG). */
export function slotIdOf(slot: Buffer): bigint {
  return slot.length >= 8 ? slot.readBigUInt64LE(0) : BigInt(slot.readUInt32LE(0));
}
