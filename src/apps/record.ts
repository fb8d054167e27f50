/**
 * The app record stored in KV (CONTRACT section 2; the schema is written down in
 * docs/storage.md). One schema and one set of rules serve both sides: the admin API refuses a
 * record that breaks them with `400` and a path per field, and the gateway treats a stored
 * record that breaks them as a configuration fault (`503`) rather than guess what it meant.
 */

import * as v from "valibot";
import { deriveKeyBytes, type SecretEncoding, SecretError } from "./secret.ts";

/** KV key prefix of app records: `app:{appId}`. Stable: changing it orphans every record. */
export const APP_KEY_PREFIX = "app:";

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;
export const DEFAULT_SECRET_ENCODING: SecretEncoding = "base64";

/** Longest token lifetime a record may allow (`maxTokenLifetimeSeconds`): one year. */
export const MAX_TOKEN_LIFETIME_SECONDS = 31_536_000;
/** `issuer` and `audience`: at most this many values of at most this many characters. */
export const MAX_POLICY_VALUES = 3;
export const MAX_POLICY_VALUE_CHARS = 128;

/** `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`: CONTRACT section 1. */
export const APP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function appKey(appId: string): string {
  return `${APP_KEY_PREFIX}${appId}`;
}

const POLICY_VALUE = v.pipe(
  v.string("must be a string or a list of strings"),
  v.minLength(1, "must not be empty"),
  v.maxLength(MAX_POLICY_VALUE_CHARS, `must be at most ${MAX_POLICY_VALUE_CHARS} characters`),
  v.check((value) => value.isWellFormed() && !/\p{Cc}/u.test(value), "must be text without control characters"),
);

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
  v.string("must be a claim name"),
  v.minLength(1, "must not be empty"),
  v.maxLength(128, "must be at most 128 characters"),
  v.check(
    (value) => value.isWellFormed() && !/\p{Cc}/u.test(value) && !RESERVED_NAMES.has(value),
    "must be a claim name without control characters",
  ),
);

/** A request field name: letters, digits, `_`, `.`, `-`; no brackets, no spaces. */
const FIELD_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The request fields bound by default, and their claims: CONTRACT section 3, step 10. */
export const DEFAULT_REQUEST_BINDINGS: Readonly<Record<string, string>> = Object.freeze({
  userId: "userId",
  appUserId: "appUserId",
  customerId: "customerId",
});
export const DEFAULT_USER_CLAIMS: readonly string[] = Object.freeze(["userId", "appUserId", "customerId"]);
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

/** The fields an operator writes (CONTRACT section 2, and the token policy of issue 6). */
export const WRITABLE_FIELDS = {
  jwtEnabled: v.boolean("must be a boolean"),
  enforcement: v.picklist(["off", "report", "enforce"], 'must be "off", "report" or "enforce"'),
  secret: v.string("must be a string"),
  secretEncoding: v.picklist(["base64", "utf8"], 'must be "base64" or "utf8"'),
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
    v.custom<object>(
      (value) => typeof value === "object" && value !== null && !Array.isArray(value),
      "must map request field names to claim names",
    ),
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
  tokensNotBefore: v.pipe(
    v.string("must be an ISO 8601 date and time"),
    v.check(
      (value) => ISO_INSTANT.test(value) && isCalendarDate(value) && Number.isFinite(Date.parse(value)),
      "must be an ISO 8601 date and time with a time zone, e.g. 2026-11-22T10:00:00Z",
    ),
  ),
};

/** The optional token-policy fields, as the stored record and both admin bodies take them. */
export const POLICY_FIELDS = {
  issuer: v.optional(WRITABLE_FIELDS.issuer),
  audience: v.optional(WRITABLE_FIELDS.audience),
  requireExp: v.optional(WRITABLE_FIELDS.requireExp),
  maxTokenLifetimeSeconds: v.optional(WRITABLE_FIELDS.maxTokenLifetimeSeconds),
  tokensNotBefore: v.optional(WRITABLE_FIELDS.tokensNotBefore),
  appIdClaim: v.optional(WRITABLE_FIELDS.appIdClaim),
  userClaims: v.optional(WRITABLE_FIELDS.userClaims),
  requestBindings: v.optional(WRITABLE_FIELDS.requestBindings),
};

