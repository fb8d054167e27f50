/**
 * JWS compact serialisation (RFC 7515 section 7.1), parsed strictly: exactly three canonical
 * base64url segments whose header and payload are strict JSON objects. Parsing reads no key and
 * trusts nothing; the signature is checked by the caller before any claim is used.
 */

import { refusal } from "../errors.ts";
import { decodeBase64url } from "../lib/base64url.ts";
import { ownMember, parseStrictJsonObject } from "../lib/json.ts";

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

/** A strict JSON object segment, or `38 MALFORMED` naming what is wrong with it. */
function jsonObject(bytes: Uint8Array): Record<string, unknown> {
  const parsed = parseStrictJsonObject(bytes);
  if (typeof parsed === "string") throw refusal(parsed);
  return parsed;
}

/** Parses a compact JWS. Throws `38 MALFORMED` for any deviation from the strict shape. */
export function parseCompactJws(token: string): ParsedJws {
  if (token.length > MAX_TOKEN_CHARS) throw refusal("token_too_long");
  const firstDot = token.indexOf(".");
  const secondDot = token.indexOf(".", firstDot + 1);
  if (firstDot < 0 || secondDot < 0 || token.indexOf(".", secondDot + 1) >= 0) throw refusal("segment_count");
  const headerBytes = decodeBase64url(token.slice(0, firstDot));
  const payloadSegment = token.slice(firstDot + 1, secondDot);
  const payloadBytes = decodeBase64url(payloadSegment);
  const signature = decodeBase64url(token.slice(secondDot + 1));
  if (!headerBytes || !payloadBytes || !signature) throw refusal("bad_base64url");
  const header = jsonObject(headerBytes);
  const payload = jsonObject(payloadBytes);
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
  if (typeof alg !== "string" || !algorithms.has(alg)) throw refusal("alg_not_in_keys");
  if (typ !== undefined && (typeof typ !== "string" || typ.toLowerCase() !== "jwt")) throw refusal("typ_not_jwt");
  if (Object.hasOwn(header, "crit")) throw refusal("crit_unsupported");
  if (Object.hasOwn(header, "b64")) throw refusal("b64_unsupported");
  return alg;
}
