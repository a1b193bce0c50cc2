// The only place @peculiar/x509 is loaded. It needs reflect-metadata first,
// and a WebCrypto provider (Node 20 and browsers both have globalThis.crypto).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
