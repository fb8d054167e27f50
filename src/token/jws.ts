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
 * The header rules: `alg` exactly one of the algorithms of the app's keys (RFC 8725 section
 * 3.1: the app fixes the algorithm, not the token; v1: `HS256`), `typ` absent or `JWT`, and no
 * `crit` or `b64` (RFC 7515 section 4.1.11, RFC 7797: extensions this verifier does not
 * implement). Key-carrying parameters (`jwk`, `jku`, `x5u`, `x5c`) are ignored: keys come from
 * the app record only; `kid` only chooses among them. Returns `alg`; throws
 * `38 HEADER_TYPE_INCOMPATIBLE`.
 */
export function checkHeader(header: Record<string, unknown>, algorithms: ReadonlySet<string>): string {
  const alg = ownMember(header, "alg");
  const typ = ownMember(header, "typ");
  if (
    typeof alg !== "string" ||
    !algorithms.has(alg) ||
    (typ !== undefined && (typeof typ !== "string" || typ.toLowerCase() !== "jwt")) ||
    Object.hasOwn(header, "crit") ||
    Object.hasOwn(header, "b64")
  ) {
    throw invalidTokenError("HEADER_TYPE_INCOMPATIBLE");
  }
  return alg;
}
