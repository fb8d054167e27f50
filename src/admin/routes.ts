/**
 * The admin API (CONTRACT section 5) under `ADMIN_PREFIX`: upsert, patch, read, list and delete
 * app records, add and remove keys. Handlers are thin: the changes are pure functions
 * (`apps/key-ops.ts`), every write is validated in full before KV is touched, drops this
 * isolate's cached entry so the change applies here at once, and writes one audit line that
 * names keys only by their fingerprints.
 */

import type { Hono } from "hono";
import { recordWarnings, type StoredRecord, validateRecord } from "../apps/checks.ts";
import { jwksUriProblem } from "../apps/jwks.ts";
import {
  addKey,
  type Change,
  liftRevocation,
  mergePatch,
  removeKey,
  replaceRecord,
  revokeUser,
} from "../apps/key-ops.ts";
import type { AppRegistry } from "../apps/registry.ts";
import { type AppRecord, DEFAULT_CLOCK_TOLERANCE_SECONDS, type FieldError } from "../apps/schema.ts";
import type { AppStore } from "../apps/store.ts";
import { appView, fingerprintKeys, jwksView, type KeyFingerprints, repeatedKey, storedView } from "../apps/view.ts";
import type { AppView, JwksView } from "../apps/view-types.ts";
import { GatewayError, jsonResponse } from "../errors.ts";
import type { GatewayDeps } from "../gateway/verdict.ts";
import { rawTarget, routePath } from "../lib/raw-target.ts";
import { logEvent } from "../log.ts";
import type { AppMetrics } from "../metrics/app-metrics.ts";
import type { Stats } from "../metrics/counts.ts";
import { adminAuth } from "./auth.ts";
import { registerConsole } from "./console.ts";
import { openCursor, sealCursor } from "./cursor.ts";
import { debugToken } from "./debugger.ts";
import {
  CURSOR_ERROR,
  checkAppId,
  checkUserId,
  invalidRequest,
  parseListQuery,
  parseStatsQuery,
  readKeyBody,
  readRecordBody,
  readRevocationBody,
  readVerifyBody,
} from "./schema.ts";

export interface AdminDeps {
  readonly prefix: string;
  readonly registry: AppRegistry;
  readonly store: AppStore;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** The gateway's own pipeline, for the token debugger. */
  readonly gateway: GatewayDeps;
}

type AdminEnv = { Bindings: { ADMIN_TOKEN?: string; ASSETS?: Fetcher; METRICS?: DurableObjectNamespace } };

type Action = "create" | "replace" | "patch" | "add_key" | "remove_key" | "revoke_user" | "lift_revocation";

function notAllowed(): never {
  throw new GatewayError("METHOD_NOT_ALLOWED");
}

function notFound(): never {
  throw new GatewayError("NOT_FOUND");
}

function conflict(status: string): GatewayError {
  return new GatewayError("CONFLICT", { status });
}

/** The record a change produced, or its refusal: `404 KEY_NOT_FOUND`, `409 CONFLICT`. */
function changed(change: Change): AppRecord {
  if ("notFound" in change) throw new GatewayError("KEY_NOT_FOUND");
  if ("conflict" in change) throw conflict(change.conflict);
  return change.record;
}

/** What a write is checked against besides the record: the Worker's settings and where it runs. */
interface WriteContext {
  readonly allowHttpJwks: boolean;
  /** The admin request's URL: a `jwksUri` on this host would fetch keys from the gateway itself. */
  readonly requestUrl: string;
}

/**
 * The rules of a `jwksUri` that depend on the deployment: plain http only on localhost with
 * `ALLOW_HTTP_JWKS=true`, and never this gateway's own host (it would fetch its keys from itself).
 */
function jwksUriRule(uri: string | undefined, { allowHttpJwks, requestUrl }: WriteContext): string | null {
  if (uri === undefined) return null;
  const problem = jwksUriProblem(uri, allowHttpJwks);
  if (problem !== null) return problem;
  return hostKey(new URL(uri)) === hostKey(new URL(requestUrl)) ? "must not point at this gateway" : null;
}

/** A URL's host as DNS resolves it: `gw.example.` and `gw.example` are one host. */
function hostKey(url: URL): string {
  return `${url.hostname.replace(/\.$/, "")}:${url.port}`;
}

/**
 * A record about to be written, checked in full (schema, rules across fields, every key
 * imported, no key twice): its fingerprints, or `400` naming each broken rule. Adding a key the
 * app already has is `409` instead.
 */
