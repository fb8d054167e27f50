/**
 * The admin API (CONTRACT section 5) under `ADMIN_PREFIX`: upsert, patch, read, list and delete
 * app records. Every route checks the admin credential first; every write is validated in full
 * before KV is touched, drops this isolate's cached entry so the change applies here at once,
 * and writes one audit line that names the secret only by its fingerprint.
 */

import type { Hono } from "hono";
import { type AppRecord, enforcementOf, MAX_KEYS, recordWarnings } from "../apps/record.ts";
import type { AppRegistry, AppView } from "../apps/registry.ts";
import { appView } from "../apps/registry.ts";
import type { AppStore } from "../apps/store.ts";
import { GatewayError, jsonResponse } from "../errors.ts";
import { rawTarget, routePath } from "../gateway/paths.ts";
import { logEvent } from "../log.ts";
import { adminAuth } from "./auth.ts";
import { openCursor, sealCursor } from "./cursor.ts";
import {
  checkAppId,
  checkMergedRecord,
  invalidRequest,
  parseListQuery,
  readKeyBody,
  readPatchBody,
  readPutBody,
  relativeErrors,
} from "./schema.ts";

export interface AdminDeps {
  readonly prefix: string;
  readonly registry: AppRegistry;
  readonly store: AppStore;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
}

type AdminEnv = { Bindings: { ADMIN_TOKEN?: string } };

/** How the view names a key: `sha256:` and 16 hex digits. */
const FINGERPRINT = /^sha256:[0-9a-f]{16}$/;

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
    return checkAppId(routePath(url).slice(appPathStart).split("/", 1)[0] as string);
  }

  /** The kid of `…/keys/{kid}`, percent-decoded (a kid is any text). */
  function kidOf(url: string): string {
    const raw = routePath(url).split("/").at(-1) as string;
    try {
      return decodeURIComponent(raw);
    } catch {
      throw invalidRequest([{ path: "kid", message: "must be percent-encoded UTF-8" }]);
    }
  }

  async function existingApp(appId: string): Promise<AppRecord> {
    const existing = await registry.get(appId);
    if (existing === null) throw new GatewayError("APP_NOT_FOUND");
    return existing;
  }

  type Action = "create" | "replace" | "patch" | "add_key" | "remove_key";

  /**
   * Writes a record, then forgets the cached entry and logs the audit line. Returns the view, and
   * the record's `warnings` when it has any (a write's answer shows them; KV metadata does not).
   */
  async function write(action: Action, appId: string, record: AppRecord): Promise<AppView> {
    const prints = await checkMergedRecord(record, (error) =>
      action === "add_key" ? conflict("The app has this key already (same fingerprint)") : invalidRequest([error]),
    );
    const view = appView(appId, record, prints);
    await registry.put(appId, record, view);
    store.invalidate(appId);
    const keyFingerprints = view.keys?.map((key) => key.fingerprint).join(",");
    logEvent("info", "admin_write", {
      action,
      appId,
      secretFingerprint: view.secretFingerprint,
      ...(keyFingerprints === undefined ? {} : { keyFingerprints }),
    });
    const warnings = recordWarnings(record);
    return warnings.length > 0 ? { ...view, warnings } : view;
  }

  function conflict(status: string): GatewayError {
    return new GatewayError("CONFLICT", { status });
  }

  // The credential is checked before routing: an unknown admin path without it is 401 too.
  app.use(prefix, adminAuth());
  app.use(`${prefix}/*`, adminAuth());

  app.get(`${prefix}/apps`, async function listApps(c) {
    const query = new URLSearchParams(rawTarget(c.req.url).query);
    const { limit, cursor } = parseListQuery(query);
    // The admin credential has been checked, so ADMIN_TOKEN is set (it keys the cursors).
    const adminToken = c.env.ADMIN_TOKEN as string;
    let kvCursor: string | undefined;
    if (cursor !== undefined) {
      kvCursor = (await openCursor(cursor, adminToken)) ?? undefined;
      if (kvCursor === undefined) throw invalidRequest([{ path: "cursor", message: "is not a cursor from this list" }]);
    }
    const page = await registry.list(limit, kvCursor);
    return jsonResponse({
      apps: page.apps,
      cursor: page.cursor === null ? null : await sealCursor(page.cursor, adminToken),
    });
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
    return jsonResponse(appView(appId, record, await checkMergedRecord(record)));
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

  // Rotation: add one key (at most 3 in all, counting the v1 secret), remove one by kid.
  app.post(`${appPath}/keys`, async function addKey(c) {
    const appId = appIdOf(c.req.url);
    const key = await readKeyBody(c.req.raw);
    const existing = await existingApp(appId);
    const keys = existing.keys ?? [];
    if (keys.length + (existing.secret === undefined ? 0 : 1) >= MAX_KEYS) {
      throw conflict(`The app has ${MAX_KEYS} keys; remove one first`);
    }
    if (key.kid !== undefined && keys.some((other) => other.kid === key.kid)) {
      throw conflict("The app has a key with this kid");
    }
    const record: AppRecord = { ...existing, keys: [...keys, key], updatedAt: new Date(deps.now()).toISOString() };
    // The record is checked (the new key imported) once, in `write`; its errors name the
    // posted key's own members (`publicKey`, not `keys.1.publicKey`).
    const view = await relativeErrors(`keys.${keys.length}`, () => write("add_key", appId, record));
    return jsonResponse(view, 201);
  });
  app.all(`${appPath}/keys`, notAllowed);

  app.delete(`${appPath}/keys/:kid`, async function removeKey(c) {
    const appId = appIdOf(c.req.url);
    const kid = kidOf(c.req.url);
    const existing = await existingApp(appId);
    const record: AppRecord = { ...existing, updatedAt: new Date(deps.now()).toISOString() };
    const keys = existing.keys ?? [];
    let index = keys.findIndex((key) => key.kid === kid);
    let isSecret = false;
    if (index < 0 && FINGERPRINT.test(kid)) {
      // A key without a kid (the v1 secret too) is named by its fingerprint.
      const prints = await checkMergedRecord(existing);
      index = keys.findIndex((key, i) => key.kid === undefined && prints.keys[i] === kid);
      isSecret = index < 0 && prints.secret === kid;
    }
    if (isSecret) {
      delete record.secret;
      delete record.secretEncoding;
    } else if (index < 0) {
      throw new GatewayError("KEY_NOT_FOUND");
    } else {
      const rest = keys.filter((_, i) => i !== index);
      if (rest.length > 0) record.keys = rest;
      else delete record.keys;
    }
    if (record.secret === undefined && record.keys === undefined && enforcementOf(record) !== "off") {
      throw conflict("The app checks tokens and this is its last key; add another first, or turn enforcement off");
    }
    return jsonResponse(await write("remove_key", appId, record));
  });
  app.all(`${appPath}/keys/:kid`, notAllowed);

  // Every other path under the prefix ends here: it must never fall through to the SDK routes.
  app.all(prefix, notFound);
  app.all(`${prefix}/*`, notFound);
}
