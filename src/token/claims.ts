/**
 * Claim rules of CONTRACT section 3, steps 8 and 9, on a payload whose signature has already
 * been verified. The clock is a parameter so tests freeze time without mocks.
 */

import { refusal } from "../errors.ts";
import { ownMember } from "../lib/json.ts";
import type { TokenPolicy } from "./policy.ts";

export interface TimeOptions {
  /** Now, in Unix seconds (fractions allowed). */
  readonly now: number;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. */
  readonly clockToleranceSeconds: number;
  /** Read a time claim of at least `MILLISECONDS_THRESHOLD` as milliseconds (the app's policy). */
  readonly acceptMillisecondTimestamps?: boolean;
}

/**
 * A time claim this large is milliseconds, not seconds: 10^11 seconds is the year 5138, while
 * 10^11 milliseconds is 1973. Samples that set `iat` with `System.currentTimeMillis()` send them.
 */
export const MILLISECONDS_THRESHOLD = 1e11;

function numericDate(payload: Record<string, unknown>, name: string, acceptMilliseconds: boolean): number | undefined {
  if (!Object.hasOwn(payload, name)) return undefined;
  const value = payload[name];
  // JSON has no Infinity, but `1e999` parses to it; a non-finite date is no date.
  if (typeof value !== "number" || !Number.isFinite(value)) throw refusal("time_claim_not_number");
  if (Math.abs(value) < MILLISECONDS_THRESHOLD) return value;
  if (!acceptMilliseconds) throw refusal("timestamp_in_milliseconds");
  return value / 1000;
}

/** `exp`, `nbf` and `iat` in seconds, each when present (`38 MALFORMED` when one is not a number). */
export function timeClaims(
  payload: Record<string, unknown>,
  acceptMilliseconds = false,
): { exp: number | undefined; nbf: number | undefined; iat: number | undefined } {
  return {
    exp: numericDate(payload, "exp", acceptMilliseconds),
    nbf: numericDate(payload, "nbf", acceptMilliseconds),
    iat: numericDate(payload, "iat", acceptMilliseconds),
  };
}

/**
 * `exp`, `nbf` and `iat` (RFC 7519 section 4.1.4–6). All three are optional; when present each
 * must be a finite number (`38 MALFORMED`) of seconds (fractions allowed; milliseconds only when
 * the app accepts them, else `38 TIME_CONSTRAINT_FAILURE`, `timestamp_in_milliseconds`). Expired
 * is `40 TOKEN_EXPIRED` with `serverTime`; not yet valid, or issued in the future, is
 * `38 TIME_CONSTRAINT_FAILURE`.
 */
export function checkTimeClaims(payload: Record<string, unknown>, options: TimeOptions): void {
  const { now, clockToleranceSeconds } = options;
  const { exp, nbf, iat } = timeClaims(payload, options.acceptMillisecondTimestamps);
  if (exp !== undefined && now >= exp + clockToleranceSeconds) {
    throw refusal("exp_passed", { extra: { serverTime: Math.floor(now) } });
  }
  if (nbf !== undefined && nbf > now + clockToleranceSeconds) throw refusal("nbf_future");
  if (iat !== undefined && iat > now + clockToleranceSeconds) throw refusal("iat_future");
}

/**
 * The app's token policy, after `checkTimeClaims`: claims the policy requires must be
 * present (`38 PAYLOAD_CONTENT_MISSING`: `exp` under `requireExp`, `exp` and `iat` under
 * `maxTokenLifetimeSeconds`, `iss` and `aud` when the app names them); a lifetime over the
 * maximum, or `iat` before `tokensNotBefore` (or no `iat` then) is `38 TIME_CONSTRAINT_FAILURE`.
 * Whether `iss` and `aud` match is `checkIssuerAndAudience`, after the app and user claims.
 */