const StoredRecordSchema = v.strictObject({
  jwtEnabled: v.optional(WRITABLE_FIELDS.jwtEnabled),
  enforcement: v.optional(WRITABLE_FIELDS.enforcement),
  secret: v.optional(WRITABLE_FIELDS.secret),
  secretEncoding: v.optional(WRITABLE_FIELDS.secretEncoding),
  clockToleranceSeconds: v.optional(WRITABLE_FIELDS.clockToleranceSeconds),
  ...POLICY_FIELDS,
  createdAt: v.optional(v.string()),
  updatedAt: v.optional(v.string()),
});

/** An app record as stored. */
export type AppRecord = v.InferOutput<typeof StoredRecordSchema>;

/** A rule a record breaks: the field and a message that never quotes the secret. */
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
  if (path === "") return "must be a JSON object of writable fields";
  return issue.expected === "never" ? "is not a writable field" : "is required";
}

/**
 * What a token must also satisfy, beyond the v1 rules. Every field's default (`null`, `false`)
 * leaves v1 behaviour unchanged.
 */
export interface TokenPolicy {
  /** `iss` must be one of these. */
  readonly issuers: readonly string[] | null;
  /** `aud` (a string or a list) must hold one of these. */
  readonly audiences: readonly string[] | null;
  readonly requireExp: boolean;
  /** `exp − iat` at most this; both then required. */
  readonly maxTokenLifetimeSeconds: number | null;
  /** Unix seconds: a token issued before this (or without `iat`) is refused. */
  readonly tokensNotBefore: number | null;
  /** The claim that must equal the path's appId; `null`: none (`iss`/`aud` bind the token). */
  readonly appIdClaim: string | null;
  /** The claims that name the user, in the order `X-Auth-User-Id` prefers them. */
  readonly userClaims: readonly string[];
  /** Request field → the claim it must equal. */
  readonly requestBindings: Readonly<Record<string, string>>;
}

export const V1_POLICY: TokenPolicy = {
  issuers: null,
  audiences: null,
  requireExp: false,
  maxTokenLifetimeSeconds: null,
  tokensNotBefore: null,
  appIdClaim: "appId",
  userClaims: DEFAULT_USER_CLAIMS,
  requestBindings: DEFAULT_REQUEST_BINDINGS,
};

function listOf(value: string | readonly string[] | undefined): readonly string[] | null {
  if (value === undefined) return null;
  return typeof value === "string" ? [value] : value;
}

/** The policy a record sets; the v1 policy (the same object) when it sets none. */
export function tokenPolicy(record: AppRecord): TokenPolicy {
  const { issuer, audience, requireExp, maxTokenLifetimeSeconds, tokensNotBefore } = record;
  const { appIdClaim, userClaims, requestBindings } = record;
  if (
    issuer === undefined &&
    audience === undefined &&
    !requireExp &&
    maxTokenLifetimeSeconds === undefined &&
    tokensNotBefore === undefined &&
    appIdClaim === undefined &&
    userClaims === undefined &&
    requestBindings === undefined
  ) {
    return V1_POLICY;
  }
  return {
    issuers: listOf(issuer),
    audiences: listOf(audience),
    requireExp: requireExp ?? false,
    maxTokenLifetimeSeconds: maxTokenLifetimeSeconds ?? null,
    tokensNotBefore: tokensNotBefore === undefined ? null : Date.parse(tokensNotBefore) / 1000,
    appIdClaim: appIdClaim === undefined ? V1_POLICY.appIdClaim : appIdClaim,
    userClaims: userClaims ?? DEFAULT_USER_CLAIMS,
    requestBindings: requestBindings ?? DEFAULT_REQUEST_BINDINGS,
  };
}

/** `off`: no token check; `report`: check fully, forward either way; `enforce`: v1's `jwtEnabled: true`. */
export type Enforcement = "off" | "report" | "enforce";

/**
 * The record's mode: `enforcement` when set, else `jwtEnabled` (`true` → `enforce`, `false` →
 * `off`). `undefined` when the record has neither, or the two disagree.
 */
