/**
 * The app secret and the HMAC key derived from it (CONTRACT section 2). One set of rules serves
 * the admin API, which refuses a bad secret with `400`, and the store, which treats a stored
 * record that breaks them as a configuration fault. The derivation itself lives in
 * `lib/secret-key.ts`, where the issuer (`edge-authenticator/issuer`) shares it.
 */

export { type DerivedKey, deriveKeyBytes, type SecretEncoding, UTF8_HINT } from "../lib/secret-key.ts";

/**
 * True when a secret read as base64 is only hex digits: it decodes (hex digits are base64
 * letters), but to other bytes than the backend that signs with the hex text, or with the bytes
 * it spells, uses. Worth a warning, not a refusal: a base64 secret can be all hex by chance.
 */
export function looksLikeHex(secret: string): boolean {
  return /^[0-9a-fA-F]+$/.test(secret);
}
