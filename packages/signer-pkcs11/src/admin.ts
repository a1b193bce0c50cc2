import { X509Certificate, randomBytes } from 'node:crypto';
import { type Algorithm, ErstError, type PublicKey, bytesToHex, publicKeyFromRaw } from '@erst/core';
import { parseAlgorithm, parseKeyId, parsePivSlot } from './config.js';
import {
  CKM_EC_EDWARDS_KEY_PAIR_GEN,
  CKM_EDDSA,
  EC_PARAMS_ED25519,
  EC_PARAMS_P256,
  type Handle,
  type P11,
  mechanismName,
  pk,
} from './constants.js';
import {
  type LoadedModule,
  call,
  ckrName,
  loginRefs,
  pkcs11Error,
  samePinAsLogin,
  trimPadded,
  withModule,
} from './module.js';
import { type KeyObject, decodeEcPoint, listCertificates, listKeys } from './objects.js';
import {
  type TokenRef,
  closeSessionQuietly,
  listTokens,
  login,
  logoutQuietly,
  openSession,
  selectToken,
} from './token.js';

export interface TokenSelection {
  module?: string | undefined;
  tokenLabel?: string | undefined;
  slot?: number | undefined;
  /** User PIN; when absent, `hsmInfo` lists only public objects. */
  pin?: string | undefined;
}

export interface HsmMechanism {
  name: string;
  code: string;
  supported: boolean;
  sign?: boolean;
  verify?: boolean;
  generate_key_pair?: boolean;
  min_key_size?: number;
  max_key_size?: number;
}

export interface HsmToken {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  initialized: boolean;
  flags: string[];
  hardware_version: string;
  firmware_version: string;
  /** The mechanisms erst uses (EdDSA, ECDSA and their key-pair generation). */
  mechanisms: HsmMechanism[];
  mechanism_count: number;
}

export interface HsmSlot {
  index: number;
  slot_id: string;
  description: string;
  manufacturer: string;
  token: HsmToken | null;
}

export interface HsmKey {
  class: 'private' | 'public';
  label: string;
  id: string;
  algorithm: string;
  local?: boolean;
  sensitive?: boolean;
  always_sensitive?: boolean;
  extractable?: boolean;
  never_extractable?: boolean;
  sign?: boolean;
}

export interface HsmCertificate {
  label: string;
  id: string;
  subject: string;
  issuer: string;
  serial: string;
  not_after: string;
}

export interface HsmInfo {
  module: {
    path: string;
    cryptoki_version: string;
    manufacturer: string;
    description: string;
    library_version: string;
  };
  slots: HsmSlot[];
  /** Index of the token whose objects are listed, or null. */
  selected_slot: number | null;
  logged_in: boolean;
  keys: HsmKey[];
  certificates: HsmCertificate[];
  notes: string[];
}

const RELEVANT_MECHANISMS = [CKM_EDDSA, CKM_EC_EDWARDS_KEY_PAIR_GEN, pk.CKM_ECDSA, pk.CKM_EC_KEY_PAIR_GEN];

const TOKEN_FLAGS: [string, number][] = [
  'CKF_RNG',
  'CKF_WRITE_PROTECTED',
  'CKF_LOGIN_REQUIRED',
  'CKF_USER_PIN_INITIALIZED',
  'CKF_RESTORE_KEY_NOT_NEEDED',
  'CKF_CLOCK_ON_TOKEN',
  'CKF_PROTECTED_AUTHENTICATION_PATH',
  'CKF_DUAL_CRYPTO_OPERATIONS',
  'CKF_TOKEN_INITIALIZED',
  'CKF_SECONDARY_AUTHENTICATION',
  'CKF_USER_PIN_COUNT_LOW',
  'CKF_USER_PIN_FINAL_TRY',
  'CKF_USER_PIN_LOCKED',
  'CKF_USER_PIN_TO_BE_CHANGED',
  'CKF_SO_PIN_COUNT_LOW',
  'CKF_SO_PIN_FINAL_TRY',
  'CKF_SO_PIN_LOCKED',
  'CKF_SO_PIN_TO_BE_CHANGED',
].flatMap((name) => {
  const v = (pk as unknown as Record<string, unknown>)[name];
  return typeof v === 'number' ? [[name.slice(4), v] as [string, number]] : [];
});

