import { describe, expect, it } from 'vitest';
import { describeTlsTrouble } from './tls-trouble.js';

const M = 'https://hq.corp.example:7070';

describe('describeTlsTrouble', () => {
  it('gives the CA hint only where trusting a CA file is the fix', () => {
    for (const code of [
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    ])
      expect(describeTlsTrouble(code, 'why', M), code).toContain('NODE_EXTRA_CA_CERTS');
    for (const code of [
      'CERT_HAS_EXPIRED',
      'CERT_NOT_YET_VALID',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'CERT_REVOKED',
    ])
      expect(describeTlsTrouble(code, 'why', M), code).not.toContain('NODE_EXTRA_CA_CERTS');
  });

  it('says what to do for an expired certificate, one not valid yet, and one for another name', () => {
    expect(describeTlsTrouble('CERT_HAS_EXPIRED', 'certificate has expired', M)).toBe(
      `cannot reach the master at ${M}: its TLS certificate has expired (certificate has expired): the master's certificate must be renewed`,
    );
    expect(describeTlsTrouble('CERT_NOT_YET_VALID', 'x', M)).toMatch(/is a clock wrong/);
    expect(describeTlsTrouble('ERR_TLS_CERT_ALTNAME_INVALID', 'x', M)).toMatch(/give --master a name/);
  });

  it('is null for what is no certificate trouble', () => {
    expect(describeTlsTrouble('ECONNRESET', 'x', M)).toBeNull();
    expect(describeTlsTrouble('', 'x', M)).toBeNull();
  });
});
