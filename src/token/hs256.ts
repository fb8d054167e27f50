/** HMAC-SHA256 through Web Crypto, whose `verify` compares in constant time. */

const HMAC_SHA256 = { name: "HMAC", hash: "SHA-256" } as const;

/** Imports raw key bytes as a non-extractable HS256 verification key. */
export function importHs256Key(keyBytes: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", keyBytes, HMAC_SHA256, false, ["verify"]);
}

/** True when `signature` is the HMAC-SHA256 of `signingInput` under `key`. */
export function verifyHs256(key: CryptoKey, signingInput: Uint8Array, signature: Uint8Array): Promise<boolean> {
  return crypto.subtle.verify("HMAC", key, signature, signingInput);
}