export function enforcementOf(record: Pick<AppRecord, "jwtEnabled" | "enforcement">): Enforcement | undefined {
  const { jwtEnabled, enforcement } = record;
  if (enforcement === undefined) return jwtEnabled === undefined ? undefined : jwtEnabled ? "enforce" : "off";
  if (jwtEnabled !== undefined && jwtEnabled !== (enforcement !== "off")) return undefined;
  return enforcement;
}

/** An app record checked and ready for the gateway: the key bytes are derived once. */
export interface CheckedAppRecord {
  /** True unless `enforcement` is `off`: a token is checked (and in `report` mode, only reported). */
  readonly jwtEnabled: boolean;
  readonly enforcement: Enforcement;
  /** The HMAC key, or `null` when the record has no secret (only when JWT is off). */
  readonly keyBytes: Uint8Array | null;
  readonly secretEncoding: SecretEncoding;
  readonly clockToleranceSeconds: number;
  readonly policy: TokenPolicy;
}

/**
 * The rules across fields: a secret is required while JWT is enforced, and a secret present must
 * give a valid key under its encoding. Returns the checked record, or the errors.
 */
export function checkRecord(record: AppRecord): { record: CheckedAppRecord } | { errors: FieldError[] } {
  const secretEncoding = record.secretEncoding ?? DEFAULT_SECRET_ENCODING;
  const enforcement = enforcementOf(record);
  if (enforcement === undefined) {
    return record.jwtEnabled === undefined && record.enforcement === undefined
      ? { errors: [{ path: "jwtEnabled", message: "is required" }] }
      : {
          errors: [
            { path: "enforcement", message: "contradicts jwtEnabled (off is false, report and enforce are true)" },
          ],
        };
  }
  if (record.appIdClaim === null && record.issuer === undefined && record.audience === undefined) {
    return {
      errors: [
        { path: "appIdClaim", message: "may be null only with an issuer or an audience to bind tokens to the app" },
      ],
    };
  }
  if (enforcement !== "off" && record.secret === undefined) {
    const message =
      record.enforcement === undefined
        ? "is required when jwtEnabled is true"
        : "is required when enforcement is report or enforce";
    return { errors: [{ path: "secret", message }] };
  }
  let keyBytes: Uint8Array | null = null;
  if (record.secret !== undefined) {
    try {
      keyBytes = deriveKeyBytes(record.secret, secretEncoding);
    } catch (error) {
      if (error instanceof SecretError) return { errors: [{ path: "secret", message: error.message }] };
      throw error;
    }
  }
  return {
    record: {
      jwtEnabled: enforcement !== "off",
      enforcement,
      keyBytes,
      secretEncoding,
      clockToleranceSeconds: record.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
      policy: tokenPolicy(record),
    },
  };
}

export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RecordError";
  }
}

/** Parses a stored record's JSON text without checking the cross-field rules. */
export function parseRecordText(text: string): AppRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RecordError("stored record is not JSON");
  }
  const result = v.safeParse(StoredRecordSchema, json);
  if (!result.success) {
    const [first] = fieldErrors(result.issues);
    throw new RecordError(`stored record field ${first?.path || "(record)"} ${first?.message ?? "is invalid"}`);
  }
  return result.output;
}

/**
 * Parses and checks a stored record's JSON text. Throws `RecordError` (naming the broken rule,
 * never the secret) when the text is not JSON, has unknown or mistyped fields, lacks a secret
 * while JWT is enforced, or holds a secret that breaks section 2's rules.
 */
export function parseStoredRecord(text: string): CheckedAppRecord {
  const checked = checkRecord(parseRecordText(text));
  if ("errors" in checked) {
    const [first] = checked.errors;
    throw new RecordError(`stored record field ${first?.path} ${first?.message}`);
  }
  return checked.record;
}

/** `sha256:` and the first 16 hex digits of SHA-256 over the key bytes (CONTRACT section 5). */
export async function secretFingerprint(keyBytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", keyBytes));
  let hex = "";
  for (const byte of digest.subarray(0, 8)) hex += byte.toString(16).padStart(2, "0");
  return `sha256:${hex}`;
}
