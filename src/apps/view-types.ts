/**
 * What the admin API shows of an app and its keys (CONTRACT section 5): types only, importing
 * nothing but types, so that the console (console/src/api.ts) checks its calls against the very
 * shapes the API answers with.
 */

import type { JwsAlgorithm, PublicKeyAlgorithm } from "../token/algorithms.ts";
import type { FieldError } from "./schema.ts";

/** `off`: no token check; `report`: check fully, forward either way; `enforce`: v1's `jwtEnabled: true`. */
export type Enforcement = "off" | "report" | "enforce";

/** What the view shows of one key of `keys`: never its secret. */
export interface KeyView {
  readonly kid: string | null;
  readonly alg: JwsAlgorithm;
  readonly notBefore?: string;
  readonly notAfter?: string;
  /**
   * `sha256:` and 16 hex digits, over the HMAC key bytes or the public key's SPKI DER; `null`
   * for a key that does not import (the gateway answers 503 for its app).
   */
  readonly fingerprint: string | null;
}

/** One key of a loaded set, as the admin view shows it. */
export interface JwksKeyView {
  readonly kid: string;
  readonly alg: PublicKeyAlgorithm;
  readonly fingerprint: string;
}

/** A loaded JWKS as the admin API shows it: its keys by kid, alg and fingerprint, and its times. */
export interface JwksSetView {
  readonly keys: readonly JwksKeyView[];
  readonly fetchedAt: string;
  readonly expiresAt: string;
  /** Past `expiresAt`: served while the provider fails (up to 24 hours). */
  readonly stale: boolean;
  /** Keys the provider's set held that are not used, by why. */
  readonly skipped: Readonly<Record<string, number>>;
}

/** The keys the gateway holds from an app's `jwksUri`, or why it holds none. */
export type JwksView = JwksSetView | { readonly error: "unavailable" };

/** What the admin API shows of an app: never the secret. */
export interface AppView {
  readonly appId: string;
  readonly jwtEnabled: boolean;
  /** `null` only for a stored record whose two fields disagree (the gateway answers 503 for it). */
  readonly enforcement: Enforcement | null;
  readonly secretEncoding: string;
  readonly secretFingerprint: string | null;
  readonly clockToleranceSeconds: number;
  // The token policy, shown only when the record sets it: a v1 record's view is v1's.
  readonly issuer?: string | readonly string[];
  readonly audience?: string | readonly string[];
  readonly requireExp?: boolean;
  readonly maxTokenLifetimeSeconds?: number;
  readonly tokensNotBefore?: string;
  readonly appIdClaim?: string | null;
  readonly userClaims?: readonly string[];
  readonly requestBindings?: Readonly<Record<string, string>>;
  readonly acceptMillisecondTimestamps?: boolean;
  readonly requireNonce?: boolean;
  readonly keys?: readonly KeyView[];
  /** The identity provider's JWKS the app also verifies with. */
  readonly jwksUri?: string;
  /** How many users are revoked (`…/revocations` lists them). */
  readonly revokedUsers?: number;
  /** Only in a read's answer: the keys this isolate holds from `jwksUri`, or why it holds none. */
  readonly jwks?: JwksView;
  readonly createdAt: string | null;
  readonly updatedAt: string | null;
  /** Only in a write's answer: what the record may still have wrong (`recordWarnings`). */
  readonly warnings?: readonly FieldError[];
  /** Only in a read's answer, for a stored record that breaks the rules: what, per field. */
  readonly problems?: readonly FieldError[];
}
