/**
 * Claim rules of CONTRACT section 3, steps 8 and 9, on a payload whose signature has already
 * been verified. The clock is a parameter so tests freeze time without mocks.
 */

import { GatewayError, invalidTokenError } from "../errors.ts";
import { ownMember } from "./json.ts";

export interface TimeOptions {
  /** Now, in Unix seconds (fractions allowed). */
  readonly now: number;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. */
  readonly clockToleranceSeconds: number;
}

function numericDate(payload: Record<string, unknown>, name: string): number | undefined {
  if (!Object.hasOwn(payload, name)) return undefined;
  const value = payload[name];
  // JSON has no Infinity, but `1e999` parses to it; a non-finite date is no date.
  if (typeof value !== "number" || !Number.isFinite(value)) throw invalidTokenError("MALFORMED");
  return value;
}

/**
 * `exp`, `nbf` and `iat` (RFC 7519 section 4.1.4–6). All three are optional; when present each
 * must be a finite number (`38 MALFORMED`). Expired is `40 TOKEN_EXPIRED` with `serverTime`;
 * not yet valid, or issued in the future, is `38 TIME_CONSTRAINT_FAILURE`.
 */
export function checkTimeClaims(payload: Record<string, unknown>, { now, clockToleranceSeconds }: TimeOptions): void {
  const exp = numericDate(payload, "exp");
  const nbf = numericDate(payload, "nbf");
  const iat = numericDate(payload, "iat");
  if (exp !== undefined && now >= exp + clockToleranceSeconds) {
    throw new GatewayError("TOKEN_EXPIRED", { extra: { serverTime: Math.floor(now) } });
  }
  if (
    (nbf !== undefined && nbf > now + clockToleranceSeconds) ||
    (iat !== undefined && iat > now + clockToleranceSeconds)
  ) {
    throw invalidTokenError("TIME_CONSTRAINT_FAILURE");
  }
}

/** The claims that name the user, in the order `X-Auth-User-Id` prefers them. */
export const USER_CLAIMS = ["userId", "appUserId", "customerId"] as const;
export type UserClaim = (typeof USER_CLAIMS)[number];

function isIdentifier(value: unknown): value is string {
  // A lone surrogate cannot be forwarded as UTF-8 without changing it, so it is no identifier.
  return typeof value === "string" && value !== "" && value.isWellFormed();
}

/**
 * `appId` must be a string equal, code unit for code unit, to the path's appId; each present
 * user claim must be a non-empty string, and at least one must be present. Missing or wrong type
 * is `38 PAYLOAD_CONTENT_MISSING`, checked before a different appId (`38 IDENTIFIER_MISMATCH`).
 * Returns the first present user claim, the identity forwarded to the origin.
 */
export function checkAppClaims(payload: Record<string, unknown>, appId: string): string {
  const tokenAppId = ownMember(payload, "appId");
  if (typeof tokenAppId !== "string") throw invalidTokenError("PAYLOAD_CONTENT_MISSING");
  let userId: string | undefined;
  for (const claim of USER_CLAIMS) {
    if (!Object.hasOwn(payload, claim)) continue;
    const value = payload[claim];
    if (!isIdentifier(value)) throw invalidTokenError("PAYLOAD_CONTENT_MISSING");
    userId ??= value;
  }
  if (userId === undefined) throw invalidTokenError("PAYLOAD_CONTENT_MISSING");
  if (tokenAppId !== appId) throw invalidTokenError("IDENTIFIER_MISMATCH");
  return userId;
}
