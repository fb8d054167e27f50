/**
 * `createApp()`: the routes of CONTRACT section 1 on Hono, and the one error handler that turns
 * every failure into the wire answer of section 6 and one log line.
 */

import { Hono } from "hono";
import { registerAdminRoutes } from "./admin/routes.ts";
import { AppRegistry } from "./apps/registry.ts";
import { AppStore } from "./apps/store.ts";
import type { Env, GatewayConfig } from "./config.ts";
import { ERROR_CATALOGUE, errorResponse, GatewayError, jsonResponse } from "./errors.ts";
import { handleSdkRequest } from "./gateway/authenticate.ts";
import { rawPath } from "./gateway/paths.ts";
import { VerifiedTokenCache } from "./gateway/token-cache.ts";
import { describeUnexpected, logEvent } from "./log.ts";

export interface AppDeps {
  readonly config: GatewayConfig;
  readonly store: AppStore;
  readonly tokens: VerifiedTokenCache;
  readonly registry: AppRegistry;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
}

type AppEnv = { Bindings: Env; Variables: { appId: string | undefined } };

function methodNotAllowed(): never {
  throw new GatewayError("METHOD_NOT_ALLOWED");
}

/** The gateway's routes for one validated configuration. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { config } = deps;
  // Route on the raw path: Hono's default decodes it, and `/%61dmin` must not be `/admin`.
  const app = new Hono<AppEnv>({ getPath: rawPath });

  app.get("/healthz", () => jsonResponse({ status: "ok" }));
  app.all("/healthz", methodNotAllowed);

  // The admin API (CONTRACT section 5) is never forwarded, whatever follows the prefix.
  registerAdminRoutes(app, { prefix: config.adminPrefix, registry: deps.registry, store: deps.store, now: deps.now });

  app.all("*", function sdkRoute(c) {
    return handleSdkRequest(c.req.raw, c.env, deps, (appId) => c.set("appId", appId));
  });

  app.onError(function renderError(error, c) {
    const appId = c.get("appId");
    if (error instanceof GatewayError) {
      const entry = ERROR_CATALOGUE[error.kind];
      logEvent(entry.httpStatus >= 500 ? "error" : "info", "rejected", {
        appId,
        method: c.req.method,
        httpStatus: entry.httpStatus,
        code: entry.code,
        reason: entry.reason,
        detail: error.options.detail,
      });
      return errorResponse(error);
    }
    logEvent("error", "internal_error", { appId, method: c.req.method, ...describeUnexpected(error) });
    return errorResponse(new GatewayError("INTERNAL_ERROR"));
  });

  return app;
}

/** One store and one app per validated configuration, kept for the isolate's life. */
const apps = new WeakMap<GatewayConfig, Hono<AppEnv>>();

export function appFor(config: GatewayConfig, env: Env): Hono<AppEnv> {
  let app = apps.get(config);
  if (!app) {
    const store = new AppStore(env.APPS, { ttlMs: config.configCacheTtlMs });
    app = createApp({
      config,
      store,
      tokens: new VerifiedTokenCache(),
      registry: new AppRegistry(env.APPS),
      now: Date.now,
    });
    apps.set(config, app);
  }
  return app;
}
