/**
 * The keys an app verifies tokens with: HMAC keys through Web Crypto, public keys
 * imported by jose (`importSPKI`, `importJWK`) and checked here (public, RSA ≥ 2048 bits, the
 * curve the algorithm names). The algorithm table mirrors jose's (`lib/jws_algorithms.js`);
 * signatures are checked with `crypto.subtle.verify` on the already strictly parsed token, and
 * the unit tests hold both to jose's `compactVerify`.
 */

import { importJWK, importSPKI, type JWK } from "jose";
import { type HmacAlgorithm, type JwsAlgorithm, MIN_RSA_BITS, type PublicKeyAlgorithm } from "./algorithms.ts";

type VerifyParams = Parameters<SubtleCrypto["verify"]>[0];

const VERIFY_PARAMS: Readonly<Record<JwsAlgorithm, VerifyParams>> = {
  HS256: "HMAC",
  HS384: "HMAC",
  HS512: "HMAC",
  RS256: "RSASSA-PKCS1-v1_5",
  RS384: "RSASSA-PKCS1-v1_5",
  RS512: "RSASSA-PKCS1-v1_5",
  PS256: { name: "RSA-PSS", saltLength: 32 },
  ES256: { name: "ECDSA", hash: "SHA-256" },
  ES384: { name: "ECDSA", hash: "SHA-384" },
  EdDSA: "Ed25519",
};

/** What a key's imported `CryptoKey` must be, beyond what the import itself enforces. */
const EXPECTED_KEY: Readonly<Record<PublicKeyAlgorithm, { name: string; namedCurve?: string }>> = {
  RS256: { name: "RSASSA-PKCS1-v1_5" },
  RS384: { name: "RSASSA-PKCS1-v1_5" },
  RS512: { name: "RSASSA-PKCS1-v1_5" },
  PS256: { name: "RSA-PSS" },
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  ES384: { name: "ECDSA", namedCurve: "P-384" },
  EdDSA: { name: "Ed25519" },
};

/** The key material a record holds: HMAC key bytes, or a public key as PEM SPKI text or a JWK. */
export type KeyMaterial =
  | { readonly kind: "hmac"; readonly alg: HmacAlgorithm; readonly bytes: Uint8Array }
  | { readonly kind: "public"; readonly alg: PublicKeyAlgorithm; readonly publicKey: string | Record<string, unknown> };

/** An imported key, or why the material is refused: the rule, never the key. */
export type ImportedKey = { readonly key: CryptoKey } | { readonly error: string };

/** JWK members that only a private (or a symmetric) key has (RFC 7518 section 6). */
const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/** Why a JWK cannot be the app's public key, or `null`. */
function jwkProblem(jwk: Record<string, unknown>, alg: PublicKeyAlgorithm): string | null {
  if (PRIVATE_JWK_MEMBERS.some((name) => Object.hasOwn(jwk, name))) {
    return "must be a public key: a private or symmetric JWK is refused (treat that key as exposed)";
  }
  if (jwk.alg !== undefined && jwk.alg !== alg) return `JWK alg must be ${alg} when present`;
  if (jwk.use !== undefined && jwk.use !== "sig") return 'JWK use must be "sig" when present';
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes("verify"))) {
    return 'JWK key_ops must include "verify" when present';
  }
  return null;
}

/** Why a PEM text cannot be the app's public key, or `null`. */
function pemProblem(pem: string): string | null {
  if (/PRIVATE KEY-----/.test(pem)) return "must be a public key: a private key is refused (treat that key as exposed)";
  if (!/^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----$/.test(pem)) {
    return "must be an SPKI public key in PEM (-----BEGIN PUBLIC KEY-----) or a public JWK";
  }
  return null;
}

async function importPublicKey(
  publicKey: string | Record<string, unknown>,
  alg: PublicKeyAlgorithm,
  extractable: boolean,
): Promise<ImportedKey> {
  let key: CryptoKey | Uint8Array;
  if (typeof publicKey === "string") {
    const pem = publicKey.trim();
    const problem = pemProblem(pem);
    if (problem !== null) return { error: problem };
    try {
      key = await importSPKI(pem, alg, { extractable });
    } catch {
      return { error: `is not a valid ${alg} public key` };
    }
  } else {
    const problem = jwkProblem(publicKey, alg);
    if (problem !== null) return { error: problem };
    try {
      key = await importJWK(publicKey as JWK, alg, { extractable });
    } catch {
      return { error: `is not a valid ${alg} public JWK` };
    }
  }
  if (key instanceof Uint8Array || key.type !== "public") return { error: "must be a public key" };
  const expected = EXPECTED_KEY[alg];
  const algorithm = key.algorithm as { name: string; namedCurve?: string; modulusLength?: number };
  if (algorithm.name !== expected.name || algorithm.namedCurve !== expected.namedCurve) {
    return { error: `is not a valid ${alg} public key` };
  }
  if (algorithm.modulusLength !== undefined && algorithm.modulusLength < MIN_RSA_BITS) {
    return { error: `RSA key must be at least ${MIN_RSA_BITS} bits` };
  }
  return { key };
}

