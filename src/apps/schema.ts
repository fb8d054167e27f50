/**
 * The app record stored in KV (CONTRACT section 2; the schema is written down in
 * docs/storage.md). One schema and one set of rules serve both sides: the admin API refuses a
 * record that breaks them with `400` and a path per field, and the gateway treats a stored
 * record that breaks them as a configuration fault (`503`) rather than guess what it meant.
 */

import * as v from "valibot";
import { HMAC_ALGORITHMS, HMAC_MIN_KEY_BYTES, PUBLIC_KEY_ALGORITHMS } from "../token/algorithms.ts";
import type { KeyMaterial } from "../token/keys.ts";
import { deriveKeyBytes, looksLikeHex, type SecretEncoding, SecretError, UTF8_HINT } from "./secret.ts";

/** KV key prefix of app records: `app:{appId}`. Stable: changing it orphans every record. */
export const APP_KEY_PREFIX = "app:";

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;
export const DEFAULT_SECRET_ENCODING: SecretEncoding = "base64";

/** Longest token lifetime a record may allow (`maxTokenLifetimeSeconds`): one year. */
export const MAX_TOKEN_LIFETIME_SECONDS = 31_536_000;
/** `issuer` and `audience`: at most this many values. */
export const MAX_POLICY_VALUES = 3;
/** Issuer and audience values, claim names and kids: at most this many characters. */
export const MAX_TEXT_CHARS = 128;

/** `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`: CONTRACT section 1. */
export const APP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function appKey(appId: string): string {
  return `${APP_KEY_PREFIX}${appId}`;
}

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

