/**
 * Strict base64url (RFC 4648 section 5) as JWS compact serialisation needs it: no padding, no
 * other alphabet, no whitespace, and canonical trailing bits, so that each byte string has
 * exactly one accepted text (RFC 7515 section 2; RFC 8725 section 3.1 asks for one parse).
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const DECODE_TABLE = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/**
 * The bytes of a canonical, unpadded base64url text, or `null` when the text is anything else:
 * a character outside the alphabet (padding included), an impossible length, or non-zero bits
 * after the last whole byte (the "trailing-bit variant" of a valid text). Native
 * `Uint8Array.fromBase64` where the runtime has it (workerd), this module's decoder elsewhere
 * (Node 24, for the scripts); the tests hold the two to the same answers.
 */
export function decodeBase64url(text: string): Uint8Array | null {
  return nativeFromBase64 === undefined ? decodeBase64urlPortable(text) : decodeBase64urlNative(text, nativeFromBase64);
}

type FromBase64 = (text: string, options: { alphabet: "base64url"; lastChunkHandling: "strict" }) => Uint8Array;

/** `Uint8Array.fromBase64` (ES2026), when the runtime has it. */
const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64;

const BASE64URL_TEXT = /^[A-Za-z0-9_-]*$/;
/** One options object for every call: the hot path allocates nothing it can share. */
const STRICT_BASE64URL = { alphabet: "base64url", lastChunkHandling: "strict" } as const;
/** The padding that makes a text of each length modulo 4 whole (1 is no valid length). */
const PADDING = ["", "", "==", "="] as const;

/**
 * The native decoder, made strict: it skips ASCII whitespace and takes `=`, so the alphabet is
 * checked first; `lastChunkHandling: "strict"` then refuses non-zero trailing bits, given the
 * padding it requires.
 */
export function decodeBase64urlNative(
  text: string,
  fromBase64: FromBase64 | undefined = nativeFromBase64,
): Uint8Array | null {
  if (fromBase64 === undefined) throw new Error("this runtime has no Uint8Array.fromBase64");
  if (text.length % 4 === 1 || !BASE64URL_TEXT.test(text)) return null;
  try {
    return fromBase64(text + PADDING[text.length % 4], STRICT_BASE64URL);
  } catch {
    return null;
  }
}

/** The same rules in plain JavaScript, for runtimes without `Uint8Array.fromBase64`. */
export function decodeBase64urlPortable(text: string): Uint8Array | null {
  const length = text.length;
  if (length % 4 === 1) return null;
  const out = new Uint8Array((length * 3) >> 2);
  let accumulator = 0;
  let bits = 0;
  let written = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? DECODE_TABLE[code] : -1;
    if (value === undefined || value < 0) return null;
    accumulator = (accumulator << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[written++] = (accumulator >> bits) & 0xff;
    }
    accumulator &= (1 << bits) - 1;
  }
  if (accumulator !== 0) return null;
  return out;
}

/** Canonical, unpadded base64url text of `bytes`. */
export function encodeBase64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
