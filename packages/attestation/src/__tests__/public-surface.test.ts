import { describe, expect, it } from 'vitest';
import * as attestation from '../index.js';

describe('@erst/attestation public surface', () => {
  it('exports exactly the documented names', () => {
    expect(Object.keys(attestation).sort()).toEqual(
      ['YUBICO_OID', 'buildAttestation', 'clearValidationCache', 'describeAttestation', 'verifyAttestation'].sort(),
    );
  });

  it('never loads pkcs11js: attestation is pure', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const src = join(import.meta.dirname, '..');
    for (const f of readdirSync(src).filter((n) => n.endsWith('.ts'))) {
      expect(readFileSync(join(src, f), 'utf8'), f).not.toMatch(/pkcs11js|from ['"]node:fs['"]/);
    }
  });
});
