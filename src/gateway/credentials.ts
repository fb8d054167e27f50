/**
 * The bearer token of CONTRACT section 3, step 4: only from `Authorization: Bearer <token>`
 * (RFC 6750 section 2.1). Tokens in the query, a cookie or the body are never looked at, so an
 * SDK cannot leak them into URLs and logs and still be let in.
 */

import { refusal } from "../errors.ts";
import { MAX_TOKEN_CHARS } from "../token/jws.ts";

/**
 * The token from an `Authorization` value. No value, an empty one, a bare `Bearer` or another
 * scheme is `39 TOKEN_NOT_AVAILABLE`. Two credentials (two headers arrive joined with `,`),
 * anything after the token, or a token over 8192 characters is `38 MALFORMED`.
 */
export function bearerToken(authorization: string | null): string {
  const value = authorization?.trim() ?? "";
  if (value === "") throw refusal("authorization_missing");
  if (value.includes(",")) throw refusal("credential_list");
  const match = /^(\S+)(?:[ \t]+(.*))?$/s.exec(value);
  const scheme = match?.[1];
  const rest = match?.[2];
  if (scheme === undefined || scheme.toLowerCase() !== "bearer" || rest === undefined) {
    throw refusal("scheme_not_bearer");
  }
  if (/\s/.test(rest)) throw refusal("text_after_token");
  if (rest.length > MAX_TOKEN_CHARS) throw refusal("token_too_long");
  return rest;
}
