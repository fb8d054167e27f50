/**
 * The app secret and the HMAC key derived from it (CONTRACT section 2). One set of rules serves
 * the admin API, which refuses a bad secret with `400`, and the store, which treats a stored
 * record that breaks them as a configuration fault.
 */

import { decodeBase64url } from "../token/base64url.ts";

export type SecretEncoding = "base64" | "utf8";

/** 256 bits: RFC 7518 section 3.2 requires an HS256 key at least as long as the hash. */
export const MIN_KEY_BYTES = 32;

/** Why a secret is refused; the message names the rule, never the secret. */
export class SecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretError";
  }
}

const BASE64_STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64_URLSAFE = /^[A-Za-z0-9_-]*={0,2}$/;

function base64Error(rule: string): SecretError {
  return new SecretError(`${rule} (${UTF8_HINT})`);
}

function decodeStrictBase64(secret: string): Uint8Array {
  if (/\s/.test(secret)) throw base64Error("base64 secret must not contain whitespace or line breaks");
  const standard = BASE64_STANDARD.test(secret);
  if (!standard && !BASE64_URLSAFE.test(secret)) {
    throw base64Error("base64 secret must use one alphabet, standard or URL-safe, and padding only at the end");
  }
  const unpadded = secret.replace(/=+$/, "");
  const padding = secret.length - unpadded.length;
  if (padding > 0 && (secret.length % 4 !== 0 || (unpadded.length % 4) + padding !== 4)) {
    throw base64Error("base64 secret has incorrect padding");
  }
  const bytes = decodeBase64url(standard ? unpadded.replaceAll("+", "-").replaceAll("/", "_") : unpadded);
  if (!bytes) throw base64Error("base64 secret is not canonical base64 (length or trailing bits)");
  return bytes;
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
 * correct, canonical trailing bits); utf8 takes its UTF-8 bytes as typed. Throws `SecretError`
 * when the secret breaks a rule, or the key is shorter than `minBytes` (32, HS256's hash size)
 * or one byte repeated.
 */
export function deriveKeyBytes(secret: string, encoding: SecretEncoding, minBytes = MIN_KEY_BYTES): Uint8Array {
  if (looksLikePemOrJson(secret)) throw new SecretError("secret must be a shared secret, not a PEM block or JSON");
  let bytes: Uint8Array;
  if (encoding === "base64") {
    bytes = decodeStrictBase64(secret);
  } else {
    if (secret !== secret.trim()) throw new SecretError("utf8 secret must not have leading or trailing whitespace");
    if (/\p{Cc}/u.test(secret)) throw new SecretError("utf8 secret must not contain control characters");
    if (!secret.isWellFormed()) throw new SecretError("utf8 secret must be well-formed Unicode");
    bytes = new TextEncoder().encode(secret);
  }
  if (bytes.length < minBytes) throw new SecretError(`key must be at least ${minBytes} bytes`);
  if (bytes.every((byte) => byte === bytes[0])) throw new SecretError("key must not be one byte repeated");
  return bytes;
}
