import { ErstError } from '@erst/core';
import { type Handle, type P11, pk } from './constants.js';
import { call, ckrName, pkcs11Error, slotIdOf, trimPadded } from './module.js';

type TokenInfo = ReturnType<P11['C_GetTokenInfo']>;

export interface TokenRef {
  slot: Handle;
  /** Position in the list of slots with a token present (what ERST_PKCS11_SLOT means). */
  index: number;
  slotId: bigint;
  label: string;
  model: string;
  manufacturer: string;
  serial: string;
  flags: number;
  initialized: boolean;
  info: TokenInfo;
}

export interface TokenSelector {
  tokenLabel?: string | undefined;
  slot?: number | undefined;
}

export function readToken(p11: P11, slot: Handle, index: number): TokenRef | undefined {
  let info: TokenInfo;
  try {
    info = p11.C_GetTokenInfo(slot);
  } catch {
    return undefined; // a slot whose token vanished between the two calls
  }
  return {
    slot,
    index,
    slotId: slotIdOf(slot),
    label: trimPadded(info.label),
    model: trimPadded(info.model),
    manufacturer: trimPadded(info.manufacturerID),
    serial: trimPadded(info.serialNumber),
    flags: info.flags,
    initialized: (info.flags & pk.CKF_TOKEN_INITIALIZED) !== 0,
    info,
  };
}

export function listTokens(p11: P11): TokenRef[] {
  const slots = call('C_GetSlotList', () => p11.C_GetSlotList(true), 'listing slots');
  const out: TokenRef[] = [];
  slots.forEach((slot, index) => {
    const t = readToken(p11, slot, index);
    if (t) out.push(t);
  });
  return out;
}

function describeTokens(tokens: readonly TokenRef[]): string {
  const named = tokens.filter((t) => t.initialized);
  if (named.length === 0) return 'no initialized token is present';
  return `tokens present: ${named.map((t) => `"${t.label}" (slot ${t.index})`).join(', ')}`;
}

/**
 * The token the selector names: by label (compared without the blank padding
 * PKCS#11 puts on labels), else by slot index, else the only initialized one.
 */
export function selectToken(p11: P11, modulePath: string, sel: TokenSelector): TokenRef {
  const tokens = listTokens(p11);
  if (tokens.length === 0) {
    throw new ErstError(
      'ERR_PKCS11_NO_TOKEN',
      `no token is present in any slot of ${modulePath} (plug in the device; SoftHSM: check SOFTHSM2_CONF and run ` +
        `softhsm2-util --init-token)`,
      { details: { module: modulePath } },
    );
  }
  let chosen: TokenRef | undefined;
  if (sel.tokenLabel !== undefined) {
    const want = trimPadded(sel.tokenLabel);
    let matches = tokens.filter((t) => t.initialized && t.label === want);
    if (sel.slot !== undefined) matches = matches.filter((t) => t.index === sel.slot || t.slotId === BigInt(sel.slot!));
    if (matches.length === 0) {
      throw new ErstError(
        'ERR_PKCS11_TOKEN_NOT_FOUND',
        `no token labelled "${want}"${sel.slot !== undefined ? ` in slot ${sel.slot}` : ''}; ${describeTokens(tokens)}`,
        {
          details: { token_label: want, labels: tokens.filter((t) => t.initialized).map((t) => t.label) },
        },
      );
    }
    if (matches.length > 1) {
      throw new ErstError(
        'ERR_PKCS11_TOKEN_NOT_FOUND',
        `${matches.length} tokens are labelled "${want}" (slots ${matches.map((t) => t.index).join(', ')}); choose ` +
          `one with \`slot\` (or ERST_PKCS11_SLOT)`,
        { details: { token_label: want, options: ['slot'] } },
      );
    }
    chosen = matches[0];
  } else if (sel.slot !== undefined) {
    chosen = tokens.find((t) => t.index === sel.slot) ?? tokens.find((t) => t.slotId === BigInt(sel.slot!));
    if (!chosen) {
      throw new ErstError(
        'ERR_PKCS11_TOKEN_NOT_FOUND',
        `no token in slot ${sel.slot}: slots with a token are 0..${tokens.length - 1}; ${describeTokens(tokens)}`,
        { details: { slot: sel.slot, labels: tokens.filter((t) => t.initialized).map((t) => t.label) } },
      );
    }
  } else {
    const initialized = tokens.filter((t) => t.initialized);
    if (initialized.length === 1) chosen = initialized[0];
    else if (initialized.length === 0) {
      throw new ErstError(
        'ERR_PKCS11_NO_TOKEN',
        `no initialized token in ${modulePath} (the tokens present have not been initialized)`,
        {
          details: { module: modulePath },
        },
      );
    } else {
      throw new ErstError(
        'ERR_PKCS11_TOKEN_NOT_FOUND',
        `${initialized.length} tokens are present; choose one with \`tokenLabel\` (or ERST_PKCS11_TOKEN_LABEL): ` +
          `${describeTokens(tokens)}`,
        { details: { labels: initialized.map((t) => t.label), options: ['tokenLabel'] } },
      );
    }
  }
  if (!chosen!.initialized) {
    throw new ErstError(
      'ERR_PKCS11_NO_TOKEN',
      `the token in slot ${chosen!.index} is not initialized; ${describeTokens(tokens)}`,
    );
  }
  return chosen!;
}