async function checkedForWrite(
  record: AppRecord,
  action: Action,
  context: WriteContext,
): Promise<{ record: AppRecord; prints: KeyFingerprints }> {
  const validated = validateRecord(record);
  if ("errors" in validated) throw invalidRequest(validated.errors);
  const jwksProblem = jwksUriRule(validated.record.jwksUri, context);
  if (jwksProblem !== null) throw invalidRequest([{ path: "jwksUri", message: jwksProblem }]);
  const { prints, problems } = await fingerprintKeys(validated.record);
  if (problems.length > 0) throw invalidRequest(problems);
  const repeated = repeatedKey(prints);
  if (repeated !== null) {
    throw action === "add_key"
      ? conflict("The app has this key already (same fingerprint)")
      : invalidRequest([repeated]);
  }
  return { record: validated.record, prints };
}

/** Runs `fn`; a `400` it throws names fields under `prefix` relative to it (`keys.1.secret` → `secret`). */
async function relativeErrors<T>(prefix: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const errors =
      error instanceof GatewayError ? (error.options.extra?.errors as FieldError[] | undefined) : undefined;
    if (errors === undefined) throw error;
    const start = `${prefix}.`;
    throw invalidRequest(
      errors.map(({ path, message }) => ({ path: path.startsWith(start) ? path.slice(start.length) : path, message })),
    );
  }
}

