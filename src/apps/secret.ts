/**
 * The app secret and the HMAC key derived from it (CONTRACT section 2). One set of rules serves
 * the admin API, which refuses a bad secret with `400`, and the store, which treats a stored
 * record that breaks them as a configuration fault.
 */

import { decodeBase64url } from "../lib/base64url.ts";
import { HMAC_MIN_KEY_BYTES } from "../token/algorithms.ts";

export type SecretEncoding = "base64" | "utf8";

/** The HMAC key bytes of a secret, or why the secret is refused: the rule, never the secret. */
export type DerivedKey = { readonly bytes: Uint8Array } | { readonly error: string };

const BASE64_STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64_URLSAFE = /^[A-Za-z0-9_-]*={0,2}$/;

function base64Error(rule: string): DerivedKey {
  return { error: `${rule} (${UTF8_HINT})` };
}

function decodeStrictBase64(secret: string): DerivedKey {
  if (/\s/.test(secret)) return base64Error("base64 secret must not contain whitespace or line breaks");
  const standard = BASE64_STANDARD.test(secret);
  if (!standard && !BASE64_URLSAFE.test(secret)) {
    return base64Error("base64 secret must use one alphabet, standard or URL-safe, and padding only at the end");
  }
  const unpadded = secret.replace(/=+$/, "");
  const padding = secret.length - unpadded.length;
  if (padding > 0 && (secret.length % 4 !== 0 || (unpadded.length % 4) + padding !== 4)) {
    return base64Error("base64 secret has incorrect padding");
  }
  const bytes = decodeBase64url(standard ? unpadded.replaceAll("+", "-").replaceAll("/", "_") : unpadded);
  if (!bytes) return base64Error("base64 secret is not canonical base64 (length or trailing bits)");
  return { bytes };
}

function decodeUtf8(secret: string): DerivedKey {
  if (secret !== secret.trim()) return { error: "utf8 secret must not have leading or trailing whitespace" };
  if (/\p{Cc}/u.test(secret)) return { error: "utf8 secret must not contain control characters" };
  if (!secret.isWellFormed()) return { error: "utf8 secret must be well-formed Unicode" };
  return { bytes: new TextEncoder().encode(secret) };
}

/** What a secret that fails as base64 most often is: a passphrase or hex text, signed as typed. */
export const UTF8_HINT = 'if this is a passphrase or hex string, set secretEncoding: "utf8"';

/**
 * True when a secret read as base64 is only hex digits: it decodes (hex digits are base64
 * letters), but to other bytes than the backend that signs with the hex text, or with the bytes
 * it spells, uses. Worth a warning, not a refusal: a base64 secret can be all hex by chance.
 */
export function looksLikeHex(secret: string): boolean {
  return /^[0-9a-fA-F]+$/.test(secret);
}

function looksLikePemOrJson(secret: string): boolean {
  const trimmed = secret.trim();
  return trimmed.startsWith("-----BEGIN") || trimmed.startsWith("{") || trimmed.startsWith("[");
}

/**
 * The HMAC key bytes for `secret`: base64 decodes it (either alphabet, padding optional but
 * correct, canonical trailing bits); utf8 takes its UTF-8 bytes as typed. Refused (`{error}`)
 * when the secret breaks a rule, or the key is shorter than `minBytes` (HS256's 32 by default,
 * the hash size) or one byte repeated.
 */
export function deriveKeyBytes(
  secret: string,
  encoding: SecretEncoding,
  minBytes = HMAC_MIN_KEY_BYTES.HS256,
): DerivedKey {
  if (looksLikePemOrJson(secret)) return { error: "secret must be a shared secret, not a PEM block or JSON" };
  const derived = encoding === "base64" ? decodeStrictBase64(secret) : decodeUtf8(secret);
  if ("error" in derived) return derived;
  const { bytes } = derived;
  if (bytes.length < minBytes) return { error: `key must be at least ${minBytes} bytes` };
  if (bytes.every((byte) => byte === bytes[0])) return { error: "key must not be one byte repeated" };
  return derived;
}
