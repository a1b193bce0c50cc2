import { X509Certificate } from 'node:crypto';
import { type Algorithm, ErstError, type PublicKey, bytesToHex, publicKeyFromRaw, publicKeyFromSpki } from '@erst/core';
import { CKK_EC_EDWARDS, type Handle, type P11, describeKeyType, pk } from './constants.js';
import { call, ckrName } from './module.js';

type Template = Parameters<P11['C_FindObjectsInit']>[1];

export function findObjects(p11: P11, session: Handle, template: Template, max = 10_000): Handle[] {
  call('C_FindObjectsInit', () => p11.C_FindObjectsInit(session, template), 'searching the token');
  try {
    const out: Handle[] = [];
    for (;;) {
      const batch = call('C_FindObjects', () => p11.C_FindObjects(session, 64), 'searching the token');
      out.push(...batch);
      if (batch.length < 64 || out.length >= max) return out;
    }
  } finally {
    try {
      p11.C_FindObjectsFinal(session);
    } catch {
      // the search is over either way
    }
  }
}

/**
 * Reads attributes one by one, so that one the token refuses (sensitive,
 * not defined for this object) leaves the others readable. Missing ones are
 * absent from the map.
 */
export function readAttributes(
  p11: P11,
  session: Handle,
  object: Handle,
  types: readonly number[],
): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  try {
    for (const a of p11.C_GetAttributeValue(
      session,
      object,
      types.map((type) => ({ type })),
    ))
      out.set(a.type, a.value);
    return out;
  } catch (error) {
    const name = ckrName(error);
    if (name !== 'CKR_ATTRIBUTE_TYPE_INVALID' && name !== 'CKR_ATTRIBUTE_SENSITIVE') throw error;
  }
  for (const type of types) {
    try {
      const [a] = p11.C_GetAttributeValue(session, object, [{ type }]);
      if (a) out.set(a.type, a.value);
    } catch (error) {
      const name = ckrName(error);
      if (name !== 'CKR_ATTRIBUTE_TYPE_INVALID' && name !== 'CKR_ATTRIBUTE_SENSITIVE') throw error;
    }
  }
  return out;
}

export function ulong(b: Buffer | undefined): number | undefined {
  if (!b || b.length === 0) return undefined;
  return b.length >= 8 ? Number(b.readBigUInt64LE(0)) : b.readUInt32LE(0);
}

export function bool(b: Buffer | undefined): boolean | undefined {
  return b && b.length > 0 ? b[0] !== 0 : undefined;
}

export interface KeyAttributesRead {
  local?: boolean;
  sensitive?: boolean;
  always_sensitive?: boolean;
  extractable?: boolean;
  never_extractable?: boolean;
}

export interface KeyObject {
  handle: Handle;
  kind: 'private' | 'public';
  label: string;
  id: Uint8Array;
  keyType: number | undefined;
  /** erst's name (ed25519, ecdsa-p256) or a description of an unsupported key. */
  algorithm: string;
  ecParams: Buffer | undefined;
  attributes: KeyAttributesRead;
  sign?: boolean;
}

const KEY_ATTRS = [
  pk.CKA_LABEL,
  pk.CKA_ID,
  pk.CKA_KEY_TYPE,
  pk.CKA_EC_PARAMS,
  pk.CKA_LOCAL,
  pk.CKA_SENSITIVE,
  pk.CKA_ALWAYS_SENSITIVE,
  pk.CKA_EXTRACTABLE,
  pk.CKA_NEVER_EXTRACTABLE,
  pk.CKA_SIGN,
  pk.CKA_MODULUS_BITS,
];

