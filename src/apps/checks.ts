/**
 * The rules of an app record beyond its schema, and reading a stored one. One set of rules
 * serves both sides: the admin API refuses a record that breaks them with `400` and a path per
 * field, a read shows them as `problems`, and the gateway treats a stored record that breaks them
 * as a configuration fault (`503`) rather than guess what it meant.
 */

import * as v from "valibot";
import { HMAC_MIN_KEY_BYTES } from "../token/algorithms.ts";
import type { KeyMaterial } from "../token/keys.ts";
import { type TokenPolicy, V1_POLICY } from "../token/policy.ts";
import {
  type AppRecord,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_SECRET_ENCODING,
  type FieldError,
  fieldErrors,
  type KeyRecord,
  MAX_KEYS,
  STORED_RECORD,
} from "./schema.ts";
import { deriveKeyBytes, looksLikeHex, UTF8_HINT } from "./secret.ts";
import type { Enforcement } from "./view-types.ts";

function listOf(value: string | readonly string[] | undefined): readonly string[] | null {
  if (value === undefined) return null;
  return typeof value === "string" ? [value] : value;
}

/** The policy a record sets; each field it leaves out keeps v1's (`V1_POLICY`). */
export function tokenPolicy(record: AppRecord): TokenPolicy {
  const { issuer, audience, requireExp, maxTokenLifetimeSeconds, tokensNotBefore } = record;
  const { appIdClaim, userClaims, requestBindings, acceptMillisecondTimestamps, requireNonce } = record;
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
    acceptMillisecondTimestamps: acceptMillisecondTimestamps ?? false,
    requireNonce: requireNonce ?? false,
  };
}

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

/** An app record checked and ready for the gateway: the HMAC key bytes are derived once. */
export interface CheckedAppRecord {
  readonly enforcement: Enforcement;
  /** Every key the app verifies with: the v1 `secret` first (HS256, no kid), then `keys`. */
  readonly keys: readonly CheckedKey[];
  /** The provider's JWKS the app also verifies with, or `null`. */
  readonly jwksUri: string | null;
  /** Revoked users: user id → Unix seconds before which their tokens are refused; `null`: none. */
  readonly revocations: ReadonlyMap<string, number> | null;
  readonly clockToleranceSeconds: number;
  readonly policy: TokenPolicy;
}

export type Checked<T> = { readonly record: T } | { readonly errors: FieldError[] };

function secondsOf(instant: string | undefined): number | null {
  return instant === undefined ? null : Date.parse(instant) / 1000;
}

/** The material of the v1 `secret` (HS256): the key bytes, or why they cannot be derived. */
export function secretMaterial(record: AppRecord): KeyMaterial | FieldError | null {
  if (record.secret === undefined) return null;
  const derived = deriveKeyBytes(record.secret, record.secretEncoding ?? DEFAULT_SECRET_ENCODING);
  if ("error" in derived) return { path: "secret", message: derived.error };
  return { kind: "hmac", alg: "HS256", bytes: derived.bytes };
}

/** The material of one key of `keys`, or why it cannot be derived (HMAC rules; public keys import later). */
export function keyMaterial(key: KeyRecord, path: string): KeyMaterial | FieldError {
  if (!("secret" in key)) return { kind: "public", alg: key.alg, publicKey: key.publicKey };
  const derived = deriveKeyBytes(
    key.secret,
    key.secretEncoding ?? DEFAULT_SECRET_ENCODING,
    HMAC_MIN_KEY_BYTES[key.alg],
  );
  if ("error" in derived) return { path: `${path}.secret`, message: derived.error };
  return { kind: "hmac", alg: key.alg, bytes: derived.bytes };
}

function isFieldError(value: KeyMaterial | FieldError): value is FieldError {
  return "path" in value;
}

/** The keys of `keys`, checked: HMAC key bytes long enough for the hash, kids distinct, windows in order. */
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
    const material = keyMaterial(key, path);
    if (isFieldError(material)) errors.push(material);
    else checked.push({ path, kid: key.kid ?? null, material, notBefore, notAfter });
  });
  return errors.length > 0 ? { errors } : { keys: checked };
}

/**
 * The rules across fields: a mode (`jwtEnabled` or `enforcement`, agreeing), `appIdClaim: null`
 * only with an issuer or audience, a key (`secret` or `keys`) unless the mode is `off`, at most
 * 3 keys in all, and each key a valid key under its rules. Public keys are imported (and so fully
 * checked) by the caller: that is asynchronous. Returns the checked record, or the errors.
 */
