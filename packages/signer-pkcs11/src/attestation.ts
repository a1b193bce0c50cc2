import {
  ErstError,
  type HardwareAttestation,
  type PublicKey,
  bytesToHex,
  equalBytes,
  isErstError,
  publicKeyId,
} from '@erst/core';
import { type Handle, type P11, pivSlotForId } from './constants.js';
import { type CertificateObject, type KeyObject, certificatePublicKey, listCertificates } from './objects.js';
import { type TokenRef, tokenInfoString } from './token.js';

export const PIV_ATTESTATION_LABEL = 'X.509 Certificate for PIV Attestation';

export interface AttestationSource {
  token: TokenRef;
  key: KeyObject;
  publicKey: PublicKey;
  /** The PIV slot the key was named by, if it was. */
  pivSlot?: string | undefined;
  /** Certificates from --attestation-chain. */
  extraChain: readonly Uint8Array[];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && equalBytes(a, b);
}

/**
 * The certificate that attests the signing key: YubiKey's "X.509 Certificate
 * for PIV Attestation <slot>" object first, then any attestation-labelled or
 * other certificate with the key's CKA_ID (those certifying this very key
 * first). Undefined when the token holds none.
 */
export function findAttestationLeaf(
  certs: readonly CertificateObject[],
  src: AttestationSource,
): CertificateObject | undefined {
  const slot = src.pivSlot ?? pivSlotForId(src.key.id);
  const byLabel = slot ? certs.find((c) => c.label === `${PIV_ATTESTATION_LABEL} ${slot}`) : undefined;
  if (byLabel) return byLabel;
  if (src.key.id.length === 0) return undefined;
  const sameId = certs.filter((c) => sameBytes(c.id, src.key.id));
  const certifiesKey = (c: CertificateObject) => {
    const k = certificatePublicKey(c.der);
    return k !== undefined && publicKeyId(k) === publicKeyId(src.publicKey);
  };
  const rank = (c: CertificateObject) =>
    (c.label.startsWith(PIV_ATTESTATION_LABEL) ? 0 : 2) + (certifiesKey(c) ? 0 : 1);
  return [...sameId].sort((a, b) => rank(a) - rank(b))[0];
}

/**
 * Reads what the token holds about the key (its attestation certificate, the
 * token's other certificates, the key's attributes) and builds the
 * `hardware_attestation` object with @erst/attestation. Undefined when the
 * token has no certificate for the key.
 */
export async function collectAttestation(
  p11: P11,
  session: Handle,
  src: AttestationSource,
): Promise<HardwareAttestation | undefined> {
  const certs = listCertificates(p11, session);
  const leaf = findAttestationLeaf(certs, src);
  if (!leaf) return undefined;
  const pool = [...certs.filter((c) => c !== leaf).map((c) => c.der), ...src.extraChain];
  // @erst/attestation pulls in an X.509 library (~60 ms to load): only when there is a chain to build.
  const { buildAttestation } = await import('@erst/attestation');
  try {
    return await buildAttestation({
      leaf: leaf.der,
      pool,
      tokenInfo: tokenInfoString(src.token),
      keyAttributes: { ...src.key.attributes },
      retrievedAt: new Date(),
      publicKey: src.publicKey,
    });
  } catch (error) {
    const why = isErstError(error)
      ? `${error.code}: ${error.message}`
      : error instanceof Error
        ? error.message
        : String(error);
    throw new ErstError(
      'ERR_ATTESTATION_UNAVAILABLE',
      `the token's attestation certificate "${leaf.label}" (ID ${bytesToHex(leaf.id)}) for the signing key cannot be used (${why}); fix the token's certificates or sign with \`attestation: 'off'\``,
      { cause: error, details: { options: ["attestation: 'off'"] } },
    );
  }
}