export function describeKey(p11: P11, session: Handle, handle: Handle, kind: 'private' | 'public'): KeyObject {
  const a = readAttributes(p11, session, handle, KEY_ATTRS);
  const keyType = ulong(a.get(pk.CKA_KEY_TYPE));
  let modulusBytes: number | undefined;
  if (keyType === pk.CKK_RSA) {
    const bits = ulong(a.get(pk.CKA_MODULUS_BITS));
    if (bits) modulusBytes = bits / 8;
    else {
      const mod = readAttributes(p11, session, handle, [pk.CKA_MODULUS]).get(pk.CKA_MODULUS);
      if (mod) modulusBytes = mod.length;
    }
  }
  const attributes: KeyAttributesRead = {};
  const set = (name: keyof KeyAttributesRead, type: number) => {
    const v = bool(a.get(type));
    if (v !== undefined) attributes[name] = v;
  };
  set('local', pk.CKA_LOCAL);
  if (kind === 'private') {
    set('sensitive', pk.CKA_SENSITIVE);
    set('always_sensitive', pk.CKA_ALWAYS_SENSITIVE);
    set('extractable', pk.CKA_EXTRACTABLE);
    set('never_extractable', pk.CKA_NEVER_EXTRACTABLE);
  }
  const ecParams = a.get(pk.CKA_EC_PARAMS);
  return {
    handle,
    kind,
    label: a.get(pk.CKA_LABEL)?.toString('utf8') ?? '',
    id: new Uint8Array(a.get(pk.CKA_ID) ?? []),
    keyType,
    algorithm: describeKeyType(keyType, ecParams, modulusBytes),
    ecParams,
    attributes,
    sign: bool(a.get(pk.CKA_SIGN)),
  };
}

export function listKeys(p11: P11, session: Handle, kind: 'private' | 'public'): KeyObject[] {
  const cls = kind === 'private' ? pk.CKO_PRIVATE_KEY : pk.CKO_PUBLIC_KEY;
  return findObjects(p11, session, [{ type: pk.CKA_CLASS, value: cls }]).map((h) => describeKey(p11, session, h, kind));
}

export function keyName(k: { label: string; id: Uint8Array }): string {
  return `"${k.label}" (ID ${k.id.length ? bytesToHex(k.id) : 'none'})`;
}

export function describeKeyList(keys: readonly KeyObject[]): string {
  if (keys.length === 0) return 'the token holds no private keys';
  return `private keys on the token: ${keys.map((k) => `${keyName(k)} ${k.algorithm}`).join(', ')}`;
}

export interface KeySelector {
  keyLabel?: string | undefined;
  /** CKA_ID bytes (from --key-id hex or a PIV slot). */
  keyId?: Uint8Array | undefined;
  /** How the person named the key, for messages. */
  described: string;
}

/** The one private key matching every selector given. */
export function findPrivateKey(p11: P11, session: Handle, tokenLabel: string, sel: KeySelector): KeyObject {
  if (sel.keyLabel === undefined && sel.keyId === undefined) {
    const keys = listKeys(p11, session, 'private');
    throw new ErstError(
      'ERR_PKCS11_KEY_NOT_FOUND',
      `no key named: set ERST_PKCS11_KEY_LABEL, ERST_PKCS11_KEY_ID or ERST_PKCS11_PIV_SLOT (or \`keyLabel\` / \`keyId\` / \`pivSlot\`); ${describeKeyList(keys)}`,
      {
        details: {
          keys: keys.map((k) => ({ label: k.label, id: bytesToHex(k.id), algorithm: k.algorithm })),
          options: ['keyLabel', 'keyId', 'pivSlot'],
        },
      },
    );
  }
  const template: Template = [{ type: pk.CKA_CLASS, value: pk.CKO_PRIVATE_KEY }];
  if (sel.keyLabel !== undefined) template.push({ type: pk.CKA_LABEL, value: sel.keyLabel });
  if (sel.keyId !== undefined) template.push({ type: pk.CKA_ID, value: Buffer.from(sel.keyId) });
  const found = findObjects(p11, session, template);
  if (found.length !== 1) {
    const keys = listKeys(p11, session, 'private');
    const problem =
      found.length === 0
        ? `no private key ${sel.described} on token "${tokenLabel}"`
        : `${found.length} private keys match ${sel.described}; add \`keyId\` to pick one`;
    throw new ErstError('ERR_PKCS11_KEY_NOT_FOUND', `${problem}; ${describeKeyList(keys)}`, {
      details: {
        keys: keys.map((k) => ({ label: k.label, id: bytesToHex(k.id), algorithm: k.algorithm })),
        ...(found.length > 1 ? { options: ['keyId'] } : {}),
      },
    });
  }
  return describeKey(p11, session, found[0]!, 'private');
}

