// The only place @peculiar/x509 is loaded. Its tsyringe container needs
// reflect-metadata's Reflect.getMetadata first: that import is this package's
// one side effect, declared in package.json `sideEffects`.
//
// @peculiar/x509's global default crypto provider is left alone (an
// application may have set its own): every call that needs WebCrypto is
// passed the caller's, or globalThis.crypto.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export { x509 };
