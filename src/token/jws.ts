/**
 * JWS compact serialisation (RFC 7515 section 7.1), parsed strictly: exactly three canonical
 * base64url segments whose header and payload are strict JSON objects. Parsing reads no key and
 * trusts nothing; the signature is checked by the caller before any claim is used.
 */

import { invalidTokenError } from "../errors.ts";
import { decodeBase64url } from "./base64url.ts";
import { ownMember, parseStrictJsonObject } from "./json.ts";

/** Longer tokens are refused before any decoding, so a hostile header costs nothing to reject. */
export const MAX_TOKEN_CHARS = 8192;

export interface ParsedJws {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  /** The payload segment exactly as received (forwarded as `X-Auth-Claims`). */
  readonly payloadSegment: string;
  /** ASCII bytes of `header.payload`, the text the MAC covers (never a re-serialisation). */
  readonly signingInput: Uint8Array;
  readonly signature: Uint8Array;
}

const ASCII = new TextEncoder();

/** Parses a compact JWS. Throws `38 MALFORMED` for any deviation from the strict shape. */
export function parseCompactJws(token: string): ParsedJws {
  if (token.length > MAX_TOKEN_CHARS) throw invalidTokenError("MALFORMED");
  const firstDot = token.indexOf(".");
  const secondDot = token.indexOf(".", firstDot + 1);
  if (firstDot < 0 || secondDot < 0 || token.indexOf(".", secondDot + 1) >= 0) {
    throw invalidTokenError("MALFORMED");
  }
  const headerBytes = decodeBase64url(token.slice(0, firstDot));
  const payloadSegment = token.slice(firstDot + 1, secondDot);
  const payloadBytes = decodeBase64url(payloadSegment);
  const signature = decodeBase64url(token.slice(secondDot + 1));
  if (!headerBytes || !payloadBytes || !signature) throw invalidTokenError("MALFORMED");
  const header = parseStrictJsonObject(headerBytes);
  const payload = parseStrictJsonObject(payloadBytes);
  if (!header || !payload) throw invalidTokenError("MALFORMED");
  return { header, payload, payloadSegment, signingInput: ASCII.encode(token.slice(0, secondDot)), signature };
}

/**
 * The only header this gateway accepts: `alg` exactly `HS256` (RFC 8725 section 3.1: the
 * algorithm is fixed by the app, not chosen by the token), `typ` absent or `JWT`, and no `crit`
 * or `b64` (RFC 7515 section 4.1.11, RFC 7797: extensions this verifier does not implement).
 * Key-selecting parameters (`kid`, `jwk`, `jku`, `x5u`, `x5c`) are ignored: the key comes from
 * the app record only. Throws `38 HEADER_TYPE_INCOMPATIBLE`.
 */
export function checkHs256Header(header: Record<string, unknown>): void {
  const typ = ownMember(header, "typ");
  if (
    ownMember(header, "alg") !== "HS256" ||
    (typ !== undefined && (typeof typ !== "string" || typ.toLowerCase() !== "jwt")) ||
    Object.hasOwn(header, "crit") ||
    Object.hasOwn(header, "b64")
  ) {
    throw invalidTokenError("HEADER_TYPE_INCOMPATIBLE");
  }
}
