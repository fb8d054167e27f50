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
 * after the last whole byte (the "trailing-bit variant" of a valid text).
 */
export function decodeBase64url(text: string): Uint8Array | null {
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
