import pkcs11js from 'pkcs11js';

/** The pkcs11js namespace: the PKCS11 class and the CK* constants it knows. */
export const pk = pkcs11js;
export type P11 = InstanceType<typeof pkcs11js.PKCS11>;
/** pkcs11js passes slot, session and object handles as CK_ULONG-sized Buffers. */
export type Handle = Buffer;

// pkcs11js predates PKCS#11 3.0's EdDSA and ships none of these (0x1050 is
// CKM_ECDH1_DERIVE, the value erst's old signer used by mistake).
export const CKK_EC_EDWARDS = 0x40;
export const CKK_EC_MONTGOMERY = 0x41;
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;

/** PrintableString "edwards25519": the CKA_EC_PARAMS both SoftHSM and ykcs11 accept when generating. */
export const EC_PARAMS_ED25519 = Buffer.from('130c656477617264733235353139', 'hex');
/** OID 1.3.101.112 (id-Ed25519), the other spelling some tokens return. */
export const EC_PARAMS_ED25519_OID = Buffer.from('06032b6570', 'hex');
export const EC_PARAMS_ED448 = Buffer.from('130a65647761726473343438', 'hex');
export const EC_PARAMS_ED448_OID = Buffer.from('06032b6571', 'hex');
/** OID 1.2.840.10045.3.1.7 (prime256v1 / secp256r1). */
export const EC_PARAMS_P256 = Buffer.from('06082a8648ce3d030107', 'hex');
const OTHER_CURVES: Record<string, string> = {
  '06052b81040022': 'ec-p384',
  '06052b81040023': 'ec-p521',
  '06052b8104000a': 'ec-secp256k1',
};

/** YubiKey PIV slot -> CKA_ID used by ykcs11 (9a=1, 9c=2, 9d=3, 9e=4, 82..95=5..24, f9=25). */
export const PIV_SLOT_IDS: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries([
    ['9a', 1],
    ['9c', 2],
    ['9d', 3],
    ['9e', 4],
    ...Array.from({ length: 20 }, (_, i) => [(0x82 + i).toString(16), 5 + i] as const),
    ['f9', 25],
  ]),
);

export function pivSlotForId(id: Uint8Array): string | undefined {
  if (id.length !== 1) return undefined;
  return Object.entries(PIV_SLOT_IDS).find(([, v]) => v === id[0])?.[0];
}

// CKM_EC_KEY_PAIR_GEN has an older alias (CKM_ECDSA_KEY_PAIR_GEN): prefer the current name.
const PREFERRED_MECHANISM_NAMES: [number, string][] = [
  [CKM_EDDSA, 'CKM_EDDSA'],
  [CKM_EC_EDWARDS_KEY_PAIR_GEN, 'CKM_EC_EDWARDS_KEY_PAIR_GEN'],
  [pk.CKM_EC_KEY_PAIR_GEN, 'CKM_EC_KEY_PAIR_GEN'],
];
let mechanismNames: Map<number, string> | undefined;

export function mechanismName(code: number): string {
  if (!mechanismNames) {
    mechanismNames = new Map();
    for (const [name, value] of Object.entries(pk)) {
      if (name.startsWith('CKM_') && typeof value === 'number' && !mechanismNames.has(value))
        mechanismNames.set(value, name);
    }
    for (const [value, name] of PREFERRED_MECHANISM_NAMES) mechanismNames.set(value, name);
  }
  return mechanismNames.get(code) ?? `0x${code.toString(16)}`;
}

/** A key's algorithm as erst names it: one of ours, or a descriptive name for keys erst cannot sign with. */
export function describeKeyType(
  keyType: number | undefined,
  ecParams: Uint8Array | undefined,
  modulusBytes?: number,
): string {
  const params = ecParams ? Buffer.from(ecParams) : undefined;
  switch (keyType) {
    case CKK_EC_EDWARDS:
      if (params && (params.equals(EC_PARAMS_ED25519) || params.equals(EC_PARAMS_ED25519_OID))) return 'ed25519';
      if (params && (params.equals(EC_PARAMS_ED448) || params.equals(EC_PARAMS_ED448_OID))) return 'ed448';
      return 'eddsa (unknown curve)';
    case pk.CKK_EC:
      if (params?.equals(EC_PARAMS_P256)) return 'ecdsa-p256';
      return (params && OTHER_CURVES[params.toString('hex')]) ?? 'ec (unknown curve)';
    case pk.CKK_RSA:
      return modulusBytes ? `rsa-${modulusBytes * 8}` : 'rsa';
    case CKK_EC_MONTGOMERY:
      return 'x25519/x448 (key agreement only)';
    case undefined:
      return 'unknown';
    default:
      return `key type 0x${keyType.toString(16)}`;
  }
}
