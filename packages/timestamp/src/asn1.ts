import { ErstError, type ErrorCode, bytesToHex } from '@erst/core';
import {
  AsnArray,
  AsnConvert,
  AsnParser,
  AsnProp,
  AsnPropTypes,
  AsnType,
  AsnTypeTypes,
  OctetString,
} from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { IssuerSerial } from '@peculiar/asn1-x509-attr';
import {
  Attribute,
  CMSVersion,
  DigestAlgorithmIdentifier,
  DigestAlgorithmIdentifiers,
  EncapsulatedContentInfo,
  RevocationInfoChoices,
  SignatureAlgorithmIdentifier,
  SignerIdentifier,
} from '@peculiar/asn1-cms';

/** A token's size cap: one with a chain of three RSA-4096 certificates is under 8 KiB. */
export const MAX_TOKEN_BYTES = 64 * 1024;
/** A TimeStampResp is its token plus a few bytes of status. */
export const MAX_RESPONSE_BYTES = MAX_TOKEN_BYTES + 4096;
/** Certificates a token may carry: a TSA sends its own and perhaps two or three above it. */
export const MAX_TOKEN_CERTIFICATES = 10;

// Nesting and element counts far above any real token's, far below what would cost.
// asn1js also tries, by default, to parse every OCTET and BIT STRING's content
// as ASN.1 in case something is embedded there: in a token that is the
// TSTInfo (parsed on its own, once, by its schema), each certificate's key,
// signature and extension values (the certificates are kept as DER and
// parsed once per distinct certificate) and every attribute value. Off: a
// quarter of the parse of a token, for a tree nothing reads.
const BER_LIMITS = { maxDepth: 32, maxNodes: 4096, parseEmbedded: false };

export const OID = {
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  timeStamping: '1.3.6.1.5.5.7.3.8',
} as const;

export const HASH_NAMES: Readonly<Record<string, string>> = {
  [OID.sha1]: 'SHA-1',
  [OID.sha256]: 'SHA-256',
  [OID.sha384]: 'SHA-384',
  [OID.sha512]: 'SHA-512',
};

/**
 * Parses DER as `type`, within BER_LIMITS; anything that does not parse is
 * `code`. The message never quotes the bytes (they are untrusted) nor the
 * parser's text (it may): `cause` keeps that for debugging.
 */
export function parseAs<T>(der: Uint8Array | ArrayBuffer, type: new () => T, code: ErrorCode, what: string): T {
  try {
    return AsnParser.parse(der as BufferSource, type, { berOptions: BER_LIMITS });
  } catch (e) {
    throw new ErstError(code, `${what} is not valid DER of its ASN.1 type`, { cause: e });
  }
}

export function bytes(b: BufferSource): Uint8Array {
  return b instanceof Uint8Array
    ? b
    : ArrayBuffer.isView(b)
      ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
      : new Uint8Array(b);
}

/** An INTEGER's bytes as lowercase hex without sign-padding zero bytes: serials and nonces compare this way. */
export function integerHex(b: BufferSource): string {
  return unpadded(bytesToHex(bytes(b)));
}

/** Hex of an INTEGER, lowercase, without leading zero bytes (one byte is kept). */
export function unpadded(hex: string): string {
  return hex.toLowerCase().replace(/^(?:00)+(?=[0-9a-f]{2})/, '');
}

export function serialize(value: unknown): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(value));
}

// ---------- schemas @peculiar does not ship: ESS (RFC 2634, RFC 5035) and CMS SignedAttributes ----------
// Declared with asn1-schema's decorators applied as functions (this package
// compiles without experimentalDecorators).

function declare(
  target: abstract new () => object,
  type: AsnTypeTypes,
  props: Record<string, Parameters<typeof AsnProp>[0]>,
  itemType?: unknown,
): void {
  for (const [key, options] of Object.entries(props)) AsnProp(options)(target.prototype, key);
  AsnType({ type, ...(itemType ? { itemType: itemType as never } : {}) })(target as never);
}

/** ESSCertID: the SHA-1 of the signing certificate, and optionally its issuer and serial. */
export class EssCertId {
  certHash = new OctetString();
  issuerSerial?: IssuerSerial;
}
declare(EssCertId, AsnTypeTypes.Sequence, {
  certHash: { type: OctetString },
  issuerSerial: { type: IssuerSerial, optional: true },
});

/** ESSCertIDv2: as ESSCertID, under a named hash (SHA-256 when absent). */
export class EssCertIdV2 {
  hashAlgorithm?: AlgorithmIdentifier;
  certHash = new OctetString();
  issuerSerial?: IssuerSerial;
}
declare(EssCertIdV2, AsnTypeTypes.Sequence, {
  hashAlgorithm: { type: AlgorithmIdentifier, optional: true },
  certHash: { type: OctetString },
  issuerSerial: { type: IssuerSerial, optional: true },
});

/** SigningCertificate (v1 and v2 share the shape; `policies` is not read). */
export class SigningCertificate {
  certs: EssCertId[] = [];
  policies?: ArrayBuffer;
}
declare(SigningCertificate, AsnTypeTypes.Sequence, {
  certs: { type: EssCertId, repeated: 'sequence' },
  policies: { type: AsnPropTypes.Any, optional: true },
});

