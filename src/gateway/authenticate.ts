/**
 * The SDK request pipeline (CONTRACT sections 1, 3 and 4): route, path hygiene, app record,
 * token, binding, then forwarding. Each step either passes or throws a `GatewayError`; nothing
 * reaches `forwardToOrigin` except through the checks above it, so a fault anywhere (KV down,
 * a bad record, a bug) ends in an error answer and never in a forwarded request.
 */

import { APP_ID_PATTERN } from "../apps/record.ts";
import type { AppStore, ResolvedApp } from "../apps/store.ts";
import type { GatewayConfig } from "../config.ts";
import { badRequest, ERROR_CATALOGUE, GatewayError } from "../errors.ts";
import { logEvent } from "../log.ts";
import { checkTimeClaims } from "../token/claims.ts";
import { isWithinWindow, type Keyring } from "../token/keys.ts";
import { type VerifiedToken, verifyAppToken } from "../token/verify.ts";
import { bindRequestIdentity, checkRequestIdentities, readRequestIdentities } from "./binding.ts";
import { bearerToken } from "./credentials.ts";
import { type ForwardedIdentity, type ForwardInput, forwardToOrigin, hasOwnHop, isWorkerOnlyHost } from "./forward.ts";
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
 * Why requests for `requestUrl` cannot be forwarded under `config`, or `null` when they can: no
 * `ORIGIN` and no `ORIGIN_URL` on a host that serves only this Worker, where "the request's own
 * URL" is the gateway again.
 */
export function missingOrigin(requestUrl: string, config: GatewayConfig): string | null {
  if (config.origin.kind !== "route" || !isWorkerOnlyHost(requestUrl)) return null;
  return "no origin: set ORIGIN_URL or bind ORIGIN, or run the Worker on a route in front of the origin";
}

/**
 * Authenticates one SDK request and forwards it. `onAppId` learns the appId as soon as it is
 * valid, for the rejection log line.
 */
export async function handleSdkRequest(
  request: Request,
  target: RawTarget,
  deps: GatewayDeps,
  onAppId: (appId: string) => void,
): Promise<Response> {
  const { config } = deps;
  const appId = resolveAppId(target.path, config);
  onAppId(appId);
  // A request that already went through this gateway would go round again: answer it here.
  if (hasOwnHop(request.headers.get("cdn-loop"))) throw new GatewayError("LOOP_DETECTED");
  const noOrigin = missingOrigin(request.url, config);
  if (noOrigin !== null) {
    logEvent("error", "config_invalid", { variable: "ORIGIN_URL", rule: noOrigin });
    throw new GatewayError("CONFIG_UNAVAILABLE", { detail: "no origin configured" });
  }

  const app = await deps.store.get(appId);
  if (app === null) throw new GatewayError("APP_NOT_FOUND");
  if (!app.jwtEnabled || isPreflight(request)) {
    return forwardToOrigin(
      { request, pathAndQuery: target.pathAndQuery, body: request.body, identity: { appId } },
      config,
    );
  }
  if (app.keyring === null) throw new GatewayError("CONFIG_UNAVAILABLE", { detail: "JWT enforced without a key" });

  if (app.enforcement === "report") return reportAndForward(request, target, deps, app);

  const verified = await verifyRequestToken(request, app, deps);
  const { body } = await bindRequestIdentity(request, target.query, verified.claims, {
    maxBodyBytes: config.maxBodyBytes,
    requestBindings: app.policy.requestBindings,
  });
  return forwardToOrigin(
    {
      request,
      pathAndQuery: target.pathAndQuery,
      body,
      identity: { appId, userId: verified.userId, claimsSegment: verified.payloadSegment },
    },
    config,
  );
}

/** The request's bearer token, verified under the app's key and policy (cached per record). */
async function verifyRequestToken(request: Request, app: ResolvedApp, deps: GatewayDeps): Promise<VerifiedToken> {
  const token = bearerToken(request.headers.get("authorization"));
  const now = deps.now() / 1000;
  const cached = deps.tokens.get(token, app);
  // A key whose window has closed since takes its tokens with it: verify again (and fail).
  if (cached && isWithinWindow(cached.key, now)) {
    // Signature and claims were checked under this record; time moves on, so check it again.
    checkTimeClaims(cached.claims, { now, clockToleranceSeconds: app.clockToleranceSeconds });
    return cached;
  }
  const verified = await verifyAppToken(token, {
    keyring: app.keyring as Keyring,
    appId: app.appId,
    clockToleranceSeconds: app.clockToleranceSeconds,
    now,
    policy: app.policy,
  });
  deps.tokens.set(token, app, verified);
  return verified;
}

/** A failure that `report` mode forwards: the token's (`38`, `39`, `40`), not the request's. */
function tokenFailure(error: unknown): { readonly code: string; readonly reason: string } | null {
  if (!(error instanceof GatewayError)) return null;
  const { code, reason } = ERROR_CATALOGUE[error.kind];
  return reason !== undefined && (code === "38" || code === "39" || code === "40") ? { code, reason } : null;
}

/**
 * `enforcement: report`: the token and the request binding are checked exactly as in
 * `enforce`, and the request is forwarded either way, with `X-Auth-Status: ok` or the code and
 * reason it would have been refused with; the user and claims headers only when all passed.
 * Each failure is logged. Requests the gateway cannot judge (bad path, ambiguous or oversized
 * body, a fault) are still refused.
 */
async function reportAndForward(
  request: Request,
  target: RawTarget,
  deps: GatewayDeps,
  app: ResolvedApp,
): Promise<Response> {
  const { appId } = app;
  const forward = (body: ForwardInput["body"], identity: ForwardedIdentity) =>
    forwardToOrigin({ request, pathAndQuery: target.pathAndQuery, body, identity }, deps.config);
  const reported = (error: unknown): string => {
    const failure = tokenFailure(error);
    if (failure === null) throw error;
    logEvent("info", "reported", { appId, method: request.method, ...failure });
    return `${failure.code} ${failure.reason}`;
  };

  let verified: VerifiedToken;
  try {
    verified = await verifyRequestToken(request, app, deps);
  } catch (error) {
    return forward(request.body, { appId, status: reported(error) });
  }
  const named = await readRequestIdentities(request, target.query, {
    maxBodyBytes: deps.config.maxBodyBytes,
    requestBindings: app.policy.requestBindings,
  });
  try {
    checkRequestIdentities(named, verified.claims);
  } catch (error) {
    return forward(named.body, { appId, status: reported(error) });
  }
  return forward(named.body, {
    appId,
    userId: verified.userId,
    claimsSegment: verified.payloadSegment,
    status: "ok",
  });
}
