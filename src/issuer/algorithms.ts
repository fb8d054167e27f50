/**
 * The JWS algorithms the gateway verifies (docs/keys.md), as the issuer names them. The gateway's
 * own table is `token/algorithms.ts`; the issuer cannot import the Worker's side, so the unit
 * tests hold the two lists and the HMAC key sizes equal.
 */

export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
export const PUBLIC_KEY_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"] as const;
/** Every algorithm an app's key may use: HMAC first, then the public-key ones. */
export const JWS_ALGORITHMS = [...HMAC_ALGORITHMS, ...PUBLIC_KEY_ALGORITHMS] as const;

export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];
export type PublicKeyAlgorithm = (typeof PUBLIC_KEY_ALGORITHMS)[number];
export type JwsAlgorithm = HmacAlgorithm | PublicKeyAlgorithm;

/** RFC 7518 section 3.2: an HMAC key at least as long as the hash output, as the gateway requires. */
export const HMAC_KEY_BYTES: Readonly<Record<HmacAlgorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };

export function isHmacAlgorithm(alg: string): alg is HmacAlgorithm {
  return (HMAC_ALGORITHMS as readonly string[]).includes(alg);
}

export function isJwsAlgorithm(alg: unknown): alg is JwsAlgorithm {
  return (JWS_ALGORITHMS as readonly unknown[]).includes(alg);
}