const DATE_TIME = v.pipe(
  v.string("must be an ISO 8601 date and time"),
  v.check(
    (value) => ISO_INSTANT.test(value) && isCalendarDate(value) && Number.isFinite(Date.parse(value)),
    "must be an ISO 8601 date and time with a time zone, e.g. 2026-11-22T10:00:00Z",
  ),
);

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
  keys: v.pipe(
    v.array(KEY, "must be a list of keys"),
    v.minLength(1, "must list at least one key"),
    v.maxLength(MAX_KEYS, `must list at most ${MAX_KEYS} keys`),
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

/** One key of `keys`, as written: what `POST /apps/{appId}/keys` takes. */
export const KEY_SCHEMA = KEY;
export type KeyRecord = v.InferOutput<typeof KEY>;

const StoredRecordSchema = v.strictObject({
  jwtEnabled: v.optional(WRITABLE_FIELDS.jwtEnabled),
  enforcement: v.optional(WRITABLE_FIELDS.enforcement),
  secret: v.optional(WRITABLE_FIELDS.secret),
  secretEncoding: v.optional(WRITABLE_FIELDS.secretEncoding),
  clockToleranceSeconds: v.optional(WRITABLE_FIELDS.clockToleranceSeconds),
  keys: v.optional(WRITABLE_FIELDS.keys),
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

/** The policy a record sets; each field it leaves out keeps v1's (`V1_POLICY`). */
export function tokenPolicy(record: AppRecord): TokenPolicy {
  const { issuer, audience, requireExp, maxTokenLifetimeSeconds, tokensNotBefore } = record;
  const { appIdClaim, userClaims, requestBindings } = record;
  return {
    issuers: listOf(issuer),
    audiences: listOf(audience),
    requireExp: requireExp ?? false,
    maxTokenLifetimeSeconds: maxTokenLifetimeSeconds ?? null,
    tokensNotBefore: tokensNotBefore === undefined ? null : Date.parse(tokensNotBefore) / 1000,
    appIdClaim: appIdClaim === undefined ? V1_POLICY.appIdClaim : appIdClaim,
    userClaims: userClaims ?? V1_POLICY.userClaims,
    // The shared default object: binding compiles each bindings object once (`bindingsOf`).
    requestBindings: requestBindings ?? V1_POLICY.requestBindings,
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

/** A key of a checked record: its material, kid and window, and where the record holds it. */
export interface CheckedKey {
  /** `secret` for the v1 key, `keys.N` for the others: the path of its field errors. */
  readonly path: string;
  readonly kid: string | null;
  readonly material: KeyMaterial;
  /** Unix seconds. */
  readonly notBefore: number | null;
  readonly notAfter: number | null;
}

/** An app record checked and ready for the gateway: the key bytes are derived once. */
export interface CheckedAppRecord {
  /** True unless `enforcement` is `off`: a token is checked (and in `report` mode, only reported). */
  readonly jwtEnabled: boolean;
  readonly enforcement: Enforcement;
  /** The v1 `secret`'s HMAC key, or `null` when the record has none. */
  readonly keyBytes: Uint8Array | null;
  /** Every key the app verifies with: the v1 `secret` first (HS256, no kid), then `keys`. */
  readonly keys: readonly CheckedKey[];
  readonly secretEncoding: SecretEncoding;
  readonly clockToleranceSeconds: number;
  readonly policy: TokenPolicy;
}

type Checked<T> = { record: T } | { errors: FieldError[] };

function secondsOf(instant: string | undefined): number | null {
  return instant === undefined ? null : Date.parse(instant) / 1000;
}

/** The keys of `keys`, checked: HMAC key bytes long enough for the hash, windows in order. */
function checkKeys(keys: readonly KeyRecord[]): { keys: CheckedKey[] } | { errors: FieldError[] } {
  const checked: CheckedKey[] = [];
  const errors: FieldError[] = [];
  const kids = new Set<string>();
  keys.forEach((key, index) => {
    const path = `keys.${index}`;
    if (key.kid !== undefined) {
      if (kids.has(key.kid)) errors.push({ path: `${path}.kid`, message: "must not repeat another key's kid" });
      kids.add(key.kid);
    }
    const notBefore = secondsOf(key.notBefore);
    const notAfter = secondsOf(key.notAfter);
    if (notBefore !== null && notAfter !== null && notAfter <= notBefore) {
      errors.push({ path: `${path}.notAfter`, message: "must be after notBefore" });
    }
    let material: KeyMaterial;
    if ("secret" in key) {
      try {
        const bytes = deriveKeyBytes(
          key.secret,
          key.secretEncoding ?? DEFAULT_SECRET_ENCODING,
          HMAC_MIN_KEY_BYTES[key.alg],
        );
        material = { kind: "hmac", alg: key.alg, bytes };
      } catch (error) {
        if (!(error instanceof SecretError)) throw error;
        errors.push({ path: `${path}.secret`, message: error.message });
        return;
      }
    } else material = { kind: "public", alg: key.alg, publicKey: key.publicKey };
    checked.push({ path, kid: key.kid ?? null, material, notBefore, notAfter });
  });
  return errors.length > 0 ? { errors } : { keys: checked };
}

/**
 * The rules across fields: a key (`secret` or `keys`) is required unless the mode is `off`, at
 * most 3 keys in all, and each key must give a valid key under its rules. Public keys are
 * imported (and so fully checked) by the caller: that is asynchronous. Returns the checked
 * record, or the errors.
 */
export function checkRecord(record: AppRecord): Checked<CheckedAppRecord> {
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
  // Either `secret` (v1) or `keys` gives the app its keys; the message names v1's field.
  if (enforcement !== "off" && record.secret === undefined && record.keys === undefined) {
    const message =
      record.enforcement === undefined
        ? "is required when jwtEnabled is true (or give keys)"
        : "is required when enforcement is report or enforce (or give keys)";
    return { errors: [{ path: "secret", message }] };
  }
  const keys: CheckedKey[] = [];
  let keyBytes: Uint8Array | null = null;
  if (record.secret !== undefined) {
    try {
      keyBytes = deriveKeyBytes(record.secret, secretEncoding);
    } catch (error) {
      if (error instanceof SecretError) return { errors: [{ path: "secret", message: error.message }] };
      throw error;
    }
    keys.push({
      path: "secret",
      kid: null,
      material: { kind: "hmac", alg: "HS256", bytes: keyBytes },
      notBefore: null,
      notAfter: null,
    });
  }
  if (record.keys !== undefined) {
    if (keys.length + record.keys.length > MAX_KEYS) {
      return { errors: [{ path: "keys", message: `must list at most ${MAX_KEYS - keys.length} keys beside secret` }] };
    }
    const checked = checkKeys(record.keys);
    if ("errors" in checked) return checked;
    keys.push(...checked.keys);
  }
  return {
    record: {
      jwtEnabled: enforcement !== "off",
      enforcement,
      keyBytes,
      keys,
      secretEncoding,
      clockToleranceSeconds: record.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
      policy: tokenPolicy(record),
    },
  };
}

/**
 * What a valid record may still have wrong: an HMAC secret read as base64 that is only hex digits
 * (it decodes, but most likely to other bytes than the backend signs with). Shown beside the
 * view in a write's answer; never a refusal.
 */
export function recordWarnings(record: AppRecord): FieldError[] {
  const warnings: FieldError[] = [];
  const hexWarning = (path: string) => ({ path, message: `looks like hex but is read as base64; ${UTF8_HINT}` });
  if (record.secret !== undefined && (record.secretEncoding ?? DEFAULT_SECRET_ENCODING) === "base64") {
    if (looksLikeHex(record.secret)) warnings.push(hexWarning("secret"));
  }
  for (const [index, key] of (record.keys ?? []).entries()) {
    if ("secret" in key && (key.secretEncoding ?? DEFAULT_SECRET_ENCODING) === "base64" && looksLikeHex(key.secret)) {
      warnings.push(hexWarning(`keys.${index}.secret`));
    }
  }
  return warnings;
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
