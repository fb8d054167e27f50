/**
 * The admin API (CONTRACT section 5) under `ADMIN_PREFIX`: upsert, patch, read, list and delete
 * app records. Every route checks the admin credential first; every write is validated in full
 * before KV is touched, drops this isolate's cached entry so the change applies here at once,
 * and writes one audit line that names the secret only by its fingerprint.
 */

import type { Hono } from "hono";
import type { AppRecord } from "../apps/record.ts";
import type { AppRegistry, AppView } from "../apps/registry.ts";
import { appView } from "../apps/registry.ts";
import type { AppStore } from "../apps/store.ts";
import { GatewayError, jsonResponse } from "../errors.ts";
import { rawTarget } from "../gateway/paths.ts";
import { logEvent } from "../log.ts";
import { adminAuth } from "./auth.ts";
import { checkAppId, checkMergedRecord, parseListQuery, readPatchBody, readPutBody } from "./schema.ts";

export interface AdminDeps {
  readonly prefix: string;
  readonly registry: AppRegistry;
  readonly store: AppStore;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
}

type AdminEnv = { Bindings: { ADMIN_TOKEN?: string } };

function notAllowed(): never {
  throw new GatewayError("METHOD_NOT_ALLOWED");
}

function notFound(): never {
  throw new GatewayError("NOT_FOUND");
}

/** Registers the admin routes on `app`; call before any catch-all route. */
export function registerAdminRoutes<E extends AdminEnv>(app: Hono<E>, deps: AdminDeps): void {
  const { prefix, registry, store } = deps;
  const appPath = `${prefix}/apps/:appId`;
  const appPathStart = `${prefix}/apps/`.length;

  /** The appId exactly as written in the path: Hono's param is decoded, and `%41P1` is no appId. */
  function appIdOf(url: string): string {
    return checkAppId(rawTarget(url).path.slice(appPathStart));
  }

  /** Writes a record, then forgets the cached entry and logs the audit line. */
  async function write(action: "create" | "replace" | "patch", appId: string, record: AppRecord): Promise<AppView> {
    const keyBytes = checkMergedRecord(record);
    const view = await appView(appId, record, keyBytes);
    await registry.put(appId, record, view);
    store.invalidate(appId);
    logEvent("info", "admin_write", { action, appId, secretFingerprint: view.secretFingerprint });
    return view;
  }

  // The credential is checked before routing: an unknown admin path without it is 401 too.
  app.use(prefix, adminAuth());
  app.use(`${prefix}/*`, adminAuth());

  app.get(`${prefix}/apps`, async function listApps(c) {
    const query = new URLSearchParams(rawTarget(c.req.url).query);
    const { limit, cursor } = parseListQuery(query);
    return jsonResponse(await registry.list(limit, cursor));
  });
  app.all(`${prefix}/apps`, notAllowed);

  app.put(appPath, async function putApp(c) {
    const appId = appIdOf(c.req.url);
    const fields = await readPutBody(c.req.raw);
    const existing = await registry.get(appId);
    const now = new Date(deps.now()).toISOString();
    const record: AppRecord = { ...fields, createdAt: existing?.createdAt ?? now, updatedAt: now };
    const view = await write(existing ? "replace" : "create", appId, record);
    return jsonResponse(view, existing ? 200 : 201);
  });

  app.patch(appPath, async function patchApp(c) {
    const appId = appIdOf(c.req.url);
    const fields = await readPatchBody(c.req.raw);
    const existing = await registry.get(appId);
    if (existing === null) throw new GatewayError("APP_NOT_FOUND");
    const record: AppRecord = { ...existing, ...fields, updatedAt: new Date(deps.now()).toISOString() };
    // The mode field the PATCH names decides: a v1 client's jwtEnabled replaces a stored
    // enforcement, and an enforcement sets jwtEnabled to match (report and enforce are true).
    if (fields.jwtEnabled !== undefined && fields.enforcement === undefined) delete record.enforcement;
    if (fields.enforcement !== undefined && fields.jwtEnabled === undefined && record.jwtEnabled !== undefined) {
      record.jwtEnabled = fields.enforcement !== "off";
    }
    return jsonResponse(await write("patch", appId, record));
  });

  app.get(appPath, async function getApp(c) {
    const appId = appIdOf(c.req.url);
    const record = await registry.get(appId);
    if (record === null) throw new GatewayError("APP_NOT_FOUND");
    return jsonResponse(await appView(appId, record, checkMergedRecord(record)));
  });

  app.delete(appPath, async function deleteApp(c) {
    const appId = appIdOf(c.req.url);
    if ((await registry.get(appId)) === null) throw new GatewayError("APP_NOT_FOUND");
    await registry.delete(appId);
    store.invalidate(appId);
    logEvent("info", "admin_write", { action: "delete", appId, secretFingerprint: null });
    return new Response(null, { status: 204, headers: { "cache-control": "no-store" } });
  });
  app.all(appPath, notAllowed);

  // Every other path under the prefix ends here: it must never fall through to the SDK routes.
  app.all(prefix, notFound);
  app.all(`${prefix}/*`, notFound);
}