export function checkPolicyClaims(payload: Record<string, unknown>, policy: TokenPolicy): void {
  const { exp, iat } = timeClaims(payload, policy.acceptMillisecondTimestamps);
  const maxLifetime = policy.maxTokenLifetimeSeconds;
  if ((policy.requireExp || maxLifetime !== null) && exp === undefined) throw refusal("exp_missing");
  if (maxLifetime !== null && iat === undefined) throw refusal("iat_missing");
  if (policy.issuers !== null && typeof ownMember(payload, "iss") !== "string") throw refusal("iss_missing");
  if (policy.audiences !== null && !isAudience(ownMember(payload, "aud"))) throw refusal("aud_missing");
  if (maxLifetime !== null && (exp as number) - (iat as number) > maxLifetime) throw refusal("lifetime_too_long");
  if (policy.tokensNotBefore !== null && (iat === undefined || iat < policy.tokensNotBefore)) {
    throw refusal("issued_before_revocation");
  }
}

/** `aud` as RFC 7519 section 4.1.3 allows it: one string, or a non-empty list of strings. */
function isAudience(value: unknown): value is string | string[] {
  if (typeof value === "string") return true;
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === "string");
}

/** `iss` must be one of the app's issuers and `aud` hold one of its audiences: else `38 IDENTIFIER_MISMATCH`. */
export function checkIssuerAndAudience(payload: Record<string, unknown>, policy: TokenPolicy): void {
  if (policy.issuers !== null && !policy.issuers.includes(payload.iss as string)) throw refusal("iss_mismatch");
  if (policy.audiences !== null) {
    const aud = payload.aud as string | string[];
    const audiences = typeof aud === "string" ? [aud] : aud;
    if (!audiences.some((value) => policy.audiences?.includes(value))) throw refusal("aud_mismatch");
  }
}

/**
 * A revoked user (by any of the app's user claims) whose token was issued before the revocation,
 * or carries no `iat`, is `38 TIME_CONSTRAINT_FAILURE` (`user_revoked`).
 */
export function checkRevocations(
  payload: Record<string, unknown>,
  policy: Pick<TokenPolicy, "userClaims" | "acceptMillisecondTimestamps">,
  revocations: ReadonlyMap<string, number>,
): void {
  for (const claim of policy.userClaims) {
    const user = ownMember(payload, claim);
    const before = typeof user === "string" ? revocations.get(user) : undefined;
    if (before === undefined) continue;
    const { iat } = timeClaims(payload, policy.acceptMillisecondTimestamps);
    if (iat === undefined || iat < before) throw refusal("user_revoked");
  }
}

function isIdentifier(value: unknown): value is string {
  // A lone surrogate cannot be forwarded as UTF-8 without changing it, so it is no identifier.
  return typeof value === "string" && value !== "" && value.isWellFormed();
}

/**
 * The app claim (`appId`, or the policy's `appIdClaim`; none when it is `null`) must be a string
 * equal, code unit for code unit, to the path's appId; each present user claim (`userId`,
 * `appUserId`, `customerId`, or the policy's `userClaims`) must be a non-empty string, and at
 * least one must be present. Missing or wrong type is `38 PAYLOAD_CONTENT_MISSING`, checked
 * before a different appId (`38 IDENTIFIER_MISMATCH`). Returns the first present user claim, the
 * identity forwarded to the origin.
 */
export function checkAppClaims(
  payload: Record<string, unknown>,
  appId: string,
  policy: Pick<TokenPolicy, "appIdClaim" | "userClaims">,
): string {
  const tokenAppId = policy.appIdClaim === null ? appId : ownMember(payload, policy.appIdClaim);
  if (typeof tokenAppId !== "string") throw refusal("app_id_claim_missing");
  let userId: string | undefined;
  for (const claim of policy.userClaims) {
    if (!Object.hasOwn(payload, claim)) continue;
    const value = payload[claim];
    if (!isIdentifier(value)) throw refusal("user_claim_invalid");
    userId ??= value;
  }
  if (userId === undefined) throw refusal("user_claim_missing");
  if (tokenAppId !== appId) throw refusal("app_id_mismatch");
  return userId;
}
