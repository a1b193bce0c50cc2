// Loaded only for an ECDSA key (see Pkcs11Signer.open). A module of its own, imported by name: a bundler cannot
// tell which members of a dynamically imported namespace are used, so `(await import('@noble/curves/nist.js')).p256`
// made the erst bundle keep all of nist.js (P-384, P-521, their OPRF and FROST code, ~70 KB more to load) on the
// start-up path of every command that verifies, where P-256 alone is imported by name.
export { p256 } from '@noble/curves/nist.js';
