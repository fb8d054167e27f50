/**
 * `generateAppKey`: fresh key material for an app, split into what the gateway gets (through the
 * admin API) and what the backend keeps. For HMAC both sides hold the same secret; for the
 * public-key algorithms the gateway gets only the public key.
 */

import { exportPKCS8, exportSPKI, generateKeyPair } from "jose";
import {
  HMAC_KEY_BYTES,
  type HmacAlgorithm,
  isHmacAlgorithm,
  isJwsAlgorithm,
  type JwsAlgorithm,
  type PublicKeyAlgorithm,
} from "./algorithms.ts";
import { IssuerError } from "./errors.ts";

/** An HMAC key as the admin API takes it. */
export interface HmacKeyRegistration<A extends HmacAlgorithm = HmacAlgorithm> {
  readonly kid?: string;
  readonly alg: A;
  /** Random bytes, as many as the hash has, in standard base64. */
  readonly secret: string;
  readonly secretEncoding: "base64";
}

/** A public key as the admin API takes it. */
export interface PublicKeyRegistration<A extends PublicKeyAlgorithm = PublicKeyAlgorithm> {
  readonly kid?: string;
  readonly alg: A;
  /** SPKI PEM (`-----BEGIN PUBLIC KEY-----`). */
  readonly publicKey: string;
}

export type AppKeyRegistration<A extends JwsAlgorithm = JwsAlgorithm> = A extends HmacAlgorithm
  ? HmacKeyRegistration<A>
  : A extends PublicKeyAlgorithm
    ? PublicKeyRegistration<A>
    : never;

export interface GeneratedAppKey<A extends JwsAlgorithm = JwsAlgorithm> {
  readonly alg: A;
  readonly kid?: string;
  /**
   * The body of `POST {ADMIN_PREFIX}/apps/{appId}/keys`, or an entry of the record's `keys`
   * (an `HS256` registration without `kid` may also be written as the record's
   * `secret`/`secretEncoding`). For HMAC it holds the shared secret: send it only to the admin API.
   */
  readonly registration: AppKeyRegistration<A>;
  /**
   * What `mintToken` takes as `key` (with the same `alg` and `kid`): the secret for HMAC, the
   * private key as PKCS#8 PEM otherwise. Keep it in the backend's secret store, never in an app.
   */
  readonly signingKey: string;
}

export interface GenerateAppKeyOptions {
  /** The key's id in the app's record, for rotation: `mintToken` puts it in each token's header. */
  readonly kid?: string;
}

function randomSecret(bytes: number): string {
  const key = new Uint8Array(bytes);
  // The gateway refuses a key that is one byte repeated; 32 random bytes never are, but check.
  do crypto.getRandomValues(key);
  while (key.every((byte) => byte === key[0]));
  let binary = "";
  for (const byte of key) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * New key material for `alg`: HMAC, random bytes of the hash's size (32, 48, 64) as a base64
 * secret; RSA (2048 bits), EC (P-256, P-384) or Ed25519, a key pair by Web Crypto through jose.
 */
export async function generateAppKey<A extends JwsAlgorithm>(
  alg: A,
  options: GenerateAppKeyOptions = {},
): Promise<GeneratedAppKey<A>> {
  if (!isJwsAlgorithm(alg))
    throw new IssuerError("INVALID_OPTION", "alg", "alg must be one of the algorithms the gateway verifies");
  const { kid } = options;
  if (kid !== undefined && (typeof kid !== "string" || !/^[^\p{Cc}]{1,128}$/u.test(kid))) {
    throw new IssuerError("INVALID_OPTION", "kid", "kid must be 1–128 characters without control characters");
  }
  const withKid = kid === undefined ? {} : { kid };
  if (isHmacAlgorithm(alg)) {
    const secret = randomSecret(HMAC_KEY_BYTES[alg]);
    const registration = { ...withKid, alg, secret, secretEncoding: "base64" } as const;
    return { alg, ...withKid, registration, signingKey: secret } as unknown as GeneratedAppKey<A>;
  }
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const registration = { ...withKid, alg, publicKey: await exportSPKI(publicKey) };
  return { alg, ...withKid, registration, signingKey: await exportPKCS8(privateKey) } as unknown as GeneratedAppKey<A>;
}
