/**
 * The app secret and the HMAC key derived from it (CONTRACT section 2), in one pure module: the
 * gateway (apps/) reads a stored secret with it, and the issuer (issuer/) signs with the very
 * same bytes, so a backend can never disagree with the gateway about what a secret means.
 */

import { decodeBase64url } from "./base64url.ts";

export type SecretEncoding = "base64" | "utf8";

/** The HMAC key bytes of a secret, or why the secret is refused: the rule, never the secret. */
export type DerivedKey = { readonly bytes: Uint8Array } | { readonly error: string };

/** CONTRACT section 2: the key is at least 32 bytes (256 bits), HS256's hash size. */
export const MIN_SECRET_KEY_BYTES = 32;

/** What a secret that fails as base64 most often is: a passphrase or hex text, signed as typed. */
export const UTF8_HINT = 'if this is a passphrase or hex string, set secretEncoding: "utf8"';

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

function looksLikePemOrJson(secret: string): boolean {
  const trimmed = secret.trim();
  return trimmed.startsWith("-----BEGIN") || trimmed.startsWith("{") || trimmed.startsWith("[");
}

/**
 * The HMAC key bytes for `secret`: base64 decodes it (either alphabet, padding optional but
 * correct, canonical trailing bits); utf8 takes its UTF-8 bytes as typed. Refused (`{error}`)
 * when the secret breaks a rule, or the key is shorter than `minBytes` (the contract's 32 by
 * default; pass the hash size for HS384 and HS512) or one byte repeated.
 */
export function deriveKeyBytes(
  secret: string,
  encoding: SecretEncoding,
  minBytes: number = MIN_SECRET_KEY_BYTES,
): DerivedKey {
  if (looksLikePemOrJson(secret)) return { error: "secret must be a shared secret, not a PEM block or JSON" };
  const derived = encoding === "base64" ? decodeStrictBase64(secret) : decodeUtf8(secret);
  if ("error" in derived) return derived;
  const { bytes } = derived;
  if (bytes.length < minBytes) return { error: `key must be at least ${minBytes} bytes` };
  if (bytes.every((byte) => byte === bytes[0])) return { error: "key must not be one byte repeated" };
  return derived;
}
