/**
 * Minting tokens for people: the same key derivation as the gateway, signed by jose, with an
 * HMAC secret or a private key (PEM PKCS#8 or a private JWK) for the public-key algorithms.
 */

import { type CryptoKey, importJWK, importPKCS8, type JWK, SignJWT } from "jose";
import { deriveKeyBytes, type SecretEncoding } from "../../src/apps/secret.ts";
import {
  HMAC_ALGORITHMS,
  HMAC_MIN_KEY_BYTES,
  type HmacAlgorithm,
  isHmacAlgorithm,
  type JwsAlgorithm,
  PUBLIC_KEY_ALGORITHMS,
} from "../../src/token/algorithms.ts";

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Seconds in a duration like `90`, `90s`, `15m`, `1h` or `7d`; a leading `-` makes it negative
 * (`-5m`: a token that expired five minutes ago). Throws on anything else.
 */
export function parseDuration(text: string): number {
  const match = /^(-?)(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${text} (use 90s, 15m, 1h, 7d, or -5m for an expired token)`);
  return (match[1] ? -1 : 1) * Number(match[2]) * (UNITS[match[3] || "s"] as number);
}

export const ALGORITHMS: readonly JwsAlgorithm[] = [...HMAC_ALGORITHMS, ...PUBLIC_KEY_ALGORITHMS];

export function parseAlgorithm(text: string): JwsAlgorithm {
  if (!(ALGORITHMS as readonly string[]).includes(text)) {
    throw new Error(`--alg must be one of ${ALGORITHMS.join(", ")}`);
  }
  return text as JwsAlgorithm;
}

/** How a token is signed: an HMAC secret as the record holds it, or a private key's text. */
export type Signer =
  | { readonly alg: HmacAlgorithm; readonly secret: string; readonly encoding: SecretEncoding }
  | { readonly alg: JwsAlgorithm; readonly privateKey: string };

export interface MintOptions {
  readonly appId: string;
  readonly claims: Record<string, unknown>;
  /** Lifetime in seconds; `null` for a token without `exp`. */
  readonly lifetimeSeconds: number | null;
  readonly now?: number;
  readonly kid?: string;
}

async function signingKey(signer: Signer): Promise<CryptoKey | Uint8Array> {
  if ("secret" in signer) {
    const derived = deriveKeyBytes(signer.secret, signer.encoding, HMAC_MIN_KEY_BYTES[signer.alg]);
    if ("error" in derived) throw new Error(derived.error);
    return derived.bytes;
  }
  if (isHmacAlgorithm(signer.alg)) throw new Error(`${signer.alg} signs with a secret (--secret), not --key`);
  const text = signer.privateKey.trim();
  if (text.startsWith("{")) {
    const jwk = JSON.parse(text) as JWK;
    if (jwk.d === undefined) throw new Error("--key: the JWK has no private part (d)");
    return (await importJWK(jwk, signer.alg)) as CryptoKey;
  }
  if (!text.includes("-----BEGIN PRIVATE KEY-----")) {
    throw new Error("--key must be a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----) or a private JWK");
  }
  return importPKCS8(text, signer.alg);
}

/** How long before its `exp` an already expired token (negative lifetime) says it was issued. */
const EXPIRED_TOKEN_LIFETIME_SECONDS = 900;

/**
 * A token for `appId` with `iat`, optional `exp`, the given claims, and `kid` when given. A
 * negative lifetime mints a token that expired that long ago, issued 15 minutes before its `exp`.
 */
export async function mintAppToken(options: MintOptions, signer: Signer): Promise<string> {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const { lifetimeSeconds } = options;
  const expired = lifetimeSeconds !== null && lifetimeSeconds < 0;
  const iat = expired ? now + lifetimeSeconds - EXPIRED_TOKEN_LIFETIME_SECONDS : now;
  const payload: Record<string, unknown> = { appId: options.appId, ...options.claims, iat };
  if (lifetimeSeconds !== null) payload.exp = now + lifetimeSeconds;
  const header = { alg: signer.alg, typ: "JWT", ...(options.kid === undefined ? {} : { kid: options.kid }) };
  return new SignJWT(payload).setProtectedHeader(header).sign(await signingKey(signer));
}
