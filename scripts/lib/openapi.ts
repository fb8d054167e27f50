/**
 * The OpenAPI 3.1 document of the admin API, generated from the valibot schemas that validate its
 * requests (`src/apps/schema.ts`, `src/admin/schema.ts`) with `@valibot/to-json-schema`, so the
 * document and the validation cannot say two things. Answers are described by schemas written
 * here (the API builds them; it does not validate them). `npm run build:console` writes it into
 * the console's static assets, where the Worker serves it at `{ADMIN_PREFIX}/openapi.json`; a test
 * checks the document and that every admin route is in it.
 */

import { toJsonSchemaDefs } from "@valibot/to-json-schema";
import * as v from "valibot";
import { REVOCATION_REQUEST, VERIFY_REQUEST } from "../../src/admin/schema.ts";
import { KEY_SCHEMA, WRITABLE_RECORD } from "../../src/apps/schema.ts";
import { ERROR_CATALOGUE, REFUSAL_DETAILS } from "../../src/errors.ts";

const FIELD_ERROR = v.object({ path: v.string(), message: v.string() });

const KEY_VIEW = v.object({
  kid: v.nullable(v.string()),
  alg: v.string(),
  notBefore: v.optional(v.string()),
  notAfter: v.optional(v.string()),
  fingerprint: v.nullable(v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{16}$/))),
});

const JWKS_KEY = v.object({ kid: v.string(), alg: v.string(), fingerprint: v.string() });

/** The keys this isolate holds from an app's `jwksUri` (src/apps/view.ts `JwksView`). */
const JWKS_VIEW = v.union([
  v.object({
    keys: v.array(JWKS_KEY),
    fetchedAt: v.string(),
    expiresAt: v.string(),
    stale: v.boolean(),
    skipped: v.record(v.string(), v.number()),
  }),
  v.object({ error: v.literal("unavailable") }),
]);

/** What every answer about one app holds: the record without its secret. */
const APP_VIEW = v.object({
  appId: v.string(),
  jwtEnabled: v.boolean(),
  enforcement: v.nullable(v.picklist(["off", "report", "enforce"])),
  secretEncoding: v.picklist(["base64", "utf8"]),
  secretFingerprint: v.nullable(v.string()),
  clockToleranceSeconds: v.number(),
  issuer: v.optional(v.union([v.string(), v.array(v.string())])),
  audience: v.optional(v.union([v.string(), v.array(v.string())])),
  requireExp: v.optional(v.boolean()),
  maxTokenLifetimeSeconds: v.optional(v.number()),
  tokensNotBefore: v.optional(v.string()),
  appIdClaim: v.optional(v.nullable(v.string())),
  userClaims: v.optional(v.array(v.string())),
  requestBindings: v.optional(v.record(v.string(), v.string())),
  keys: v.optional(v.array(KEY_VIEW)),
  jwksUri: v.optional(v.string()),
  jwks: v.optional(JWKS_VIEW),
  createdAt: v.nullable(v.string()),
  updatedAt: v.nullable(v.string()),
  warnings: v.optional(v.array(FIELD_ERROR)),
  problems: v.optional(v.array(FIELD_ERROR)),
});

const APP_PAGE = v.object({ apps: v.array(APP_VIEW), cursor: v.nullable(v.string()) });

/** Every answer the gateway makes itself on failure (CONTRACT section 6). */
const ERROR_BODY = v.object({
  code: v.picklist([...new Set(Object.values(ERROR_CATALOGUE).map((entry) => entry.code))]),
  status: v.string(),
  reason: v.optional(v.string()),
  serverTime: v.optional(v.number()),
  errors: v.optional(v.array(FIELD_ERROR)),
});

/** The token debugger's answer (src/admin/debugger.ts). */
const VERDICT = v.object({
  appId: v.string(),
  enforcement: v.nullable(v.picklist(["off", "report", "enforce"])),
  verdict: v.picklist(["allowed", "refused", "unchecked"]),
  httpStatus: v.number(),
  forwarded: v.boolean(),
  code: v.optional(v.string()),
  reason: v.optional(v.string()),
  detail: v.optional(v.picklist(Object.keys(REFUSAL_DETAILS))),
  cause: v.optional(v.string()),
  why: v.optional(v.picklist(["enforcement_off", "preflight"])),
  headers: v.optional(v.record(v.string(), v.string())),
  token: v.object({
    header: v.nullable(v.record(v.string(), v.unknown())),
    claims: v.nullable(v.record(v.string(), v.unknown())),
    key: v.nullable(v.object({ kid: v.nullable(v.string()), alg: v.string(), fingerprint: v.nullable(v.string()) })),
  }),
  time: v.object({
    serverTime: v.number(),
    clockToleranceSeconds: v.number(),
    exp: v.nullable(v.number()),
    nbf: v.nullable(v.number()),
    iat: v.nullable(v.number()),
    expiresInSeconds: v.nullable(v.number()),
  }),
});

