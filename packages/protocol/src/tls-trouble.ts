/** TLS errors whose fix is to trust the certificate's issuer here: a private CA, a self-signed master. */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/**
 * What a TLS error reaching the master means, in one line an admin can act on; null when the
 * error is no certificate's. Only an issuer not trusted here is fixed by trusting a CA file
 * (NODE_EXTRA_CA_CERTS): an expired certificate, or one for another host name, is the
 * master's to fix or --master's, and had been given that hint all the same.
 */
export function describeTlsTrouble(code: string, detail: string, master: string): string | null {
  const at = `cannot reach the master at ${master}: its TLS certificate`;
  if (UNTRUSTED.has(code))
    return `${at} is not trusted here (${detail}; NODE_EXTRA_CA_CERTS names a CA file to trust)`;
  if (code === 'CERT_HAS_EXPIRED')
    return `${at} has expired (${detail}): the master's certificate must be renewed`;
  if (code === 'CERT_NOT_YET_VALID')
    return `${at} is not valid yet (${detail}): is a clock wrong, here or where it was made?`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `${at} is not for that host name (${detail}): give --master a name (or address) the certificate holds`;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code))
    return `${at} is refused (${detail})`;
  return null;
}
