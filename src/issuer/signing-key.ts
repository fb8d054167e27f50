/**
 * The key `mintToken` signs with, from what an app backend holds: for HMAC, the app's secret as
 * stored in its record (read exactly as the gateway reads it, `lib/secret-key.ts`), key bytes, an
 * `oct` JWK or a `CryptoKey`; for the public-key algorithms, the private key as PKCS#8 PEM, a
 * private JWK (object or JSON text), a `CryptoKey` or a Node `KeyObject`.
 */

import { type CryptoKey, importJWK, importPKCS8, type JWK, type KeyObject } from "jose";
import { decodeBase64url } from "../lib/base64url.ts";
import { deriveKeyBytes, type SecretEncoding } from "../lib/secret-key.ts";
import { HMAC_KEY_BYTES, type HmacAlgorithm, isHmacAlgorithm, type JwsAlgorithm } from "./algorithms.ts";
import { IssuerError } from "./errors.ts";

/** What `key` may be: see the module comment. */
export type SigningKeyInput = string | JWK | CryptoKey | KeyObject | Uint8Array;

export type SigningKey = CryptoKey | KeyObject | Uint8Array;

function keyError(message: string, cause?: unknown): IssuerError {
  return new IssuerError("INVALID_KEY", "key", message, cause === undefined ? undefined : { cause });
}

function isJwk(key: SigningKeyInput): key is JWK {
  return typeof key === "object" && !(key instanceof Uint8Array) && typeof (key as JWK).kty === "string";
}

/** The gateway's rules for key bytes (CONTRACT section 2): at least the hash size, not one byte repeated. */
function checkedBytes(bytes: Uint8Array, alg: HmacAlgorithm): Uint8Array {
  const min = HMAC_KEY_BYTES[alg];
  if (bytes.length < min) throw keyError(`key must be at least ${min} bytes for ${alg}`);
  if (bytes.every((byte) => byte === bytes[0])) throw keyError("key must not be one byte repeated");
  return bytes;
}

function hmacKey(key: SigningKeyInput, alg: HmacAlgorithm, encoding: SecretEncoding): SigningKey {
  if (typeof key === "string") {
    const derived = deriveKeyBytes(key, encoding, HMAC_KEY_BYTES[alg]);
    if ("error" in derived) throw keyError(derived.error);
    return derived.bytes;
  }
  if (key instanceof Uint8Array) return checkedBytes(key, alg);
  if (isJwk(key)) {
    if (key.kty !== "oct" || typeof key.k !== "string")
      throw keyError(`${alg} signs with a secret: a JWK must be kty "oct"`);
    if (key.alg !== undefined && key.alg !== alg) throw keyError(`the JWK's alg is not ${alg}`);
    const bytes = decodeBase64url(key.k);
    if (!bytes) throw keyError("the JWK's k must be base64url");
    return checkedBytes(bytes, alg);
  }
  // A CryptoKey or KeyObject: jose checks its type and algorithm when it signs.
  return key;
}

async function importPrivateJwk(jwk: JWK, alg: JwsAlgorithm): Promise<SigningKey> {
  if (jwk.d === undefined) throw keyError("the JWK has no private part (d): a public key cannot sign");
  try {
    return (await importJWK(jwk, alg)) as CryptoKey;
  } catch (error) {
    throw keyError(`the JWK does not import as a ${alg} private key`, error);
  }
}

const PRIVATE_KEY_NEEDED = "key must be a private key: PKCS#8 PEM (-----BEGIN PRIVATE KEY-----) or a private JWK";

async function privateKey(key: SigningKeyInput, alg: JwsAlgorithm): Promise<SigningKey> {
  if (typeof key === "string") {
    const text = key.trim();
    if (text.startsWith("{")) {
      let jwk: JWK;
      try {
        jwk = JSON.parse(text) as JWK;
      } catch (error) {
        throw keyError("key looks like a JWK but is not JSON", error);
      }
      return importPrivateJwk(jwk, alg);
    }
    if (/^-----BEGIN PUBLIC KEY-----/.test(text)) throw keyError(`${PRIVATE_KEY_NEEDED}; this is the public key`);
    if (/^-----BEGIN (RSA|EC) PRIVATE KEY-----/.test(text)) {
      throw keyError(`${PRIVATE_KEY_NEEDED}; convert it with openssl pkcs8 -topk8 -nocrypt`);
    }
    if (!text.startsWith("-----BEGIN PRIVATE KEY-----"))
      throw keyError(`${alg} signs with a private key: ${PRIVATE_KEY_NEEDED}`);
    try {
      return await importPKCS8(text, alg);
    } catch (error) {
      throw keyError(`the PKCS#8 key does not import as a ${alg} private key`, error);
    }
  }
  if (key instanceof Uint8Array) throw keyError(`${alg} signs with a private key: ${PRIVATE_KEY_NEEDED}`);
  if (isJwk(key)) return importPrivateJwk(key, alg);
  if ((key as { type?: unknown }).type === "public") throw keyError(`${PRIVATE_KEY_NEEDED}; this is a public key`);
  return key;
}

/** The key to sign `alg` with, or an `IssuerError` (`INVALID_KEY`) that says what is wrong. */
export function importSigningKey(
  key: SigningKeyInput,
  alg: JwsAlgorithm,
  encoding: SecretEncoding,
): Promise<SigningKey> {
  if (key === null || (typeof key !== "string" && typeof key !== "object")) {
    return Promise.reject(keyError("key is required: the app's secret or a private key"));
  }
  return isHmacAlgorithm(alg) ? Promise.resolve().then(() => hmacKey(key, alg, encoding)) : privateKey(key, alg);
}
