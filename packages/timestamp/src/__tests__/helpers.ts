import { sha256, utf8Bytes } from '@erst/core';
import { CertificateChoices, CertificateSet, ContentInfo, SignedData } from '@peculiar/asn1-cms';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { TSTInfo } from '@peculiar/asn1-tsp';
import { Certificate } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';

/** Two records' trace hashes. */
export const IMPRINT = sha256(utf8Bytes('record one'));
export const OTHER_IMPRINT = sha256(utf8Bytes('record two'));

/** The code a promise rejects with, or 'no error': tests assert codes. */
export async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? `not coded: ${String(e)}`;
  }
  return 'no error';
}

/** The coded error a promise rejects with (its message and details too); throws if it resolves. */
export async function rejected(
  p: Promise<unknown>,
): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string; details?: Record<string, unknown> };
  }
  throw new Error('expected a rejection');
}

// ---------- token surgery: what an attacker can do to a token's bytes ----------

function signedData(token: Uint8Array): SignedData {
  return AsnConvert.parse(AsnConvert.parse(token, ContentInfo).content, SignedData);
}

function wrap(sd: SignedData): Uint8Array {
  const info = new ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: AsnConvert.serialize(sd) });
  return new Uint8Array(AsnConvert.serialize(info));
}

/** The token with its TSTInfo decoded, changed by `edit` and encoded again; the signature is left as it was. */
export function editTstInfo(token: Uint8Array, edit: (t: TSTInfo) => void): Uint8Array {
  const sd = signedData(token);
  const single = sd.encapContentInfo.eContent!.single!;
  const tst = AsnConvert.parse(single.buffer, TSTInfo);
  edit(tst);
  sd.encapContentInfo.eContent!.single = new OctetString(AsnConvert.serialize(tst));
  return wrap(sd);
}

/** The token carrying these certificates (PEM) instead of its own. */
export function withCertificates(token: Uint8Array, pems: readonly string[]): Uint8Array {
  const sd = signedData(token);
  sd.certificates = new CertificateSet(
    pems.map(
      (p) =>
        new CertificateChoices({ certificate: AsnConvert.parse(new x509.X509Certificate(p).rawData, Certificate) }),
    ),
  );
  return wrap(sd);
}

/** The PEM certificates the token carries, in its order. */
export function certificatesOf(token: Uint8Array): string[] {
  return (signedData(token).certificates ?? []).map((c) =>
    new x509.X509Certificate(AsnConvert.serialize(c.certificate!)).toString('pem'),
  );
}

/** The token with one bit of its signature flipped. */
export function flipSignatureBit(token: Uint8Array): Uint8Array {
  const sd = signedData(token);
  const si = sd.signerInfos[0]!;
  const sig = new Uint8Array(si.signature.buffer.slice(0));
  sig[sig.length - 1]! ^= 0x01;
  si.signature = new OctetString(sig);
  return wrap(sd);
}

/**
 * The token with one bit of one signed attribute's value flipped (its
 * `index`-th attribute, the value's last-but-one byte: the value still
 * parses, whether a time, an OID, a digest or a SEQUENCE), the attributes
 * encoded again and the signature left as it was: what the signature must catch.
 */
export function flipSignedAttributeByte(token: Uint8Array, index: number): Uint8Array {
  const sd = signedData(token);
  const attr = sd.signerInfos[0]!.signedAttrs![index]!;
  const value = new Uint8Array(attr.attrValues[0]!.slice(0));
  value[value.length - 2]! ^= 0x01;
  attr.attrValues[0] = value.buffer;
  return wrap(sd);
}