/** Registers the admin routes on `app`; call before any catch-all route. */
export function registerAdminRoutes<E extends AdminEnv>(app: Hono<E>, deps: AdminDeps): void {
  const { prefix, registry, store } = deps;
  const appPath = `${prefix}/apps/:appId`;
  const appPathStart = `${prefix}/apps/`.length;
  const now = () => new Date(deps.now()).toISOString();

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

  /** The stored record, or `404`. A broken one too: a change starts from what is stored (`raw`), and the write validates the result. */
  async function existing(appId: string): Promise<StoredRecord> {
    const stored = await registry.get(appId);
    if (stored === null) throw new GatewayError("APP_NOT_FOUND");
    return stored;
  }

  /**
   * The stored record for a change to one key: its `keys` must be a list of keys (a stored
   * `keys` that breaks the schema is `400` naming it; PUT or PATCH replaces it whole).
   */
  async function withKeys(appId: string): Promise<StoredRecord> {
    const stored = await existing(appId);
    if (Object.hasOwn(stored.raw, "keys") && stored.record.keys === undefined) {
      throw invalidRequest(stored.problems.filter(({ path }) => path === "keys" || path.startsWith("keys.")));
    }
    return stored;
  }

  /**
   * Writes a record, then forgets the cached entry and logs the audit line. Returns the view, and
   * the record's `warnings` when it has any (a write's answer shows them; KV metadata does not).
   */
  async function write(action: Action, appId: string, record: AppRecord, requestUrl: string): Promise<AppView> {
    const checked = await checkedForWrite(record, action, {
      allowHttpJwks: deps.gateway.config.allowHttpJwks,
      requestUrl,
    });
    const view = appView(appId, checked.record, checked.prints);
    await registry.put(appId, checked.record, view);
    store.invalidate(appId);
    const keyFingerprints = view.keys?.map((key) => key.fingerprint).join(",");
    logEvent("info", "admin_write", {
      action,
      appId,
      secretFingerprint: view.secretFingerprint,
      ...(keyFingerprints === undefined ? {} : { keyFingerprints }),
    });
    const warnings = recordWarnings(checked.record);
    return warnings.length > 0 ? { ...view, warnings } : view;
  }

  // The console's files need no credential (they hold no data); everything else does.
  registerConsole(app, prefix);

  // The credential is checked before routing: an unknown admin path without it is 401 too.
  app.use(prefix, adminAuth());
  app.use(`${prefix}/*`, adminAuth());

  app.get(`${prefix}/apps`, async function listApps(c) {
    const { limit, cursor, prefix: appIdPrefix } = parseListQuery(new URLSearchParams(rawTarget(c.req.url).query));
    // The admin credential has been checked, so ADMIN_TOKEN is set (it keys the cursors).
    const adminToken = c.env.ADMIN_TOKEN as string;
    const kvCursor = cursor === undefined ? undefined : await openCursor(cursor, appIdPrefix, adminToken);
    if (kvCursor === null) throw invalidRequest([CURSOR_ERROR]);
    const page = await registry.list(limit, kvCursor, appIdPrefix);
    return jsonResponse({
      apps: page.apps,
      cursor: page.cursor === null ? null : await sealCursor(page.cursor, appIdPrefix, adminToken),
    });
  });
  app.all(`${prefix}/apps`, notAllowed);

  app.put(appPath, async function putApp(c) {
    const appId = appIdOf(c.req.url);
    const fields = await readRecordBody(c.req.raw);
    const stored = await registry.get(appId);
    const view = await write(
      stored ? "replace" : "create",
      appId,
      replaceRecord(stored?.record ?? null, fields, now()),
      c.req.url,
    );
    return jsonResponse(view, stored ? 200 : 201);
  });

  app.patch(appPath, async function patchApp(c) {
    const appId = appIdOf(c.req.url);
    const fields = await readRecordBody(c.req.raw);
    const stored = await existing(appId);
    return jsonResponse(await write("patch", appId, mergePatch(stored.raw as AppRecord, fields, now()), c.req.url));
  });

  // A read shows a stored record that breaks the rules too, with its `problems`, so the operator
  // can see and fix it (the gateway answers 503 for its app meanwhile).
  app.get(appPath, async function getApp(c) {
    const appId = appIdOf(c.req.url);
    const stored = await existing(appId);
    const view = await storedView(appId, stored);
    const { jwksUri } = stored.record;
    if (jwksUri === undefined) return jsonResponse(view);
    return jsonResponse({ ...view, jwks: await currentJwks(appId, jwksUri) });
  });

  app.delete(appPath, async function deleteApp(c) {
    const appId = appIdOf(c.req.url);
    await existing(appId);
    await registry.delete(appId);
    store.invalidate(appId);
    logEvent("info", "admin_write", { action: "delete", appId, secretFingerprint: null });
    return new Response(null, { status: 204, headers: { "cache-control": "no-store" } });
  });
  app.all(appPath, notAllowed);

  // Rotation: add one key (at most 3 in all, counting the v1 secret), remove one by kid.
  app.post(`${appPath}/keys`, async function addAppKey(c) {
    const appId = appIdOf(c.req.url);
    const key = await readKeyBody(c.req.raw);
    const stored = await withKeys(appId);
    const record = changed(addKey(stored.raw as AppRecord, key, now()));
    // The record is checked (the new key imported) once, in `write`; its errors name the
    // posted key's own members (`publicKey`, not `keys.1.publicKey`).
    const index = (record.keys?.length ?? 1) - 1;
    const view = await relativeErrors(`keys.${index}`, () => write("add_key", appId, record, c.req.url));
    return jsonResponse(view, 201);
  });
  app.all(`${appPath}/keys`, notAllowed);

  app.delete(`${appPath}/keys/:kid`, async function removeAppKey(c) {
    const appId = appIdOf(c.req.url);
    const name = kidOf(c.req.url);
    const stored = await withKeys(appId);
    // Keys without a kid are named by fingerprint; a record that breaks the rules still has some.
    const { prints } = await fingerprintKeys(stored.record);
    const record = changed(removeKey(stored.raw as AppRecord, name, prints, now()));
    return jsonResponse(await write("remove_key", appId, record, c.req.url));
  });
  app.all(`${appPath}/keys/:kid`, notAllowed);

  // The token debugger: the gateway's verdict for a token, never forwarded, never logged.
  app.post(`${appPath}/verify`, async function verifyToken(c) {
    const appId = appIdOf(c.req.url);
    const input = await readVerifyBody(c.req.raw);
    const stored = await existing(appId);
    const { prints } = await fingerprintKeys(stored.record);
    const clockToleranceSeconds = stored.checked?.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
    return jsonResponse(await debugToken(appId, input, { deps: deps.gateway, prints, clockToleranceSeconds }));
  });
  app.all(`${appPath}/verify`, notAllowed);

  /** The JWKS this isolate holds for the app (loading it when it has none), or why there is none. */
  async function currentJwks(appId: string, uri: string): Promise<JwksView> {
    const jwks = deps.gateway.jwks;
    const set = await jwks?.keys(appId, uri).catch(() => null);
    return set ? jwksView(set, deps.now()) : { error: "unavailable" };
  }

  // The app's JWKS fetched from the provider now: after a rotation, or to check a new jwksUri.
  app.post(`${appPath}/jwks/refresh`, async function refreshJwks(c) {
    const appId = appIdOf(c.req.url);
    const { jwksUri } = (await existing(appId)).record;
    if (jwksUri === undefined) throw conflict("The app has no jwksUri");
    const started = deps.now();
    const set = await deps.gateway.jwks?.refresh(appId, jwksUri).catch(() => null);
    if (!set) {
      throw new GatewayError("CONFIG_UNAVAILABLE", { status: "JWKS unavailable: the provider gave no usable set" });
    }
    // A failed fetch still answers the set held before (stale-if-error): `refreshed` says which.
    return jsonResponse({ appId, jwksUri, refreshed: set.fetchedAt >= started, ...jwksView(set, deps.now()) });
  });
  app.all(`${appPath}/jwks/refresh`, notAllowed);

  /** The user id of `…/revocations/{userId}`, percent-decoded. */
  function userIdOf(url: string): string {
    return checkUserId(routePath(url).split("/").at(-1) as string);
  }

  // Per-user revocation: every token of the user issued before `before` is refused.
  app.put(`${appPath}/revocations/:userId`, async function revoke(c) {
    const appId = appIdOf(c.req.url);
    const userId = userIdOf(c.req.url);
    const before = await readRevocationBody(c.req.raw, deps.now());
    const stored = await existing(appId);
    const revocations = (stored.raw as AppRecord).revocations;
    const known = revocations !== undefined && Object.hasOwn(revocations, userId);
    const record = changed(revokeUser(stored.raw as AppRecord, userId, before, now()));
    await write("revoke_user", appId, record, c.req.url);
    return jsonResponse({ appId, userId, before: new Date(before * 1000).toISOString() }, known ? 200 : 201);
  });

  app.delete(`${appPath}/revocations/:userId`, async function liftUserRevocation(c) {
    const appId = appIdOf(c.req.url);
    const userId = userIdOf(c.req.url);
    const stored = await existing(appId);
    const change = liftRevocation(stored.raw as AppRecord, userId, now());
    if ("notFound" in change) throw new GatewayError("NOT_FOUND", { status: "No revocation for this user" });
    await write("lift_revocation", appId, changed(change), c.req.url);
    return new Response(null, { status: 204, headers: { "cache-control": "no-store" } });
  });
  app.all(`${appPath}/revocations/:userId`, notAllowed);

  app.get(`${appPath}/revocations`, async function listRevocations(c) {
    const appId = appIdOf(c.req.url);
    const {
      limit,
      cursor,
      prefix: userPrefix,
    } = parseListQuery(new URLSearchParams(rawTarget(c.req.url).query), {
      prefixIsText: true,
    });
    const adminToken = c.env.ADMIN_TOKEN as string;
    const listing = `revocations:${appId}:${userPrefix}`;
    const after = cursor === undefined ? undefined : await openCursor(cursor, listing, adminToken);
    if (after === null) throw invalidRequest([CURSOR_ERROR]);
    // In user order (by UTF-16 code units, as `>` compares: an object lists integer-like keys
    // first), so a page starts after the cursor's user.
    const all = Object.entries((await existing(appId)).record.revocations ?? {})
      .filter(([user]) => user.startsWith(userPrefix) && (after === undefined || user > after))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const page = all.slice(0, limit);
    const last = page.at(-1)?.[0];
    return jsonResponse({
      revocations: page.map(([userId, before]) => ({ userId, before: new Date(before * 1000).toISOString() })),
      cursor: all.length > limit && last !== undefined ? await sealCursor(last, listing, adminToken) : null,
    });
  });
  app.all(`${appPath}/revocations`, notAllowed);

  // Decision counts by outcome, reason and detail, from the app's AppMetrics object.
  app.get(`${appPath}/stats`, async function appStats(c) {
    const appId = appIdOf(c.req.url);
    const window = parseStatsQuery(new URLSearchParams(rawTarget(c.req.url).query));
    await existing(appId);
    if (c.env.METRICS === undefined) {
      throw new GatewayError("CONFIG_UNAVAILABLE", { status: "Metrics are not configured (no METRICS binding)" });
    }
    const namespace = c.env.METRICS as DurableObjectNamespace<AppMetrics>;
    let stats: Stats;
    try {
      stats = await namespace.get(namespace.idFromName(appId)).stats(window, deps.now());
    } catch {
      throw new GatewayError("CONFIG_UNAVAILABLE", { status: "Metrics unavailable" });
    }
    return jsonResponse({ appId, ...stats });
  });
  app.all(`${appPath}/stats`, notAllowed);

  // The OpenAPI 3.1 document of these routes, built from their schemas into the console's assets
  // (scripts/lib/openapi.ts), served with this deployment's prefix as its server.
  app.get(`${prefix}/openapi.json`, async function openApi(c) {
    const file = await c.env.ASSETS?.fetch(new URL("/openapi.json", c.req.url));
    if (file === undefined || !file.ok) throw new GatewayError("NOT_FOUND");
    const document = (await file.json()) as Record<string, unknown>;
    return jsonResponse({ ...document, servers: [{ url: prefix }] });
  });
  app.all(`${prefix}/openapi.json`, notAllowed);

  // Every other path under the prefix ends here: it must never fall through to the SDK routes.
  app.all(prefix, notFound);
  app.all(`${prefix}/*`, notFound);
}
