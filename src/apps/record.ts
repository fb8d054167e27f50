/**
 * The app record stored in KV (CONTRACT section 2; the schema is written down in
 * docs/storage.md). Parsing is strict: a stored value that does not match is a configuration
 * fault, so the gateway answers `503` rather than guess what the record meant.
 */

import * as v from "valibot";
import { deriveKeyBytes, type SecretEncoding, SecretError } from "./secret.ts";

/** KV key prefix of app records: `app:{appId}`. Stable: changing it orphans every record. */
export const APP_KEY_PREFIX = "app:";

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;

/** `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`: CONTRACT section 1. */
export const APP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function appKey(appId: string): string {
  return `${APP_KEY_PREFIX}${appId}`;
}

const StoredRecordSchema = v.strictObject({
  jwtEnabled: v.boolean(),
  secret: v.optional(v.string()),
  secretEncoding: v.optional(v.picklist(["base64", "utf8"])),
  clockToleranceSeconds: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_CLOCK_TOLERANCE_SECONDS)),
  ),
  createdAt: v.optional(v.string()),
  updatedAt: v.optional(v.string()),
});

/** An app record as stored. */
export type AppRecord = v.InferOutput<typeof StoredRecordSchema>;

/** An app record checked and ready for the gateway: the key bytes are derived once. */
export interface CheckedAppRecord {
  readonly jwtEnabled: boolean;
  /** The HMAC key, or `null` when the record has no secret (only when JWT is off). */
  readonly keyBytes: Uint8Array | null;
  readonly secretEncoding: SecretEncoding;
  readonly clockToleranceSeconds: number;
}

export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RecordError";
  }
}

/**
 * Parses a stored record's JSON text. Throws `RecordError` (naming the broken rule, never the
 * secret) when the text is not JSON, has unknown or mistyped fields, lacks a secret while JWT
 * is enforced, or holds a secret that breaks section 2's rules.
 */
export function parseStoredRecord(text: string): CheckedAppRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RecordError("stored record is not JSON");
  }
  const result = v.safeParse(StoredRecordSchema, json);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue.path?.map((item) => String(item.key)).join(".") || "(record)";
    throw new RecordError(`stored record field ${path} is invalid`);
  }
  const record = result.output;
  const secretEncoding = record.secretEncoding ?? "base64";
  if (record.jwtEnabled && record.secret === undefined)
    throw new RecordError("stored record enforces JWT without a secret");
  let keyBytes: Uint8Array | null = null;
  if (record.secret !== undefined) {
    try {
      keyBytes = deriveKeyBytes(record.secret, secretEncoding);
    } catch (error) {
      if (error instanceof SecretError) throw new RecordError(`stored record secret: ${error.message}`);
      throw error;
    }
  }
  return {
    jwtEnabled: record.jwtEnabled,
    keyBytes,
    secretEncoding,
    clockToleranceSeconds: record.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
  };
}
