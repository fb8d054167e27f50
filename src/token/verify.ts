/**
 * The token pipeline of CONTRACT section 3, steps 5–9, in its fixed order: shape, header,
 * signature, then time, then claims. No claim is read before the signature verifies, so a
 * forged token can only ever learn `38 INVALID_SIGNATURE`.
 */

import type { TokenPolicy } from "../apps/record.ts";
import { invalidTokenError } from "../errors.ts";
import { checkAppClaims, checkIssuerAndAudience, checkPolicyClaims, checkTimeClaims } from "./claims.ts";
import { verifyHs256 } from "./hs256.ts";
import { checkHs256Header, type ParsedJws, parseCompactJws } from "./jws.ts";

/**
 * Parses `token` and verifies its HS256 signature with `key`. Returns the parsed JWS, whose
 * payload may then be trusted as the signer's. Throws `38` with `MALFORMED`,
 * `HEADER_TYPE_INCOMPATIBLE` or `INVALID_SIGNATURE`.
 */
export async function verifyHs256Jws(token: string, key: CryptoKey): Promise<ParsedJws> {
  const jws = parseCompactJws(token);
  checkHs256Header(jws.header);
  if (!(await verifyHs256(key, jws.signingInput, jws.signature))) throw invalidTokenError("INVALID_SIGNATURE");
  return jws;
}

export interface AppTokenOptions {
  readonly key: CryptoKey;
  /** The appId the request's path names. */
  readonly appId: string;
  readonly clockToleranceSeconds: number;
  /** Now, in Unix seconds. */
  readonly now: number;
  /** The app's token policy (issue 6); `V1_POLICY` adds nothing to v1. */
  readonly policy: TokenPolicy;
}

export interface VerifiedToken {
  readonly claims: Record<string, unknown>;
  readonly payloadSegment: string;
  /** The first present of `userId`, `appUserId`, `customerId`. */
  readonly userId: string;
}

/**
 * Verifies an SDK token for one app: signature, time claims, the policy's required claims and
 * limits, the app and user claims, then issuer and audience.
 */
export async function verifyAppToken(token: string, options: AppTokenOptions): Promise<VerifiedToken> {
  const { payload, payloadSegment } = await verifyHs256Jws(token, options.key);
  checkTimeClaims(payload, options);
  checkPolicyClaims(payload, options.policy);
  const userId = checkAppClaims(payload, options.appId, options.policy);
  checkIssuerAndAudience(payload, options.policy);
  return { claims: payload, payloadSegment, userId };
}
