import {
  AsnConvert,
  AsnIntegerBigIntConverter,
  AsnProp,
  AsnPropTypes,
  AsnType,
  AsnTypeTypes,
} from '@peculiar/asn1-schema';
import { equalBytes } from '@erst/core';
import type { ParsedCert } from './certs.js';
import type { VendorDetails } from './types.js';

/** Yubico's PIV attestation extensions (developers.yubico.com/PIV/Introduction/PIV_attestation.html). */
export const YUBICO_OID = {
  firmware: '1.3.6.1.4.1.41482.3.3',
  serial: '1.3.6.1.4.1.41482.3.7',
  policy: '1.3.6.1.4.1.41482.3.8',
  formFactor: '1.3.6.1.4.1.41482.3.9',
} as const;

// Values as Yubico documents them (and yubikey-manager, yubico-piv-tool, piv-go decode them).
const PIN_POLICY: Record<number, string> = { 1: 'never', 2: 'once', 3: 'always', 4: 'match-once', 5: 'match-always' };
const TOUCH_POLICY: Record<number, string> = { 1: 'never', 2: 'always', 3: 'cached' };
const FORM_FACTOR: Record<number, string> = {
  0: 'unknown',
  1: 'USB-A keychain',
  2: 'USB-A nano',
  3: 'USB-C keychain',
  4: 'USB-C nano',
  5: 'USB-C/Lightning keychain',
  6: 'USB-A bio',
  7: 'USB-C bio',
};

// The serial is a DER INTEGER inside the extension value: a one-alternative CHOICE
// lets @peculiar/asn1-schema parse a bare INTEGER (no decorator syntax needed).
class YubicoSerial {
  value = 0n;
}
AsnType({ type: AsnTypeTypes.Choice })(YubicoSerial);
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerBigIntConverter })(YubicoSerial.prototype, 'value');

function decodeSerial(value: Uint8Array): number | undefined {
  try {
    const parsed = AsnConvert.parse(value, YubicoSerial);
    // Strict DER: re-encoding must give back exactly the bytes (no trailing data).
    if (!equalBytes(new Uint8Array(AsnConvert.serialize(parsed)), value)) return undefined;
    if (parsed.value < 0n || parsed.value > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    return Number(parsed.value);
  } catch {
    return undefined;
  }
}

function named(table: Record<number, string>, code: number): string {
  return table[code] ?? `unknown (0x${code.toString(16).padStart(2, '0')})`;
}

/**
 * Decodes Yubico's attestation extensions from a leaf certificate; null when it
 * carries none. Values that do not decode are reported as such, not guessed.
 */
export function yubicoDetails(leaf: ParsedCert): VendorDetails | null {
  const ext = (oid: string): Uint8Array | undefined => {
    const e = leaf.cert.extensions.find((x) => x.type === oid);
    return e ? new Uint8Array(e.value) : undefined;
  };
  const fw = ext(YUBICO_OID.firmware);
  const serial = ext(YUBICO_OID.serial);
  const policy = ext(YUBICO_OID.policy);
  const ff = ext(YUBICO_OID.formFactor);
  if (!fw && !serial && !policy && !ff) return null;
  const out: VendorDetails = { vendor: 'yubico' };
  if (fw) out.firmware = fw.length === 3 ? `${fw[0]}.${fw[1]}.${fw[2]}` : `invalid (${fw.length} bytes)`;
  if (serial) {
    const n = decodeSerial(serial);
    if (n !== undefined) out.serial = n;
  }
  if (policy && policy.length === 2) {
    out.pin_policy = named(PIN_POLICY, policy[0]!);
    out.touch_policy = named(TOUCH_POLICY, policy[1]!);
  }
  if (ff && ff.length === 1) {
    // The low nibble is the form factor (yubikey-manager masks it the same way);
    // higher bits are model flags, shown raw rather than guessed.
    const code = ff[0]!;
    const high = code & 0xf0;
    out.form_factor = named(FORM_FACTOR, code & 0x0f) + (high ? ` (flags 0x${high.toString(16)})` : '');
  }
  return out;
}
