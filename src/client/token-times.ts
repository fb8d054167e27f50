/**
 * `exp` and `iat` of a JWT, read without verifying it: the client only schedules refreshes with
 * them and trusts nothing in a token (the gateway does the checking). A plain decoder rather
 * than `atob`, which older React Native runtimes lack.
 */

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

export interface TokenTimes {
  readonly exp?: number;
  readonly iat?: number;
}

/** The bytes of a base64url text as a binary string, or `null`. */
function decodeSegment(text: string): string | null {
  let out = "";
  let accumulator = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const value = BASE64URL.indexOf(text.charAt(i));
    if (value < 0) return null;
    accumulator = (accumulator << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((accumulator >> bits) & 0xff);
      accumulator &= (1 << bits) - 1;
    }
  }
  return out;
}

/**
 * Values at or above this are milliseconds, as some backends issue them (the gateway accepts them
 * when an app's policy says `acceptMillisecondTimestamps`); seconds reach it only in year 5138.
 */
const MILLISECONDS_THRESHOLD = 1e11;

function seconds(value: unknown): number | undefined {
  if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
  return value >= MILLISECONDS_THRESHOLD ? value / 1000 : value;
}

/** The token's `exp` and `iat` (Unix seconds), each when it is a number; `{}` for an opaque token. */
export function tokenTimes(token: string): TokenTimes {
  const payload = decodeSegment(token.split(".")[1] ?? "");
  if (!payload) return {};
  try {
    const claims = JSON.parse(payload) as { exp?: unknown; iat?: unknown } | null;
    return { exp: seconds(claims?.exp), iat: seconds(claims?.iat) };
  } catch {
    return {};
  }
}
