/**
 * The scenarios: which variants each measures, the requests it sends (cycled by the load
 * generator), and the status every answer must have. Tokens are HS256, pre-minted in Node.
 */

import { randomBytes } from "node:crypto";
import type { BenchRequest } from "./load.ts";
import { mintHs256 } from "./mint.ts";
import {
  APP_ID,
  FEATURES_AUDIENCE,
  FEATURES_ISSUER,
  FEATURES_KID,
  OPEN_APP_ID,
  USER_ID,
  type VariantName,
} from "./variants.ts";

export const SCENARIO_NAMES = ["warm", "unique", "rejected", "unknown-apps", "jwt-off"] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface Scenario {
  readonly name: ScenarioName;
  readonly description: string;
  readonly variants: readonly VariantName[];
  readonly requests: readonly BenchRequest[];
  readonly expectedStatus: number;
  /** Distinct appIds among the requests, for the KV read check. */
  readonly distinctAppIds?: number;
}

/** The SDK path of the bench app (what the requests of every token scenario ask for). */
export const APP_PATH = `/api/v1/app/${APP_ID}/threads?userId=${USER_ID}`;
export const OPEN_APP_PATH = `/api/v1/app/${OPEN_APP_ID}/threads?userId=${USER_ID}`;

export interface TokenOptions {
  /** `--features`: tokens carry `kid`, `iss` and `aud`, as the features record asks. */
  readonly features: boolean;
  /** Unix seconds; `iat` is this and `exp` an hour later. */
  readonly now?: number;
}

/** The claims of the bench's i-th token (`jti` makes each one distinct). */
export function tokenClaims(i: number, options: TokenOptions): Record<string, unknown> {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const features = options.features ? { iss: FEATURES_ISSUER, aud: FEATURES_AUDIENCE } : {};
  return { appId: APP_ID, userId: USER_ID, ...features, iat: now, exp: now + 3600, jti: i };
}

/** A token as the bench app's backend would mint it, signed with `secret` (claims may be overridden). */
export function mintAppToken(
  secret: string,
  i: number,
  options: TokenOptions,
  overrides: Record<string, unknown> = {},
): string {
  return mintHs256(secret, { ...tokenClaims(i, options), ...overrides }, options.features ? FEATURES_KID : undefined);
}

/** `count` distinct valid tokens (`jti` from `first`), as `Bearer` requests to the bench app. */
export function uniqueRequests(secret: string, count: number, options: TokenOptions, first = 1): BenchRequest[] {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, (_, i) => ({
    path: APP_PATH,
    authorization: `Bearer ${mintAppToken(secret, first + i, { ...options, now })}`,
  }));
}

export interface ScenarioOptions extends TokenOptions {
  readonly secret: string;
  /** Distinct tokens in `unique` (`rejected` has at most 20,000). */
  readonly tokenCount: number;
}

export function buildScenarios(options: ScenarioOptions): Scenario[] {
  const { secret, tokenCount } = options;
  const tokens = { ...options, now: options.now ?? Math.floor(Date.now() / 1000) };
  const warmToken = mintAppToken(secret, 0, tokens);
  const otherSecret = randomBytes(24).toString("base64url");
  const unknownIds = Array.from({ length: 1000 }, () => `unknown-${randomBytes(6).toString("hex")}`);
  return [
    {
      name: "warm",
      description: "one valid token, repeated (what an SDK sends)",
      variants: ["bare", "bare-id", "floor", "jose", "hono-jwt", "gateway"],
      requests: [{ path: APP_PATH, authorization: `Bearer ${warmToken}` }],
      expectedStatus: 200,
    },
    {
      name: "unique",
      description: `every request a different valid token (${tokenCount.toLocaleString("en")} in a cycle)`,
      variants: ["bare", "bare-id", "floor", "jose", "hono-jwt", "gateway"],
      requests: uniqueRequests(secret, tokenCount, tokens),
      expectedStatus: 200,
    },
    {
      name: "rejected",
      description: "every request a different token with a bad signature (another secret): 401",
      variants: ["deny", "deny-contract", "floor", "jose", "hono-jwt", "gateway"],
      requests: uniqueRequests(otherSecret, Math.min(tokenCount, 20_000), tokens),
      expectedStatus: 401,
    },
    {
      name: "unknown-apps",
      description: "1,000 random appIds no record names (404), counting the gateway's KV reads",
      variants: ["gateway-counted"],
      requests: unknownIds.map((appId) => ({
        path: `/api/v1/app/${appId}/threads`,
        authorization: `Bearer ${warmToken}`,
      })),
      expectedStatus: 404,
      distinctAppIds: unknownIds.length,
    },
    {
      name: "jwt-off",
      description:
        "an app with JWT checks off; the requests carry warm's token (ignored), so this is the gateway's no-check path of the same request",
      variants: ["bare", "gateway"],
      requests: [{ path: OPEN_APP_PATH, authorization: `Bearer ${warmToken}` }],
      expectedStatus: 200,
    },
  ];
}
