/**
 * The JWS algorithms an app's keys may use and their key-size rules: plain data, with
 * no platform types, so the Node scripts (`npm run token`) share them with the Worker.
 */

export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
export const PUBLIC_KEY_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"] as const;
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];
export type PublicKeyAlgorithm = (typeof PUBLIC_KEY_ALGORITHMS)[number];
export type JwsAlgorithm = HmacAlgorithm | PublicKeyAlgorithm;

/** RFC 7518 section 3.2: an HMAC key at least as long as the hash output. */
export const HMAC_MIN_KEY_BYTES: Readonly<Record<HmacAlgorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };
/** RFC 7518 section 3.3 (and NIST SP 800-131A): RSA keys of at least 2048 bits. */
export const MIN_RSA_BITS = 2048;

export function isHmacAlgorithm(alg: string): alg is HmacAlgorithm {
  return (HMAC_ALGORITHMS as readonly string[]).includes(alg);
}