const version = (v: { major: number; minor: number }) => `${v.major}.${v.minor}`;

function mechanismsOf(p11: P11, slot: Handle): { relevant: HsmMechanism[]; count: number } {
  let list: number[] = [];
  try {
    list = p11.C_GetMechanismList(slot);
  } catch {
    // a token that will not list mechanisms: report none
  }
  const relevant = RELEVANT_MECHANISMS.map((m): HsmMechanism => {
    const base = { name: mechanismName(m), code: `0x${m.toString(16)}` };
    if (!list.includes(m)) return { ...base, supported: false };
    try {
      const info = p11.C_GetMechanismInfo(slot, m);
      return {
        ...base,
        supported: true,
        sign: (info.flags & pk.CKF_SIGN) !== 0,
        verify: (info.flags & pk.CKF_VERIFY) !== 0,
        generate_key_pair: (info.flags & pk.CKF_GENERATE_KEY_PAIR) !== 0,
        min_key_size: Number(info.minKeySize),
        max_key_size: Number(info.maxKeySize),
      };
    } catch {
      return { ...base, supported: true };
    }
  });
  return { relevant, count: list.length };
}

function keyEntry(k: KeyObject): HsmKey {
  return {
    class: k.kind,
    label: k.label,
    id: bytesToHex(k.id),
    algorithm: k.algorithm,
    ...k.attributes,
    ...(k.sign === undefined ? {} : { sign: k.sign }),
  };
}

/** Logs in for a one-off command, refusing a PIN that differs from the one a signer in this process logged in with. */
function checkedLogin(m: LoadedModule, session: Handle, t: TokenRef, pin: string | undefined): void {
  if (!samePinAsLogin(m, t.slot, pin)) {
    throw new ErstError(
      'ERR_PKCS11_PIN_INCORRECT',
      `wrong PIN for token "${t.label}" (it differs from the PIN this process is logged in with)`,
    );
  }
  login(m.p11, session, t, pin);
}

/** Releases a login we took for a one-off command, unless a signer in this process still relies on it. */
function endSession(m: LoadedModule, t: TokenRef, session: Handle, loggedIn: boolean): void {
  if (loggedIn && loginRefs(m, t.slot) === 0) logoutQuietly(m.p11, session);
  closeSessionQuietly(m.p11, session);
}

