/**
 * The app record's schema (CONTRACT section 2; written down in docs/storage.md), with valibot:
 * one definition of the writable fields, which the admin API's PUT and PATCH bodies take and the
 * stored record extends with its timestamps. Cross-field rules are in `checks.ts`.
 */

import * as v from "valibot";
import { HMAC_ALGORITHMS, PUBLIC_KEY_ALGORITHMS } from "../token/algorithms.ts";
import type { SecretEncoding } from "./secret.ts";

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;
export const DEFAULT_SECRET_ENCODING: SecretEncoding = "base64";

/** Longest token lifetime a record may allow (`maxTokenLifetimeSeconds`): one year. */
export const MAX_TOKEN_LIFETIME_SECONDS = 31_536_000;
/** `issuer` and `audience`: at most this many values. */
export const MAX_POLICY_VALUES = 3;
/** Issuer and audience values, claim names and kids: at most this many characters. */
export const MAX_TEXT_CHARS = 128;

/** 1–128 characters of well-formed text without control characters: names and values an operator writes. */
function shortText(typeMessage: string) {
  return v.pipe(
    v.string(typeMessage),
    v.minLength(1, "must not be empty"),
    v.maxLength(MAX_TEXT_CHARS, `must be at most ${MAX_TEXT_CHARS} characters`),
    v.check((value) => value.isWellFormed() && !/\p{Cc}/u.test(value), "must be text without control characters"),
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const POLICY_VALUE = shortText("must be a string or a list of strings");

/** One value, or a list of 1 to 3 distinct values, any of which the token's claim may match. */
const POLICY_VALUES = v.union(
  [
    POLICY_VALUE,
    v.pipe(
      v.array(POLICY_VALUE, "must be a string or a list of strings"),
      v.minLength(1, "must list at least one value"),
      v.maxLength(MAX_POLICY_VALUES, `must list at most ${MAX_POLICY_VALUES} values`),
      v.check((values) => new Set(values).size === values.length, "must not list a value twice"),
    ),
  ],
  "must be a string or a list of 1 to 3 strings",
);

/** Names JavaScript gives a meaning on every object; neither a claim nor a field may be one. */
const RESERVED_NAMES = new Set(["__proto__", "constructor", "prototype"]);

/** A claim name: any text a JWT may use (`sub`, `https://example.com/tenant`), 1–128 characters. */
const CLAIM_NAME = v.pipe(
  shortText("must be a claim name"),
  v.check((value) => !RESERVED_NAMES.has(value), "must not be __proto__, constructor or prototype"),
);

/** A request field name: letters, digits, `_`, `.`, `-`; no brackets, no spaces. */
const FIELD_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export const MAX_USER_CLAIMS = 5;
export const MAX_REQUEST_BINDINGS = 5;

/** ISO 8601 with a time zone (`2026-11-22T10:00:00Z`), so that every isolate reads one instant. */
const ISO_INSTANT =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** `Date.parse` rolls `2026-02-31` over into March; a policy date must exist as written. */
function isCalendarDate(value: string): boolean {
  const [year, month, day] = value.slice(0, 10).split("-").map(Number) as [number, number, number];
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export const DATE_TIME = v.pipe(
  v.string("must be an ISO 8601 date and time"),
  v.check(
    (value) => ISO_INSTANT.test(value) && isCalendarDate(value) && Number.isFinite(Date.parse(value)),
    "must be an ISO 8601 date and time with a time zone, e.g. 2026-11-22T10:00:00Z",
  ),
);

/** A provider's JWKS URL: long enough for any, short enough to log the host of. */
export const MAX_JWKS_URI_CHARS = 2048;

/**
 * Whether `uri` has the form of a JWKS URL: absolute http(s), no credentials, no fragment. Whether
 * plain http is allowed depends on the deployment (`jwksUriProblem`).
 */
export const JWKS_URI_FORM_MESSAGE = "must be an absolute https URL without credentials";

export function isJwksUriForm(uri: string): boolean {
  try {
    const url = new URL(uri);
    return (url.protocol === "https:" || url.protocol === "http:") && !url.username && !url.password && !url.hash;
  } catch {
    return false;
  }
}

/** An app verifies with at most this many keys, its v1 `secret` counted: one per rotation step. */
export const MAX_KEYS = 3;
/** A 4096-bit RSA key is about 800 characters of PEM; this leaves room and refuses anything else. */
export const MAX_PUBLIC_KEY_CHARS = 8192;

const KID = shortText("must be a string");

const SECRET_ENCODING = v.picklist(["base64", "utf8"], 'must be "base64" or "utf8"');

const KEY_WINDOW = { notBefore: v.optional(DATE_TIME), notAfter: v.optional(DATE_TIME) };

/** An HMAC key: `{kid?, alg, secret, secretEncoding?, notBefore?, notAfter?}`. */
const HMAC_KEY = v.strictObject(
  {
    kid: v.optional(KID),
    alg: v.picklist(HMAC_ALGORITHMS),
    secret: v.string("must be a string"),
    secretEncoding: v.optional(SECRET_ENCODING),
    ...KEY_WINDOW,
  },
  "must be a key object",
);

/** A public key: `{kid?, alg, publicKey, notBefore?, notAfter?}`, the key as PEM SPKI or a JWK. */
const PUBLIC_KEY = v.strictObject(
  {
    kid: v.optional(KID),
    alg: v.picklist(PUBLIC_KEY_ALGORITHMS),
    publicKey: v.union(
      [v.pipe(v.string(), v.maxLength(MAX_PUBLIC_KEY_CHARS)), v.custom<Record<string, unknown>>(isPlainObject)],
      `must be a PEM SPKI public key (at most ${MAX_PUBLIC_KEY_CHARS} characters) or a public JWK object`,
    ),
    ...KEY_WINDOW,
  },
  "must be a key object",
);

const KEY = v.variant(
  "alg",
  [HMAC_KEY, PUBLIC_KEY],
  `alg must be one of ${[...HMAC_ALGORITHMS, ...PUBLIC_KEY_ALGORITHMS].join(", ")}`,
);

/** The fields an operator writes (CONTRACT section 2, and the token policy). */
export const WRITABLE_FIELDS = {
  jwtEnabled: v.boolean("must be a boolean"),
  enforcement: v.picklist(["off", "report", "enforce"], 'must be "off", "report" or "enforce"'),
  secret: v.string("must be a string"),
  secretEncoding: SECRET_ENCODING,
  clockToleranceSeconds: v.pipe(
    v.number("must be a number"),
    v.integer("must be a whole number"),
    v.minValue(0, `must be from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS}`),
    v.maxValue(MAX_CLOCK_TOLERANCE_SECONDS, `must be from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS}`),
  ),
  issuer: POLICY_VALUES,
  audience: POLICY_VALUES,
  requireExp: v.boolean("must be a boolean"),
  maxTokenLifetimeSeconds: v.pipe(
    v.number("must be a number"),
    v.integer("must be a whole number"),
    v.minValue(1, `must be from 1 to ${MAX_TOKEN_LIFETIME_SECONDS}`),
    v.maxValue(MAX_TOKEN_LIFETIME_SECONDS, `must be from 1 to ${MAX_TOKEN_LIFETIME_SECONDS}`),
  ),
  appIdClaim: v.nullable(CLAIM_NAME),
  userClaims: v.pipe(
    v.array(CLAIM_NAME, "must be a list of claim names"),
    v.minLength(1, "must list at least one claim"),
    v.maxLength(MAX_USER_CLAIMS, `must list at most ${MAX_USER_CLAIMS} claims`),
    v.check((names) => new Set(names).size === names.length, "must not list a claim twice"),
  ),
  requestBindings: v.pipe(
    // valibot's record takes an array for an object (and outputs `{}`): refuse it first.
    v.custom<object>(isPlainObject, "must map request field names to claim names"),
    v.record(
      v.pipe(
        v.string(),
        v.check(
          (name) => FIELD_NAME.test(name) && !RESERVED_NAMES.has(name),
          "must be a field name of A-Z a-z 0-9 _ . -",
        ),
      ),
      CLAIM_NAME,
      "must map request field names to claim names",
    ),
    v.check(
      (map) => Object.keys(map).length <= MAX_REQUEST_BINDINGS,
      `must bind at most ${MAX_REQUEST_BINDINGS} fields`,
    ),
    v.check(
      (map) => new Set(Object.keys(map).map((name) => name.toLowerCase())).size === Object.keys(map).length,
      "must not bind one field twice (names match in any case)",
    ),
  ),
  tokensNotBefore: DATE_TIME,
  acceptMillisecondTimestamps: v.boolean("must be a boolean"),
  requireNonce: v.boolean("must be a boolean"),
  jwksUri: v.pipe(
    v.string("must be a string"),
    v.maxLength(MAX_JWKS_URI_CHARS, `must be at most ${MAX_JWKS_URI_CHARS} characters`),
    // Whether plain http is allowed (a local provider) depends on the Worker's ALLOW_HTTP_JWKS:
    // the admin API and the fetch check that; here, the URL's form.
    v.check(isJwksUriForm, JWKS_URI_FORM_MESSAGE),
  ),
  keys: v.pipe(
    v.array(KEY, "must be a list of keys"),
    v.minLength(1, "must list at least one key"),
    v.maxLength(MAX_KEYS, `must list at most ${MAX_KEYS} keys`),
  ),
};

/** The token-policy fields (a v1 record sets none of them, and its view is v1's). */
export const POLICY_FIELD_NAMES = [
  "issuer",
  "audience",
  "requireExp",
  "maxTokenLifetimeSeconds",
  "tokensNotBefore",
  "appIdClaim",
  "userClaims",
  "requestBindings",
  "acceptMillisecondTimestamps",
  "requireNonce",
] as const satisfies readonly (keyof typeof WRITABLE_FIELDS)[];

/**
 * Every writable field, optional: what PUT and PATCH bodies take. Which fields a record needs
 * (`jwtEnabled` or `enforcement`, a key unless off) are cross-field rules (`checkRecord`).
 */
const RECORD_FIELDS = {
  jwtEnabled: v.optional(WRITABLE_FIELDS.jwtEnabled),
  enforcement: v.optional(WRITABLE_FIELDS.enforcement),
  secret: v.optional(WRITABLE_FIELDS.secret),
  secretEncoding: v.optional(WRITABLE_FIELDS.secretEncoding),
  clockToleranceSeconds: v.optional(WRITABLE_FIELDS.clockToleranceSeconds),
  keys: v.optional(WRITABLE_FIELDS.keys),
  jwksUri: v.optional(WRITABLE_FIELDS.jwksUri),
  issuer: v.optional(WRITABLE_FIELDS.issuer),
  audience: v.optional(WRITABLE_FIELDS.audience),
  requireExp: v.optional(WRITABLE_FIELDS.requireExp),
  maxTokenLifetimeSeconds: v.optional(WRITABLE_FIELDS.maxTokenLifetimeSeconds),
  tokensNotBefore: v.optional(WRITABLE_FIELDS.tokensNotBefore),
  appIdClaim: v.optional(WRITABLE_FIELDS.appIdClaim),
  userClaims: v.optional(WRITABLE_FIELDS.userClaims),
  requestBindings: v.optional(WRITABLE_FIELDS.requestBindings),
  acceptMillisecondTimestamps: v.optional(WRITABLE_FIELDS.acceptMillisecondTimestamps),
  requireNonce: v.optional(WRITABLE_FIELDS.requireNonce),
} satisfies Record<keyof typeof WRITABLE_FIELDS, v.GenericSchema>;

const OBJECT_MESSAGE = "must be a JSON object of writable fields";

/** The body of `PUT` and `PATCH {ADMIN_PREFIX}/apps/{appId}`: writable fields only. */
export const WRITABLE_RECORD = v.strictObject(RECORD_FIELDS, OBJECT_MESSAGE);
export type WritableFields = v.InferOutput<typeof WRITABLE_RECORD>;

/** At most this many revoked users an app: the list lives in its record, read on every load. */
export const MAX_REVOCATIONS = 10_000;
/** A revoked user's id: any user claim's value, as long as identifiers go. */
export const MAX_USER_ID_CHARS = 256;

/**
 * Revoked users (`…/revocations/{userId}`): user id → Unix seconds before which that user's tokens
 * are refused. Written only through its own routes, never by PUT or PATCH. Checked entry by entry
 * and kept as parsed, not rebuilt by `v.record`, which drops the keys `__proto__`, `constructor`
 * and `prototype`: any user id, those included, can be revoked. Only ever read with
 * `Object.entries`, `Object.hasOwn` and a `Map`, never indexed.
 */
const REVOCATIONS = v.pipe(
  v.custom<Record<string, number>>(
    (value) =>
      typeof value === "object" &&
      value !== null &&
      !Array.isArray(value) &&
      Object.entries(value).every(
        ([user, before]) =>
          user.length >= 1 && user.length <= MAX_USER_ID_CHARS && typeof before === "number" && Number.isFinite(before),
      ),
    `must map user ids (1 to ${MAX_USER_ID_CHARS} characters) to Unix seconds`,
  ),
  v.check((map) => Object.keys(map).length <= MAX_REVOCATIONS, `must hold at most ${MAX_REVOCATIONS} users`),
);

/** An app record as stored: the writable fields, the revoked users and the two timestamps. */
export const STORED_RECORD = v.strictObject(
  {
    ...RECORD_FIELDS,
    revocations: v.optional(REVOCATIONS),
    createdAt: v.optional(v.string("must be a string")),
    updatedAt: v.optional(v.string("must be a string")),
  },
  OBJECT_MESSAGE,
);
export type AppRecord = v.InferOutput<typeof STORED_RECORD>;

/** One key of `keys`, as written: what `POST /apps/{appId}/keys` takes. */
export const KEY_SCHEMA = KEY;
export type KeyRecord = v.InferOutput<typeof KEY>;

/** A rule a record (or a request) breaks: the field and a message that never quotes a value. */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/** Field errors from valibot issues, with dotted paths (`""` for the whole value). */
export function fieldErrors(issues: readonly v.BaseIssue<unknown>[]): FieldError[] {
  return issues.map((issue) => {
    const path = issue.path?.map((item) => String(item.key)).join(".") ?? "";
    return { path, message: issue.type === "strict_object" ? objectIssueMessage(issue, path) : issue.message };
  });
}

/** valibot reports unknown and missing keys as issues of the object; its text quotes values. */
function objectIssueMessage(issue: v.BaseIssue<unknown>, path: string): string {
  if (path === "") return OBJECT_MESSAGE;
  return issue.expected === "never" ? "is not a writable field" : "is required";
}
