/**
 * The token pipeline of CONTRACT section 3, steps 5–9, in its fixed order: shape, header,
 * signature, then time, then claims. No claim is read before the signature verifies, so a
 * forged token can only ever learn `38 INVALID_SIGNATURE`.
 */

import { refusal } from "../errors.ts";
import { ownMember } from "../lib/json.ts";
import {
  checkAppClaims,
  checkIssuerAndAudience,
  checkPolicyClaims,
  checkRevocations,
  checkTimeClaims,
} from "./claims.ts";
import { checkHeader, type ParsedJws, parseCompactJws } from "./jws.ts";
import { isWithinWindow, type Keyring, type VerificationKey, verifySignature } from "./keys.ts";
import type { TokenPolicy } from "./policy.ts";

export interface VerifiedJws extends ParsedJws {
  /** The key whose signature verified: its window is checked again while the token is cached. */
  readonly key: VerificationKey;
}

/**
 * What verification learned of a token's header that is safe to log: its `alg` once it is one
 * of the app's algorithms, its `kid` once it names one of the app's keys. Never anything else of
 * the token (an unknown `kid` is attacker text).
 */
export interface TokenFacts {
  alg?: string;
  kid?: string;
  /** The key whose signature verified, once one did (a later check may still refuse the token). */
  key?: VerificationKey;
}

/**
 * Parses `token` and verifies its signature with one of the app's keys, chosen by the record,
 * never by the token: with a `kid` in the header (and keys that have kids), only the key with
 * that kid; otherwise each key of the header's `alg`, in order (at most 3). A key outside its
 * window at `now` (Unix seconds) is skipped. Returns the parsed JWS, whose payload may then be
 * trusted as the signer's. Throws `38` with `MALFORMED`, `HEADER_TYPE_INCOMPATIBLE` (an `alg`
 * none of the keys has) or `INVALID_SIGNATURE` (`kid_unknown`, `kid_alg_mismatch`,
 * `key_outside_window`, `signature_mismatch`). `facts` learns the header's `alg` and `kid` as
 * they are found to be the app's.
 */
export async function verifyJws(
  token: string,
  ring: Keyring,
  now: number,
  facts: TokenFacts = {},
): Promise<VerifiedJws> {
  const jws = parseCompactJws(token);
  const alg = checkHeader(jws.header, ring.algorithms);
  facts.alg = alg;
  const kid = ring.usesKid ? ownMember(jws.header, "kid") : undefined;
  let candidates = ring.keys;
  if (kid === undefined) {
    if (ring.hasKidOnly) candidates = ring.keys.filter((key) => key.kidOnly !== true);
  } else {
    candidates = ring.keys.filter((key) => key.kid === kid);
    if (candidates.length === 0) throw refusal("kid_unknown");
    facts.kid = kid as string;
  }
  let usable = 0;
  for (const key of candidates) {
    if (key.alg !== alg || !isWithinWindow(key, now)) continue;
    usable++;
    if (await verifySignature(key, jws.signingInput, jws.signature)) {
      facts.key = key;
      return { ...jws, key };
    }
  }
  if (usable > 0) throw refusal("signature_mismatch");
  throw refusal(candidates.some((key) => key.alg === alg) ? "key_outside_window" : "kid_alg_mismatch");
}

export interface AppTokenOptions {
  readonly keyring: Keyring;
  /** The appId the request's path names. */
  readonly appId: string;
  readonly clockToleranceSeconds: number;
  /** Now, in Unix seconds. */
  readonly now: number;
  /** The app's token policy; `V1_POLICY` adds nothing to v1. */
  readonly policy: TokenPolicy;
  /** Learns the token's `alg` and `kid` as they are found to be the app's (for the log line). */
  readonly facts?: TokenFacts;
  /** Revoked users and the Unix seconds before which their tokens are refused. */
  readonly revocations?: ReadonlyMap<string, number> | null;
}

export interface VerifiedToken {
  readonly claims: Record<string, unknown>;
  readonly payloadSegment: string;
  /** The key that verified the signature. */
  readonly key: VerificationKey;
  /** The first present of the app's `userClaims` (v1: `userId`, `appUserId`, `customerId`). */
  readonly userId: string;
}

/**
 * Verifies an SDK token for one app: signature, time claims, the policy's required claims and
 * limits, the app and user claims, then issuer and audience.
 */
export async function verifyAppToken(token: string, options: AppTokenOptions): Promise<VerifiedToken> {
  const { payload, payloadSegment, key } = await verifyJws(token, options.keyring, options.now, options.facts);
  checkTimeClaims(payload, { ...options, acceptMillisecondTimestamps: options.policy.acceptMillisecondTimestamps });
  checkPolicyClaims(payload, options.policy);
  const userId = checkAppClaims(payload, options.appId, options.policy);
  if (options.revocations) checkRevocations(payload, options.policy, options.revocations);
  checkIssuerAndAudience(payload, options.policy);
  return { claims: payload, payloadSegment, key, userId };
}