const COUNTS = v.object({
  allowed: v.number(),
  refused: v.number(),
  reported: v.number(),
  unchecked: v.number(),
  throttled: v.number(),
});

/** `GET …/stats` (src/metrics/counts.ts `Stats`). */
const STATS = v.object({
  appId: v.string(),
  window: v.picklist(["1h", "24h", "7d"]),
  from: v.string(),
  to: v.string(),
  totals: COUNTS,
  byReason: v.record(v.string(), v.number()),
  byDetail: v.record(v.string(), v.number()),
  series: v.array(v.object({ t: v.string(), ...COUNTS.entries, reasons: v.record(v.string(), v.number()) })),
});

const SCHEMAS = {
  AppRecord: WRITABLE_RECORD,
  Key: KEY_SCHEMA,
  VerifyRequest: VERIFY_REQUEST,
  AppView: APP_VIEW,
  AppPage: APP_PAGE,
  Error: ERROR_BODY,
  Verdict: VERDICT,
  Stats: STATS,
  RevocationRequest: REVOCATION_REQUEST,
  Revocation: v.object({ appId: v.string(), userId: v.string(), before: v.string() }),
  RevocationPage: v.object({
    revocations: v.array(v.object({ userId: v.string(), before: v.string() })),
    cursor: v.nullable(v.string()),
  }),
  JwksRefresh: v.object({
    appId: v.string(),
    jwksUri: v.string(),
    refreshed: v.boolean(),
    keys: v.array(JWKS_KEY),
    fetchedAt: v.string(),
    expiresAt: v.string(),
    stale: v.boolean(),
    skipped: v.record(v.string(), v.number()),
  }),
};

type SchemaName = keyof typeof SCHEMAS;

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: SchemaName) => ({ "application/json": { schema: ref(name) } });

/** An error answer, described once per status. */
function failure(description: string) {
  return { description, content: json("Error") };
}

const APP_ID = {
  name: "appId",
  in: "path",
  required: true,
  schema: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$" },
};

const COMMON = {
  "400": failure("BAD_REQUEST: the request breaks a rule; `errors` names each field"),
  "401": failure("UNAUTHORIZED: the admin credential is missing or wrong"),
  "503": failure("ADMIN_DISABLED (no ADMIN_TOKEN) or CONFIG_UNAVAILABLE (KV failed)"),
};

