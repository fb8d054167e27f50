/**
 * The token policy: what a token must satisfy beyond the signature and the v1 time rules. An
 * app record sets it (apps/); the verifier (token/) only reads it, so the type lives here.
 */

/** The claims that name the user by default, in the order `X-Auth-User-Id` prefers them. */
export const DEFAULT_USER_CLAIMS: readonly string[] = Object.freeze(["userId", "appUserId", "customerId"]);

/** The request fields bound by default, and their claims: CONTRACT section 3, step 10. */
export const DEFAULT_REQUEST_BINDINGS: Readonly<Record<string, string>> = Object.freeze({
  userId: "userId",
  appUserId: "appUserId",
  customerId: "customerId",
});

/**
 * What a token must also satisfy, beyond the v1 rules. Every field's default (`null`, `false`)
 * leaves v1 behaviour unchanged.
 */
export interface TokenPolicy {
  /** `iss` must be one of these. */
  readonly issuers: readonly string[] | null;
  /** `aud` (a string or a list) must hold one of these. */
  readonly audiences: readonly string[] | null;
  readonly requireExp: boolean;
  /** `exp − iat` at most this; both then required. */
  readonly maxTokenLifetimeSeconds: number | null;
  /** Unix seconds: a token issued before this (or without `iat`) is refused. */
  readonly tokensNotBefore: number | null;
  /** The claim that must equal the path's appId; `null`: none (`iss`/`aud` bind the token). */
  readonly appIdClaim: string | null;
  /** The claims that name the user, in the order `X-Auth-User-Id` prefers them. */
  readonly userClaims: readonly string[];
  /** Request field → the claim it must equal. */
  readonly requestBindings: Readonly<Record<string, string>>;
  /** Read `exp`, `nbf`, `iat` of 10^11 or more as milliseconds (samples that set them so). */
  readonly acceptMillisecondTimestamps: boolean;
  /** A token must carry a `nonce` this gateway issued for the app (the challenge). */
  readonly requireNonce: boolean;
}

/** The policy of a v1 record: CONTRACT section 3 as written. */
export const V1_POLICY: TokenPolicy = {
  issuers: null,
  audiences: null,
  requireExp: false,
  maxTokenLifetimeSeconds: null,
  tokensNotBefore: null,
  appIdClaim: "appId",
  userClaims: DEFAULT_USER_CLAIMS,
  requestBindings: DEFAULT_REQUEST_BINDINGS,
  acceptMillisecondTimestamps: false,
  requireNonce: false,
};