/** "<label> <model> #<serial> (<manufacturer>)", leaving out what the label already says. */
export function tokenInfoString(t: TokenRef): string {
  const parts = [t.label];
  if (t.model && !t.label.includes(t.model)) parts.push(t.model);
  if (t.serial && !t.label.includes(t.serial)) parts.push(`#${t.serial}`);
  let s = parts.filter((p) => p).join(' ');
  if (t.manufacturer) s += ` (${t.manufacturer})`;
  return s;
}

export function openSession(p11: P11, t: TokenRef, rw = false): Handle {
  return call(
    'C_OpenSession',
    () => p11.C_OpenSession(t.slot, pk.CKF_SERIAL_SESSION | (rw ? pk.CKF_RW_SESSION : 0)),
    `opening a session on token "${t.label}"`,
    'ERR_PKCS11_SESSION',
  );
}

export function closeSessionQuietly(p11: P11, session: Handle): void {
  try {
    p11.C_CloseSession(session);
  } catch {
    // already closed (by the token or by C_CloseAllSessions)
  }
}

export function needsPin(t: TokenRef): boolean {
  return (t.flags & pk.CKF_PROTECTED_AUTHENTICATION_PATH) === 0;
}

function pinFlags(flags: number): string {
  const notes: string[] = [];
  if (flags & pk.CKF_USER_PIN_FINAL_TRY)
    notes.push('the token reports CKF_USER_PIN_FINAL_TRY: one more wrong PIN locks it');
  else if (flags & pk.CKF_USER_PIN_COUNT_LOW)
    notes.push('the token reports CKF_USER_PIN_COUNT_LOW: wrong PINs have been entered and few tries may remain');
  return notes.length ? `; ${notes.join('; ')}` : '';
}

const LOCKED_HINT =
  'the Security Officer PIN resets it (pkcs11-tool --login --login-type so --init-pin; YubiKey: the PUK, ykman piv ' +
  'access unblock-pin)';

/** Logs the user in on `session` (PKCS#11 login is per token for the whole application). The PIN never reaches a message. */
export function login(p11: P11, session: Handle, t: TokenRef, pin: string | undefined): void {
  const flags = readToken(p11, t.slot, t.index)?.flags ?? t.flags;
  if (flags & pk.CKF_USER_PIN_LOCKED) {
    throw new ErstError(
      'ERR_PKCS11_PIN_LOCKED',
      `the user PIN of token "${t.label}" is locked (CKF_USER_PIN_LOCKED); ${LOCKED_HINT}`,
    );
  }
  if (pin === undefined && needsPin(t)) {
    throw new ErstError(
      'ERR_PKCS11_PIN_MISSING',
      `token "${t.label}" needs the user PIN: give \`pin\`, or set ERST_PKCS11_PIN`,
      { details: { options: ['pin'] } },
    );
  }
  try {
    if (pin === undefined) p11.C_Login(session, pk.CKU_USER);
    else p11.C_Login(session, pk.CKU_USER, pin);
  } catch (error) {
    const name = ckrName(error);
    if (name === 'CKR_USER_ALREADY_LOGGED_IN') return;
    const after = readToken(p11, t.slot, t.index)?.flags ?? 0;
    switch (name) {
      case 'CKR_PIN_INCORRECT':
      case 'CKR_PIN_INVALID':
        throw pkcs11Error(
          'ERR_PKCS11_PIN_INCORRECT',
          `wrong PIN for token "${t.label}"${pinFlags(after)}`,
          error,
          'C_Login',
          {
            token_label: t.label,
            pin_count_low: (after & pk.CKF_USER_PIN_COUNT_LOW) !== 0,
            pin_final_try: (after & pk.CKF_USER_PIN_FINAL_TRY) !== 0,
          },
        );
      case 'CKR_PIN_LEN_RANGE':
        throw pkcs11Error(
          'ERR_PKCS11_PIN_INCORRECT',
          `the PIN for token "${t.label}" has the wrong length (the token takes ${t.info.minPinLen} to ` +
            `${t.info.maxPinLen} characters)${pinFlags(after)}`,
          error,
          'C_Login',
        );
      case 'CKR_PIN_LOCKED':
        throw pkcs11Error(
          'ERR_PKCS11_PIN_LOCKED',
          `the user PIN of token "${t.label}" is locked; ${LOCKED_HINT}`,
          error,
          'C_Login',
        );
      case 'CKR_PIN_EXPIRED':
        throw pkcs11Error(
          'ERR_PKCS11_PIN_INCORRECT',
          `the user PIN of token "${t.label}" has expired; set a new one first`,
          error,
          'C_Login',
        );
      case 'CKR_USER_PIN_NOT_INITIALIZED':
        throw pkcs11Error(
          'ERR_PKCS11_PIN_MISSING',
          `token "${t.label}" has no user PIN yet; the Security Officer must set one (C_InitPIN)`,
          error,
          'C_Login',
        );
      case 'CKR_USER_ANOTHER_ALREADY_LOGGED_IN':
      case 'CKR_USER_TOO_MANY_TYPES':
        throw pkcs11Error(
          'ERR_PKCS11_SESSION',
          `token "${t.label}" has another user logged in (${name}); log that user out first`,
          error,
          'C_Login',
        );
      default:
        throw pkcs11Error(
          'ERR_PKCS11_SESSION',
          `logging in to token "${t.label}" failed with ${name ?? 'a native error'}`,
          error,
          'C_Login',
        );
    }
  }
}

export function logoutQuietly(p11: P11, session: Handle): void {
  try {
    p11.C_Logout(session);
  } catch {
    // not logged in any more, or the session is gone: either way we are out
  }
}