export class SigningCertificateV2 {
  certs: EssCertIdV2[] = [];
  policies?: ArrayBuffer;
}
declare(SigningCertificateV2, AsnTypeTypes.Sequence, {
  certs: { type: EssCertIdV2, repeated: 'sequence' },
  policies: { type: AsnPropTypes.Any, optional: true },
});

/** A content-type attribute value: one OBJECT IDENTIFIER. */
export class ObjectIdentifierValue {
  value = '';
}
declare(ObjectIdentifierValue, AsnTypeTypes.Choice, { value: { type: AsnPropTypes.ObjectIdentifier } });

/**
 * SignedAttributes as a SET OF Attribute: what the signature covers (RFC 5652
 * 5.4: the EXPLICIT SET OF tag, not the [0] IMPLICIT one the SignerInfo
 * carries). Re-encoded in the order received; each value keeps its own bytes.
 */
export class SignedAttributesSet extends AsnArray<Attribute> {
  constructor(items?: Attribute[]) {
    super(items);
    Object.setPrototypeOf(this, SignedAttributesSet.prototype);
  }
}
AsnType({ type: AsnTypeTypes.Set, itemType: Attribute })(SignedAttributesSet);

/**
 * SignerInfo (RFC 5652 5.3) as @peculiar/asn1-cms declares it, except that
 * the signed attributes' own bytes are kept (`signedAttrsRaw`, the [0]
 * IMPLICIT element as the token carries it): the signature is over exactly
 * those bytes under the SET OF tag, so they need not be encoded again (which
 * cost a parse of every attribute value). asn1-cms declares the same `raw`
 * option, but on a repeated field, where asn1-schema does not honour it.
 */
export class TokenSignerInfo {
  version = CMSVersion.v0;
  sid = new SignerIdentifier();
  /** The SignerIdentifier's bytes as carried: the same for every token from one TSA (token.ts caches by them). */
  sidRaw?: Uint8Array;
  digestAlgorithm = new DigestAlgorithmIdentifier();
  signedAttrs?: SignedAttributesSet;
  signedAttrsRaw?: Uint8Array;
  signatureAlgorithm = new SignatureAlgorithmIdentifier();
  signature = new OctetString();
  unsignedAttrs?: Attribute[];
}
declare(TokenSignerInfo, AsnTypeTypes.Sequence, {
  version: { type: AsnPropTypes.Integer },
  sid: { type: SignerIdentifier, raw: true },
  digestAlgorithm: { type: DigestAlgorithmIdentifier },
  signedAttrs: { type: SignedAttributesSet, context: 0, implicit: true, optional: true, raw: true },
  signatureAlgorithm: { type: SignatureAlgorithmIdentifier },
  signature: { type: OctetString },
  unsignedAttrs: { type: Attribute, repeated: 'set', context: 1, implicit: true, optional: true },
});

/** SignerInfos of TokenSignerInfo. */
export class TokenSignerInfos extends AsnArray<TokenSignerInfo> {
  constructor(items?: TokenSignerInfo[]) {
    super(items);
    Object.setPrototypeOf(this, TokenSignerInfos.prototype);
  }
}
AsnType({ type: AsnTypeTypes.Set, itemType: TokenSignerInfo })(TokenSignerInfos);

/** A SignedData's `certificates` (RFC 5652 10.2.3), each element kept as the DER the token carries. */
export class RawCertificateSet extends AsnArray<ArrayBuffer> {
  constructor(items?: ArrayBuffer[]) {
    super(items);
    Object.setPrototypeOf(this, RawCertificateSet.prototype);
  }
}
AsnType({ type: AsnTypeTypes.Set, itemType: AsnPropTypes.Any })(RawCertificateSet);

/**
 * CMS SignedData (RFC 5652 5.1) as @peculiar/asn1-cms declares it, except
 * that its SignerInfos are TokenSignerInfo and the certificates stay DER: token.ts parses each distinct certificate
 * once and keeps it, where the shipped schema would decode, and the x509
 * package re-encode and parse again, every certificate of every token. The
 * DER kept is the token's own, so a fingerprint is of the bytes carried.
 */
export class TokenSignedData {
  version = 0;
  digestAlgorithms = new DigestAlgorithmIdentifiers();
  encapContentInfo = new EncapsulatedContentInfo();
  certificates?: RawCertificateSet;
  crls?: RevocationInfoChoices;
  signerInfos = new TokenSignerInfos();
}
declare(TokenSignedData, AsnTypeTypes.Sequence, {
  version: { type: AsnPropTypes.Integer },
  digestAlgorithms: { type: DigestAlgorithmIdentifiers },
  encapContentInfo: { type: EncapsulatedContentInfo },
  certificates: { type: RawCertificateSet, context: 0, implicit: true, optional: true },
  crls: { type: RevocationInfoChoices, context: 1, implicit: true, optional: true },
  signerInfos: { type: TokenSignerInfos },
});

/**
 * ContentInfo (RFC 5652 3) holding TokenSignedData: the token is read from
 * BER once, where ContentInfo's ANY content would be read again as SignedData.
 */
export class TokenContentInfo {
  contentType = '';
  content = new TokenSignedData();
}
declare(TokenContentInfo, AsnTypeTypes.Sequence, {
  contentType: { type: AsnPropTypes.ObjectIdentifier },
  content: { type: TokenSignedData, context: 0 },
});
