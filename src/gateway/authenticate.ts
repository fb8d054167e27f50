/**
 * The SDK request pipeline (CONTRACT sections 1, 3 and 4): route, path hygiene, app record,
 * token, binding, then forwarding. Each step either passes or throws a `GatewayError`; nothing
 * reaches `forwardToOrigin` except through the checks above it, so a fault anywhere (KV down,
 * a bad record, a bug) ends in an error answer and never in a forwarded request.
 */

import { APP_ID_PATTERN } from "../apps/record.ts";
import type { AppStore } from "../apps/store.ts";
import type { Env, GatewayConfig } from "../config.ts";
import { badRequest, GatewayError } from "../errors.ts";
import { checkTimeClaims } from "../token/claims.ts";
import { type VerifiedToken, verifyAppToken } from "../token/verify.ts";
import { bindRequestIdentity } from "./binding.ts";
import { bearerToken } from "./credentials.ts";
import { forwardToOrigin } from "./forward.ts";
import { checkPathHygiene, matchAppId, type RawTarget } from "./paths.ts";
import type { VerifiedTokenCache } from "./token-cache.ts";

export interface GatewayDeps {
  readonly config: GatewayConfig;
  readonly store: AppStore;
  readonly tokens: VerifiedTokenCache;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
}

/**
 * Headers by which frameworks let a request claim another method. A browser never sends one on
 * a preflight; an origin that honours one would run an unauthenticated `OPTIONS` as `DELETE`.
 */
const METHOD_OVERRIDES = ["x-http-method-override", "x-http-method", "x-method-override"] as const;

/**
 * A CORS preflight carries no credentials by design (Fetch standard), so it cannot be checked.
 * One that also asks for another method is no preflight, and needs a token like any request.
 */
function isPreflight(request: Request): boolean {
  const { headers } = request;
  return (
    request.method === "OPTIONS" &&
    headers.has("origin") &&
    headers.has("access-control-request-method") &&
    !METHOD_OVERRIDES.some((name) => headers.has(name))
  );
}

/** The appId a request is for, once its path has passed the route and hygiene rules. */
export function resolveAppId(path: string, config: GatewayConfig): string {
  const appId = matchAppId(path, config.appRoutes);
  if (appId === undefined) throw new GatewayError("NOT_FOUND");
  checkPathHygiene(path);
  if (!APP_ID_PATTERN.test(appId)) throw badRequest("Invalid appId in path");
  return appId;
}

/**
 * Authenticates one SDK request and forwards it. `onAppId` learns the appId as soon as it is
 * valid, for the rejection log line.
 */
export async function handleSdkRequest(
  request: Request,
  target: RawTarget,
  env: Env,
  deps: GatewayDeps,
  onAppId: (appId: string) => void,
): Promise<Response> {
  const { config } = deps;
  const appId = resolveAppId(target.path, config);
  onAppId(appId);

  const app = await deps.store.get(appId);
  if (app === null) throw new GatewayError("APP_NOT_FOUND");
  if (!app.jwtEnabled || isPreflight(request)) {
    return forwardToOrigin(
      { request, pathAndQuery: target.pathAndQuery, body: request.body, identity: { appId } },
      config,
      env,
    );
  }
  if (app.key === null) throw new GatewayError("CONFIG_UNAVAILABLE", { detail: "JWT enforced without a key" });

  const token = bearerToken(request.headers.get("authorization"));
  const now = deps.now() / 1000;
  let verified: VerifiedToken | undefined = deps.tokens.get(token, app);
  if (verified) {
    // Signature and claims were checked under this record; time moves on, so check it again.
    checkTimeClaims(verified.claims, { now, clockToleranceSeconds: app.clockToleranceSeconds });
  } else {
    verified = await verifyAppToken(token, {
      key: app.key,
      appId,
      clockToleranceSeconds: app.clockToleranceSeconds,
      now,
      policy: app.policy,
    });
    deps.tokens.set(token, app, verified);
  }
  const { body } = await bindRequestIdentity(request, target.query, verified.claims, config.maxBodyBytes);
  return forwardToOrigin(
    {
      request,
      pathAndQuery: target.pathAndQuery,
      body,
      identity: { appId, userId: verified.userId, claimsSegment: verified.payloadSegment },
    },
    config,
    env,
  );
}