export function checkRecord(record: AppRecord): Checked<CheckedAppRecord> {
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
  // `secret` (v1), `keys` or `jwksUri` gives the app its keys; the message names v1's field.
  if (
    enforcement !== "off" &&
    record.secret === undefined &&
    record.keys === undefined &&
    record.jwksUri === undefined
  ) {
    const message =
      record.enforcement === undefined
        ? "is required when jwtEnabled is true (or give keys or jwksUri)"
        : "is required when enforcement is report or enforce (or give keys or jwksUri)";
    return { errors: [{ path: "secret", message }] };
  }
  const keys: CheckedKey[] = [];
  const secret = secretMaterial(record);
  if (secret !== null) {
    if (isFieldError(secret)) return { errors: [secret] };
    keys.push({ path: "secret", kid: null, material: secret, notBefore: null, notAfter: null });
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
      enforcement,
      keys,
      jwksUri: record.jwksUri ?? null,
      revocations:
        record.revocations === undefined || Object.keys(record.revocations).length === 0
          ? null
          : new Map(Object.entries(record.revocations)),
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
  // The JWKS's keys all have a kid, so a token's kid selects among them: one that names none is refused.
  if (record.jwksUri !== undefined && (record.secret !== undefined || record.keys?.some((key) => !key.kid))) {
    warnings.push({
      path: "jwksUri",
      message:
        "with a JWKS, a token's kid selects its key: tokens signed with this record's keys that have no kid must carry no kid",
    });
  }
  return warnings;
}

/**
 * A record to be written, validated in full: the schema of a stored record, then the rules
 * across fields. Returns the record and its checked form, or every field error.
 */
export function validateRecord(
  value: unknown,
): { record: AppRecord; checked: CheckedAppRecord } | { errors: FieldError[] } {
  const parsed = v.safeParse(STORED_RECORD, value, { abortEarly: false });
  if (!parsed.success) return { errors: fieldErrors(parsed.issues) };
  const checked = checkRecord(parsed.output);
  if ("errors" in checked) return checked;
  return { record: parsed.output, checked: checked.record };
}

/** A stored record as read: what it holds, and what in it breaks the rules. */
export interface StoredRecord {
  /** The stored JSON object as it is (`{}` when the text is not a JSON object), for PATCH to merge over. */
  readonly raw: Record<string, unknown>;
  /** The fields that pass the schema, each on its own: all of them for a valid record. */
  readonly record: AppRecord;
  /** The checked record; `null` when `problems` is not empty. */
  readonly checked: CheckedAppRecord | null;
  /** Every rule the stored record breaks, per field (keys that do not import are found later). */
  readonly problems: readonly FieldError[];
}

const RECORD_ENTRIES = Object.entries(STORED_RECORD.entries);

/**
 * Reads a stored record's JSON text without throwing: each field is checked on its own, so a
 * record with one bad field still shows the others (the admin API's view of a broken record);
 * then, when every field passes, the rules across fields.
 */
export function readStoredRecord(text: string): StoredRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { raw: {}, record: {}, checked: null, problems: [{ path: "", message: "is not JSON" }] };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { raw: {}, record: {}, checked: null, problems: [{ path: "", message: "is not a JSON object" }] };
  }
  const raw = json as Record<string, unknown>;
  const kept: Record<string, unknown> = {};
  const problems: FieldError[] = [];
  for (const name of Object.keys(raw)) {
    if (!Object.hasOwn(STORED_RECORD.entries, name))
      problems.push({ path: name, message: "is not a field of an app record" });
  }
  for (const [name, schema] of RECORD_ENTRIES) {
    if (!Object.hasOwn(raw, name)) continue;
    const field = v.safeParse(schema, raw[name], { abortEarly: false });
    if (field.success) kept[name] = field.output;
    else {
      for (const error of fieldErrors(field.issues)) {
        problems.push({ path: error.path === "" ? name : `${name}.${error.path}`, message: error.message });
      }
    }
  }
  const record = kept as AppRecord;
  if (problems.length > 0) return { raw, record, checked: null, problems };
  const checked = checkRecord(record);
  if ("errors" in checked) return { raw, record, checked: null, problems: checked.errors };
  return { raw, record, checked: checked.record, problems: [] };
}