/** What `erst hsm info` prints: the module, its slots and tokens, the mechanisms erst needs, and the selected token's keys. */
export function hsmInfo(sel: TokenSelection): Promise<HsmInfo> {
  return withModule(sel.module, (m) => {
    const p11 = m.p11;
    const lib = call('C_GetInfo', () => p11.C_GetInfo(), 'reading module information', 'ERR_PKCS11_MODULE');
    const info: HsmInfo = {
      module: {
        path: sel.module!,
        cryptoki_version: version(lib.cryptokiVersion),
        manufacturer: trimPadded(lib.manufacturerID),
        description: trimPadded(lib.libraryDescription),
        library_version: version(lib.libraryVersion),
      },
      slots: [],
      selected_slot: null,
      logged_in: false,
      keys: [],
      certificates: [],
      notes: [],
    };
    const tokens = listTokens(p11);
    for (const t of tokens) {
      let slotInfo: ReturnType<P11['C_GetSlotInfo']> | undefined;
      try {
        slotInfo = p11.C_GetSlotInfo(t.slot);
      } catch {
        slotInfo = undefined;
      }
      const mech = mechanismsOf(p11, t.slot);
      info.slots.push({
        index: t.index,
        slot_id: t.slotId.toString(),
        description: slotInfo ? trimPadded(slotInfo.slotDescription) : '',
        manufacturer: slotInfo ? trimPadded(slotInfo.manufacturerID) : '',
        token: {
          label: t.label,
          manufacturer: t.manufacturer,
          model: t.model,
          serial: t.serial,
          initialized: t.initialized,
          flags: TOKEN_FLAGS.filter(([, v]) => (t.flags & v) !== 0).map(([n]) => n),
          hardware_version: version(t.info.hardwareVersion),
          firmware_version: version(t.info.firmwareVersion),
          mechanisms: mech.relevant,
          mechanism_count: mech.count,
        },
      });
    }
    const named = sel.tokenLabel !== undefined || sel.slot !== undefined;
    const initialized = tokens.filter((t) => t.initialized);
    if (!named && initialized.length !== 1) {
      if (initialized.length > 1)
        info.notes.push('several tokens are present: name one with `tokenLabel` or `slot` to list its keys');
      return info;
    }
    const token = selectToken(p11, m.path, { tokenLabel: sel.tokenLabel, slot: sel.slot });
    info.selected_slot = token.index;
    const session = openSession(p11, token);
    let loggedIn = false;
    try {
      if (sel.pin !== undefined) {
        checkedLogin(m, session, token, sel.pin);
        loggedIn = true;
        info.logged_in = true;
      } else {
        info.notes.push(
          'not logged in: private keys are hidden; give the PIN (`pin`, or ERST_PKCS11_PIN) to list them',
        );
      }
      const keys = [...(loggedIn ? listKeys(p11, session, 'private') : []), ...listKeys(p11, session, 'public')];
      info.keys = keys.map(keyEntry);
      info.certificates = listCertificates(p11, session).map((c) => {
        let subject = '';
        let issuer = '';
        let serial = '';
        let notAfter = '';
        try {
          const x = new X509Certificate(c.der);
          subject = x.subject.replace(/\n/g, ', ');
          issuer = x.issuer.replace(/\n/g, ', ');
          serial = x.serialNumber.toLowerCase();
          notAfter = new Date(x.validTo).toISOString();
        } catch {
          subject = '(unparseable certificate)';
        }
        return { label: c.label, id: bytesToHex(c.id), subject, issuer, serial, not_after: notAfter };
      });
    } finally {
      endSession(m, token, session, loggedIn);
    }
    return info;
  });
}

export interface GenerateKeyOptions extends TokenSelection {
  label: string;
  /** CKA_ID in hex; random 8 bytes when absent. */
  id?: string | undefined;
  /** YubiKey PIV slot: sets the CKA_ID ykcs11 expects. */
  pivSlot?: string | undefined;
  /** Default ed25519. */
  algorithm?: Algorithm | undefined;
}

export interface GeneratedTokenKey {
  label: string;
  id: string;
  algorithm: Algorithm;
  publicKey: PublicKey;
  tokenLabel: string;
}

/**
 * Makes a key pair on the token: private, sensitive, never extractable,
 * token-resident. Returns its public key, read back from the token.
 */