/**
 * Imports a key for `verify` only. `extractable` only for the admin API, which fingerprints
 * public keys by their SPKI bytes. A key that breaks a rule answers `{error}` naming the rule.
 */
export async function importVerificationKey(material: KeyMaterial, extractable = false): Promise<ImportedKey> {
  if (material.kind === "hmac") {
    const hash = `SHA-${material.alg.slice(2)}`;
    return {
      key: await crypto.subtle.importKey("raw", material.bytes, { name: "HMAC", hash }, extractable, ["verify"]),
    };
  }
  return importPublicKey(material.publicKey, material.alg, extractable);
}

/** `sha256:` and the first 16 hex digits of SHA-256 over `bytes` (CONTRACT section 5). */
export async function fingerprint(bytes: BufferSource): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let hex = "";
  for (const byte of digest.subarray(0, 8)) hex += byte.toString(16).padStart(2, "0");
  return `sha256:${hex}`;
}

/**
 * A key's fingerprint: over the HMAC key bytes, or over the public key's SPKI DER (so a PEM and
 * a JWK of one key agree). `cryptoKey` must be extractable for a public key.
 */
export async function keyFingerprint(material: KeyMaterial, cryptoKey: CryptoKey): Promise<string> {
  if (material.kind === "hmac") return fingerprint(material.bytes);
  return fingerprint((await crypto.subtle.exportKey("spki", cryptoKey)) as ArrayBuffer);
}

/** A key ready to verify with, imported once per record version. */
export interface VerificationKey {
  readonly kid: string | null;
  readonly alg: JwsAlgorithm;
  readonly cryptoKey: CryptoKey;
  /** Unix seconds; the key verifies from `notBefore` (inclusive) until `notAfter` (exclusive). */
  readonly notBefore: number | null;
  readonly notAfter: number | null;
  /**
   * Chosen only by a token's `kid` (a provider's JWKS key): a token without `kid` is not tried
   * against it, so a set of twenty keys never costs twenty verifications.
   */
  readonly kidOnly?: boolean;
}

/** An app's keys, with what key selection needs precomputed. */
export interface Keyring {
  readonly keys: readonly VerificationKey[];
  /** The algorithms of the app's keys: a token naming another is `HEADER_TYPE_INCOMPATIBLE`. */
  readonly algorithms: ReadonlySet<string>;
  /** Whether any key has a `kid`. Without one, a token's `kid` selects nothing (v1). */
  readonly usesKid: boolean;
  /** Whether some key is chosen by `kid` only (`VerificationKey.kidOnly`). */
  readonly hasKidOnly: boolean;
}

export function keyring(keys: readonly VerificationKey[]): Keyring {
  return {
    keys,
    algorithms: new Set(keys.map((key) => key.alg)),
    usesKid: keys.some((key) => key.kid !== null),
    hasKidOnly: keys.some((key) => key.kidOnly === true),
  };
}

/** Whether `key` is inside its validity window at `now` (Unix seconds). */
export function isWithinWindow(key: VerificationKey, now: number): boolean {
  return (key.notBefore === null || now >= key.notBefore) && (key.notAfter === null || now < key.notAfter);
}

/**
 * Signature lengths fixed by the algorithm (RFC 7518 section 3.4, RFC 8037 section 3.1). workerd
 * throws `OperationError` for an Ed25519 signature of another length where the other algorithms
 * answer `false`; a wrong length is an invalid signature, so it is answered here, and anything
 * Web Crypto still throws is a fault (500), not a verdict.
 */
const SIGNATURE_BYTES: Partial<Record<JwsAlgorithm, number>> = { ES256: 64, ES384: 96, EdDSA: 64 };

/** True when `signature` is valid for `signingInput` under `key` (constant time for HMAC). */
export function verifySignature(
  key: VerificationKey,
  signingInput: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> | boolean {
  const length = SIGNATURE_BYTES[key.alg];
  if (length !== undefined && signature.byteLength !== length) return false;
  return crypto.subtle.verify(VERIFY_PARAMS[key.alg], key.cryptoKey, signature, signingInput);
}
