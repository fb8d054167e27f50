/**
 * `createGateway()`: the routes of CONTRACT section 1, and the one error renderer that turns
 * every failure into the wire answer of section 6 and one log line.
 *
 * `/healthz` and the admin API are a Hono app. SDK requests, the hot path, go straight to the
 * authentication pipeline: they are one route, and skipping Hono's router and context saves about
 * 4% of the CPU per request (`npm run bench:profile`).
 */

import { Hono } from "hono";
import { registerAdminRoutes } from "./admin/routes.ts";
import { JwksCache } from "./apps/jwks.ts";
import { APP_ID_PATTERN } from "./apps/kv-keys.ts";
import { AppRegistry } from "./apps/registry.ts";
import { AppStore } from "./apps/store.ts";
import type { Env, GatewayConfig } from "./config.ts";
import { ERROR_CATALOGUE, errorResponse, GatewayError, jsonResponse } from "./errors.ts";
import { handleWellKnown, WELL_KNOWN_PREFIX } from "./gateway/nonce-endpoint.ts";
import { matchAppId } from "./gateway/routes.ts";
import { handleSdkRequest } from "./gateway/sdk.ts";
import { VerifiedTokenCache } from "./gateway/token-cache.ts";
import { type GatewayDeps, missingOrigin } from "./gateway/verdict.ts";
import { rawTarget, routePath } from "./lib/raw-target.ts";
import { describeUnexpected, logEvent } from "./log.ts";
import type { AppMetrics } from "./metrics/app-metrics.ts";
import { DecisionRecorder } from "./metrics/recorder.ts";
import type { AppNonces } from "./nonces/app-nonces.ts";
import { nonceKey } from "./nonces/nonce.ts";

export interface AppDeps extends GatewayDeps {
  readonly registry: AppRegistry;
}

/**
 * The answer to a failure: a `GatewayError` as its wire error, anything else as
 * `500 INTERNAL_ERROR` (a bug, on purpose never a silent 4xx). Either way one log line, which
 * never holds a token, secret or claim value; on an SDK route it names the path's appId (when
 * it is a well-formed one), so a fault can be traced to its app.
 */
export function renderError(error: unknown, method: string, appId?: string): Response {
  const app = appId === undefined ? {} : { appId };
  if (error instanceof GatewayError) {
    const entry = ERROR_CATALOGUE[error.kind];
    logEvent(entry.httpStatus >= 500 ? "error" : "info", "rejected", {
      ...app,
      method,
      httpStatus: entry.httpStatus,
      code: entry.code,
      reason: entry.reason,
      detail: error.options.detail,
    });
    return errorResponse(error);
  }
  logEvent("error", "internal_error", { ...app, method, ...describeUnexpected(error) });
  return errorResponse(new GatewayError("INTERNAL_ERROR"));
}

function methodNotAllowed(): never {
  throw new GatewayError("METHOD_NOT_ALLOWED");
}

/**
 * `/healthz`: `200 {"status":"ok"}`, or `503` naming each setting the gateway lacks to forward
 * anything (no origin on a host that serves only this Worker). Names of settings only, never
 * their values.
 */
function health(requestUrl: string, deps: AppDeps): Response {
  const noOrigin = missingOrigin(requestUrl, deps.config);
  if (noOrigin === null) return jsonResponse({ status: "ok" });
  return jsonResponse({ status: "misconfigured", problems: [{ setting: "ORIGIN_URL", message: noOrigin }] }, 503);
}

/** Health and the admin API. */
function createApiApp(deps: AppDeps): Hono<{ Bindings: Env }> {
  // Route on the raw path: Hono's default decodes it, and `/%61dmin` must not be `/admin`.
  const app = new Hono<{ Bindings: Env }>({ getPath: routePath });
  app.get("/healthz", (c) => health(c.req.url, deps));
  app.all("/healthz", methodNotAllowed);
  registerAdminRoutes(app, {
    prefix: deps.config.adminPrefix,
    registry: deps.registry,
    store: deps.store,
    now: deps.now,
    gateway: deps,
  });
  app.notFound((c) => renderError(new GatewayError("NOT_FOUND"), c.req.method));
  app.onError((error, c) => renderError(error, c.req.method));
  return app;
}

export interface Gateway {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response>;
}

/** The gateway for one validated configuration. */
export function createGateway(deps: AppDeps): Gateway {
  const api = createApiApp(deps);
  const { adminPrefix } = deps.config;
  const adminPathStart = `${adminPrefix}/`;
  return {
    async fetch(request, env, ctx) {
      const target = rawTarget(request.url);
      const { path } = target;
      // The admin prefix is never forwarded, whatever follows it.
      if (path === "/healthz" || path === "/healthz/" || path === adminPrefix || path.startsWith(adminPathStart)) {
        return api.fetch(request, env, ctx);
      }
      // The gateway's own public endpoints (challenge nonces), never forwarded.
      if (path.startsWith(WELL_KNOWN_PREFIX)) {
        try {
          return await handleWellKnown(request, path, deps);
        } catch (error) {
          return renderError(error, request.method);
        }
      }
      try {
        return await handleSdkRequest(request, target, deps, ctx);
      } catch (error) {
        // A fault, not a verdict: answered, never forwarded.
        const appId = matchAppId(path, deps.config.appRoutes);
        return renderError(
          error,
          request.method,
          appId !== undefined && APP_ID_PATTERN.test(appId) ? appId : undefined,
        );
      }
    },
  };
}

/** One store, token cache and gateway per validated configuration, kept for the isolate's life. */
const gateways = new WeakMap<GatewayConfig, Gateway>();

/** The decision counter of one gateway: batches to each app's `AppMetrics`; `null` without the binding. */
function decisionRecorder(config: GatewayConfig, env: Env, now: () => number): DecisionRecorder | null {
  if (env.METRICS === undefined) return null;
  const namespace = env.METRICS as DurableObjectNamespace<AppMetrics>;
  return new DecisionRecorder({
    sink: (app, rows) => namespace.get(namespace.idFromName(app)).add(rows),
    now,
    flushMs: config.metricsFlushMs,
    analytics: env.DECISIONS,
  });
}

export function gatewayFor(config: GatewayConfig, env: Env): Gateway {
  let gateway = gateways.get(config);
  if (!gateway) {
    const now = () => Date.now();
    gateway = createGateway({
      config,
      store: new AppStore(env.APPS, { ttlMs: config.configCacheTtlMs }),
      tokens: new VerifiedTokenCache(),
      registry: new AppRegistry(env.APPS),
      // Read at each call (not `Date.now` itself), so tests that fake the clock reach it.
      now,
      metrics: decisionRecorder(config, env, now),
      nonces: {
        key: config.nonceSecret === null ? null : nonceKey(config.nonceSecret),
        store: (env.NONCES as DurableObjectNamespace<AppNonces> | undefined) ?? null,
      },
      jwks: new JwksCache({
        // Read at each call, so tests that replace `fetch` reach it.
        fetch: (request) => fetch(request),
        cache: typeof caches === "undefined" ? null : caches.default,
        now,
        allowHttp: config.allowHttpJwks,
      }),
      limiter: env.FAILURE_LIMITER ?? null,
    });
    gateways.set(config, gateway);
  }
  return gateway;
}