export function generateTokenKeyPair(opts: GenerateKeyOptions): Promise<GeneratedTokenKey> {
  const algorithm = opts.algorithm === undefined ? 'ed25519' : parseAlgorithm(opts.algorithm);
  if (typeof opts.label !== 'string' || opts.label.length === 0) {
    throw new ErstError('ERR_OPTIONS_INVALID', 'the new key needs a `label`', { details: { options: ['label'] } });
  }
  let id: Uint8Array;
  if (opts.pivSlot !== undefined) {
    id = parsePivSlot(opts.pivSlot).id;
    if (opts.id !== undefined && bytesToHex(parseKeyId(opts.id)) !== bytesToHex(id)) {
      throw new ErstError(
        'ERR_OPTIONS_INVALID',
        `\`id\` ${opts.id} and \`pivSlot\` ${opts.pivSlot} name different key IDs`,
        {
          details: { options: ['id', 'pivSlot'] },
        },
      );
    }
  } else id = opts.id !== undefined ? parseKeyId(opts.id, 'id') : new Uint8Array(randomBytes(8));
  return withModule(opts.module, (m) => {
    const p11 = m.p11;
    const token = selectToken(p11, m.path, opts);
    const genMech = algorithm === 'ed25519' ? CKM_EC_EDWARDS_KEY_PAIR_GEN : pk.CKM_EC_KEY_PAIR_GEN;
    const signMech = algorithm === 'ed25519' ? CKM_EDDSA : pk.CKM_ECDSA;
    const mechs = mechanismsOf(p11, token.slot).relevant;
    const gen = mechs.find((x) => x.code === `0x${genMech.toString(16)}`);
    const sign = mechs.find((x) => x.code === `0x${signMech.toString(16)}`);
    if (!gen?.supported || gen.generate_key_pair === false || !sign?.supported || sign.sign === false) {
      const offered = mechs.filter((x) => x.supported).map((x) => x.name);
      throw new ErstError(
        'ERR_PKCS11_MECHANISM',
        `token "${token.label}" cannot make and use ${algorithm} keys (needs ${mechanismName(genMech)} and ` +
          `${mechanismName(signMech)}); of those erst uses it offers: ` +
          `${offered.join(', ') || 'none'}${algorithm === 'ed25519' ? '. Try `algorithm` ecdsa-p256' : ''}`,
        { details: { mechanisms: offered, options: ['algorithm'] } },
      );
    }
    const session = openSession(p11, token, true);
    let loggedIn = false;
    try {
      checkedLogin(m, session, token, opts.pin);
      loggedIn = true;
      const clash = listKeys(p11, session, 'private').find(
        (k) => k.label === opts.label || bytesToHex(k.id) === bytesToHex(id),
      );
      if (clash) {
        throw new ErstError(
          'ERR_OPTIONS_INVALID',
          `token "${token.label}" already holds a private key ` +
            `${clash.label === opts.label ? `labelled "${opts.label}"` : `with ID ${bytesToHex(id)}`}; choose ` +
            `another \`label\` / \`id\``,
          { details: { options: ['label', 'id'] } },
        );
      }
      const params = algorithm === 'ed25519' ? EC_PARAMS_ED25519 : EC_PARAMS_P256;
      const idBuf = Buffer.from(id);
      let pair: { privateKey: Handle; publicKey: Handle };
      try {
        pair = p11.C_GenerateKeyPair(
          session,
          { mechanism: genMech },
          [
            { type: pk.CKA_TOKEN, value: true },
            { type: pk.CKA_PRIVATE, value: false },
            { type: pk.CKA_VERIFY, value: true },
            { type: pk.CKA_EC_PARAMS, value: params },
            { type: pk.CKA_LABEL, value: opts.label },
            { type: pk.CKA_ID, value: idBuf },
          ],
          [
            { type: pk.CKA_TOKEN, value: true },
            { type: pk.CKA_PRIVATE, value: true },
            { type: pk.CKA_SENSITIVE, value: true },
            { type: pk.CKA_EXTRACTABLE, value: false },
            { type: pk.CKA_SIGN, value: true },
            { type: pk.CKA_LABEL, value: opts.label },
            { type: pk.CKA_ID, value: idBuf },
          ],
        );
      } catch (error) {
        const name = ckrName(error);
        const code =
          name === 'CKR_MECHANISM_INVALID' || name === 'CKR_CURVE_NOT_SUPPORTED' || name === 'CKR_DOMAIN_PARAMS_INVALID'
            ? 'ERR_PKCS11_MECHANISM'
            : 'ERR_PKCS11';
        throw pkcs11Error(
          code,
          `token "${token.label}" could not generate the ${algorithm} key pair (${name ?? 'native error'})`,
          error,
          'C_GenerateKeyPair',
        );
      }
      const point = call(
        'C_GetAttributeValue',
        () => p11.C_GetAttributeValue(session, pair.publicKey, [{ type: pk.CKA_EC_POINT }]),
        'reading the new public key',
      )[0]?.value;
      const raw = point ? decodeEcPoint(point, algorithm) : undefined;
      if (!raw)
        throw new ErstError('ERR_PKCS11', `the token returned an unreadable CKA_EC_POINT for the new ${algorithm} key`);
      return {
        label: opts.label,
        id: bytesToHex(id),
        algorithm,
        publicKey: publicKeyFromRaw(new Uint8Array(raw), algorithm),
        tokenLabel: token.label,
      };
    } finally {
      endSession(m, token, session, loggedIn);
    }
  });
}