/** The admin routes: path (under the prefix) → method → operation. */
export const ADMIN_OPERATIONS = {
  "/apps": {
    get: {
      operationId: "listApps",
      summary: "One page of apps, by appId",
      parameters: [
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } },
        { name: "cursor", in: "query", schema: { type: "string" }, description: "the `cursor` of the page before" },
        { name: "prefix", in: "query", schema: { type: "string" }, description: "only appIds that start with this" },
      ],
      responses: { "200": { description: "a page of views", content: json("AppPage") }, ...COMMON },
    },
  },
  "/apps/{appId}": {
    parameters: [APP_ID],
    get: {
      operationId: "getApp",
      summary: "One app's view (with `problems` when the stored record breaks the rules)",
      responses: {
        "200": { description: "the view", content: json("AppView") },
        "404": failure("APP_NOT_FOUND"),
        ...COMMON,
      },
    },
    put: {
      operationId: "putApp",
      summary: "Create or replace an app's record",
      requestBody: { required: true, content: json("AppRecord") },
      responses: {
        "200": { description: "replaced: the view", content: json("AppView") },
        "201": { description: "created: the view", content: json("AppView") },
        "409": failure("CONFLICT: one key given twice"),
        ...COMMON,
      },
    },
    patch: {
      operationId: "patchApp",
      summary: "Change some fields; the merged record is validated",
      requestBody: { required: true, content: json("AppRecord") },
      responses: {
        "200": { description: "the view", content: json("AppView") },
        "404": failure("APP_NOT_FOUND"),
        ...COMMON,
      },
    },
    delete: {
      operationId: "deleteApp",
      summary: "Delete an app",
      responses: { "204": { description: "deleted" }, "404": failure("APP_NOT_FOUND"), ...COMMON },
    },
  },
  "/apps/{appId}/keys": {
    parameters: [APP_ID],
    post: {
      operationId: "addKey",
      summary: "Add one key (at most 3 in all, the v1 secret counted)",
      requestBody: { required: true, content: json("Key") },
      responses: {
        "201": { description: "the view", content: json("AppView") },
        "404": failure("APP_NOT_FOUND"),
        "409": failure("CONFLICT: 3 keys already, a kid the app has, or a key the app has"),
        ...COMMON,
      },
    },
  },
  "/apps/{appId}/keys/{kid}": {
    parameters: [
      APP_ID,
      {
        name: "kid",
        in: "path",
        required: true,
        schema: { type: "string" },
        description: "the key's kid (percent-encoded), or the fingerprint of a key without one",
      },
    ],
    delete: {
      operationId: "removeKey",
      summary: "Remove one key",
      responses: {
        "200": { description: "the view", content: json("AppView") },
        "404": failure("APP_NOT_FOUND or KEY_NOT_FOUND"),
        "409": failure("CONFLICT: the last key of an app that checks tokens"),
        ...COMMON,
      },
    },
  },
  "/apps/{appId}/verify": {
    parameters: [APP_ID],
    post: {
      operationId: "verifyToken",
      summary: "The token debugger: the gateway's verdict for a token (never forwarded, never logged)",
      requestBody: { required: true, content: json("VerifyRequest") },
      responses: {
        "200": { description: "the verdict", content: json("Verdict") },
        "404": failure("APP_NOT_FOUND"),
        ...COMMON,
      },
    },
  },
  "/apps/{appId}/jwks/refresh": {
    parameters: [APP_ID],
    post: {
      operationId: "refreshJwks",
      summary: "Fetch the app's JWKS from its provider now; answers the kids loaded",
      responses: {
        "200": {
          description: "the set held now (`refreshed: false` when the fetch failed and the held set stands)",
          content: {
            "application/json": {
              schema: { $ref: "#/components/schemas/JwksRefresh" },
            },
          },
        },
        "404": failure("APP_NOT_FOUND"),
        "409": failure("CONFLICT: the app has no jwksUri"),
        ...COMMON,
      },
    },
  },
  "/apps/{appId}/revocations": {
    parameters: [APP_ID],
    get: {
      operationId: "listRevocations",
      summary: "The app's revoked users, by user id, in pages",
      parameters: [
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } },
        { name: "cursor", in: "query", schema: { type: "string" }, description: "the `cursor` of the page before" },
        { name: "prefix", in: "query", schema: { type: "string" }, description: "only user ids that start with this" },
      ],
      responses: {
        "200": { description: "a page of revocations", content: json("RevocationPage") },
        "404": failure("APP_NOT_FOUND"),
        ...COMMON,
      },
    },
  },
  "/apps/{appId}/revocations/{userId}": {
    parameters: [
      APP_ID,
      { name: "userId", in: "path", required: true, schema: { type: "string" }, description: "percent-encoded" },
    ],
    put: {
      operationId: "revokeUser",
      summary: "Refuse the user's tokens issued before `before` (default now); at most 10,000 users an app",
      requestBody: { required: false, content: json("RevocationRequest") },
      responses: {
        "200": { description: "replaced", content: json("Revocation") },
        "201": { description: "revoked", content: json("Revocation") },
        "404": failure("APP_NOT_FOUND"),
        "409": failure("CONFLICT: 10,000 revoked users already"),
        ...COMMON,
      },
    },
    delete: {
      operationId: "liftRevocation",
      summary: "Lift a user's revocation",
      responses: { "204": { description: "lifted" }, "404": failure("APP_NOT_FOUND or NOT_FOUND"), ...COMMON },
    },
  },
  "/apps/{appId}/stats": {
    parameters: [APP_ID],
    get: {
      operationId: "appStats",
      summary: "Decision counts by outcome, reason and detail (exact within 10 s; docs/metrics.md)",
      parameters: [{ name: "window", in: "query", schema: { enum: ["1h", "24h", "7d"], default: "1h" } }],
      responses: {
        "200": { description: "the counts", content: json("Stats") },
        "404": failure("APP_NOT_FOUND"),
        ...COMMON,
      },
    },
  },
  "/openapi.json": {
    get: {
      operationId: "openApi",
      summary: "This document",
      responses: {
        "200": { description: "OpenAPI 3.1", content: { "application/json": { schema: { type: "object" } } } },
        ...COMMON,
      },
    },
  },
} as const;

/**
 * The schemas as JSON Schema 2020-12 (what OpenAPI 3.1 uses), their references pointed at
 * `components/schemas`. Rules a JSON Schema cannot say (a key's bytes, a calendar date, a check
 * across fields) are left to the API's `400`s; a `custom` object schema (a JWK) is an object.
 */
function componentSchemas(): Record<string, unknown> {
  const schemas = toJsonSchemaDefs(SCHEMAS, {
    target: "draft-2020-12",
    errorMode: "ignore",
    overrideSchema: ({ valibotSchema }) => (valibotSchema.type === "custom" ? { type: "object" } : undefined),
  });
  return JSON.parse(JSON.stringify(schemas).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<
    string,
    unknown
  >;
}

/**
 * The document, with `prefix` as its server's path: `/admin`, the default `ADMIN_PREFIX` (the
 * Worker serves it with its own).
 */
export function openApiDocument(prefix = "/admin"): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "edge-authenticator admin API",
      version: "1",
      description:
        "App records, keys and the token debugger of the edge-authenticator gateway. Every operation needs " +
        "`Authorization: Bearer {ADMIN_TOKEN}`; answers carry `Cache-Control: no-store`.",
    },
    servers: [{ url: prefix }],
    security: [{ adminToken: [] }],
    paths: ADMIN_OPERATIONS,
    components: {
      securitySchemes: { adminToken: { type: "http", scheme: "bearer", description: "the ADMIN_TOKEN Worker secret" } },
      schemas: componentSchemas(),
    },
  };
}