/** CKA_EC_POINT, DER OCTET STRING-wrapped (SoftHSM, ykcs11) or raw (some modules): the raw key bytes. */
export function decodeEcPoint(value: Uint8Array, algorithm: Algorithm): Uint8Array | undefined {
  const size = algorithm === 'ed25519' ? 32 : 65;
  if (value.length === size) return algorithm === 'ed25519' || value[0] === 4 ? value : undefined;
  if (value.length === size + 2 && value[0] === 0x04 && value[1] === size) {
    const raw = value.subarray(2);
    return algorithm === 'ed25519' || raw[0] === 4 ? raw : undefined;
  }
  if (value.length === size + 3 && value[0] === 0x04 && value[1] === 0x81 && value[2] === size)
    return value.subarray(3);
  return undefined;
}

export function algorithmOfKey(k: KeyObject): Algorithm | undefined {
  return k.algorithm === 'ed25519' || k.algorithm === 'ecdsa-p256' ? k.algorithm : undefined;
}

export interface CertificateObject {
  handle: Handle;
  label: string;
  id: Uint8Array;
  der: Uint8Array;
}

export function listCertificates(p11: P11, session: Handle): CertificateObject[] {
  const out: CertificateObject[] = [];
  for (const h of findObjects(p11, session, [{ type: pk.CKA_CLASS, value: pk.CKO_CERTIFICATE }])) {
    const a = readAttributes(p11, session, h, [pk.CKA_LABEL, pk.CKA_ID, pk.CKA_VALUE, pk.CKA_CERTIFICATE_TYPE]);
    const type = ulong(a.get(pk.CKA_CERTIFICATE_TYPE));
    const der = a.get(pk.CKA_VALUE);
    if ((type !== undefined && type !== pk.CKC_X_509) || !der || der.length === 0) continue;
    out.push({
      handle: h,
      label: a.get(pk.CKA_LABEL)?.toString('utf8') ?? '',
      id: new Uint8Array(a.get(pk.CKA_ID) ?? []),
      der: new Uint8Array(der),
    });
  }
  return out;
}

export function certificatePublicKey(der: Uint8Array): PublicKey | undefined {
  try {
    const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
    return publicKeyFromSpki(new Uint8Array(spki));
  } catch {
    return undefined;
  }
}

/**
 * The public half of a private key as the token holds it: the public-key
 * object with the same CKA_ID (or label), else CKA_EC_POINT on the private key
 * itself, else a certificate with the same CKA_ID.
 */
export function readPublicKey(p11: P11, session: Handle, key: KeyObject, algorithm: Algorithm): PublicKey | undefined {
  const template: Template = [{ type: pk.CKA_CLASS, value: pk.CKO_PUBLIC_KEY }];
  if (key.id.length) template.push({ type: pk.CKA_ID, value: Buffer.from(key.id) });
  else if (key.label) template.push({ type: pk.CKA_LABEL, value: key.label });
  const candidates = key.id.length || key.label ? findObjects(p11, session, template) : [];
  for (const h of [...candidates, key.handle]) {
    const a = readAttributes(p11, session, h, [pk.CKA_EC_POINT, pk.CKA_KEY_TYPE]);
    const point = a.get(pk.CKA_EC_POINT);
    const kt = ulong(a.get(pk.CKA_KEY_TYPE));
    if (!point || (kt !== undefined && kt !== (algorithm === 'ed25519' ? CKK_EC_EDWARDS : pk.CKK_EC))) continue;
    const raw = decodeEcPoint(point, algorithm);
    if (raw) return publicKeyFromRaw(new Uint8Array(raw), algorithm);
  }
  if (key.id.length) {
    for (const cert of listCertificates(p11, session)) {
      if (Buffer.compare(Buffer.from(cert.id), Buffer.from(key.id)) !== 0) continue;
      const pub = certificatePublicKey(cert.der);
      if (pub && pub.algorithm === algorithm) return pub;
    }
  }
  return undefined;
}
