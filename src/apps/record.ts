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

/** `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`: CONTRACT section 1. */
export const APP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function appKey(appId: string): string {
  return `${APP_KEY_PREFIX}${appId}`;
}

/** The fields an operator writes (CONTRACT section 2), each with its type rule. */
export const WRITABLE_FIELDS = {
  jwtEnabled: v.boolean("must be a boolean"),
  secret: v.string("must be a string"),
  secretEncoding: v.picklist(["base64", "utf8"], 'must be "base64" or "utf8"'),
  clockToleranceSeconds: v.pipe(
    v.number("must be a number"),
    v.integer("must be a whole number"),
    v.minValue(0, `must be from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS}`),
    v.maxValue(MAX_CLOCK_TOLERANCE_SECONDS, `must be from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS}`),
  ),
};

const StoredRecordSchema = v.strictObject({
  jwtEnabled: WRITABLE_FIELDS.jwtEnabled,
  secret: v.optional(WRITABLE_FIELDS.secret),
  secretEncoding: v.optional(WRITABLE_FIELDS.secretEncoding),
  clockToleranceSeconds: v.optional(WRITABLE_FIELDS.clockToleranceSeconds),
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

/** An app record checked and ready for the gateway: the key bytes are derived once. */
export interface CheckedAppRecord {
  readonly jwtEnabled: boolean;
  /** The HMAC key, or `null` when the record has no secret (only when JWT is off). */
  readonly keyBytes: Uint8Array | null;
  readonly secretEncoding: SecretEncoding;
  readonly clockToleranceSeconds: number;
}

/**
 * The rules across fields: a secret is required while JWT is enforced, and a secret present must
 * give a valid key under its encoding. Returns the checked record, or the errors.
 */
export function checkRecord(record: AppRecord): { record: CheckedAppRecord } | { errors: FieldError[] } {
  const secretEncoding = record.secretEncoding ?? DEFAULT_SECRET_ENCODING;
  if (record.jwtEnabled && record.secret === undefined) {
    return { errors: [{ path: "secret", message: "is required when jwtEnabled is true" }] };
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
      jwtEnabled: record.jwtEnabled,
      keyBytes,
      secretEncoding,
      clockToleranceSeconds: record.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
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
