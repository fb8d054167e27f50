/**
 * Validation of admin requests with valibot, in full before anything is written: the body holds
 * only the writable fields of CONTRACT section 2, and the merged record must pass the same
 * rules the gateway applies to what it reads.
 */

import * as v from "valibot";
import {
  APP_ID_PATTERN,
  type AppRecord,
  checkRecord,
  type FieldError,
  fieldErrors,
  KEY_SCHEMA,
  type KeyRecord,
  POLICY_FIELDS,
  WRITABLE_FIELDS,
} from "../apps/record.ts";
import { fingerprintKeys, KeyFieldError, type KeyFingerprints, repeatedKey } from "../apps/registry.ts";
import { GatewayError } from "../errors.ts";
import { readBodyCapped } from "../gateway/body.ts";
import { decodeUtf8Strict, parseJson, scanJson } from "../token/json.ts";

/** An app record is a few hundred bytes; anything near this is not one. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;
export const MAX_LIST_LIMIT = 1000;
export const DEFAULT_LIST_LIMIT = 100;

const OBJECT_MESSAGE = "must be a JSON object of writable fields";

const PutBody = v.strictObject(
  {
    // One of the two is required; the merged record's check says so (`checkRecord`).
    jwtEnabled: v.optional(WRITABLE_FIELDS.jwtEnabled),
    enforcement: v.optional(WRITABLE_FIELDS.enforcement),
    secret: v.optional(WRITABLE_FIELDS.secret),
    secretEncoding: v.optional(WRITABLE_FIELDS.secretEncoding),
    clockToleranceSeconds: v.optional(WRITABLE_FIELDS.clockToleranceSeconds),
    keys: v.optional(WRITABLE_FIELDS.keys),
    ...POLICY_FIELDS,
  },
  OBJECT_MESSAGE,
);

const PatchBody = v.strictObject(
  {
    jwtEnabled: v.optional(WRITABLE_FIELDS.jwtEnabled),
    enforcement: v.optional(WRITABLE_FIELDS.enforcement),
    secret: v.optional(WRITABLE_FIELDS.secret),
    secretEncoding: v.optional(WRITABLE_FIELDS.secretEncoding),
    clockToleranceSeconds: v.optional(WRITABLE_FIELDS.clockToleranceSeconds),
    keys: v.optional(WRITABLE_FIELDS.keys),
    ...POLICY_FIELDS,
  },
  OBJECT_MESSAGE,
);

export type PutFields = v.InferOutput<typeof PutBody>;
export type PatchFields = v.InferOutput<typeof PatchBody>;

/** `400 BAD_REQUEST` with the field errors of CONTRACT section 5. */
export function invalidRequest(errors: readonly FieldError[]): GatewayError {
  return new GatewayError("BAD_REQUEST", { status: "Invalid request", extra: { errors } });
}

export function checkAppId(appId: string): string {
  if (!APP_ID_PATTERN.test(appId)) {
    throw invalidRequest([{ path: "appId", message: "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$" }]);
  }
  return appId;
}

/** Reads a request body of at most `MAX_ADMIN_BODY_BYTES` as strict JSON (no repeated names). */
async function readJsonBody(request: Request): Promise<unknown> {
  const text = decodeUtf8Strict(await readBodyCapped(request, MAX_ADMIN_BODY_BYTES));
  const value = text === null ? undefined : parseJson(text);
  if (text === null || value === undefined) throw invalidRequest([{ path: "", message: "must be valid JSON" }]);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalidRequest([{ path: "", message: "must be a JSON object of writable fields" }]);
  }
  if (scanJson(text).duplicateName) throw invalidRequest([{ path: "", message: "must not name a field twice" }]);
  return value;
}

function parseBody<T>(schema: v.GenericSchema<unknown, T>, value: unknown): T {
  const result = v.safeParse(schema, value, { abortEarly: false });
  if (!result.success) throw invalidRequest(fieldErrors(result.issues));
  return result.output;
}

export async function readPutBody(request: Request): Promise<PutFields> {
  return parseBody(PutBody, await readJsonBody(request));
}

export async function readPatchBody(request: Request): Promise<PatchFields> {
  return parseBody(PatchBody, await readJsonBody(request));
}

/** The body of `POST …/keys`: one key, by its schema; its material is checked with the record. */
export async function readKeyBody(request: Request): Promise<KeyRecord> {
  return parseBody(KEY_SCHEMA, await readJsonBody(request));
}

/** Runs `fn`; a `400` it throws names fields under `prefix` relative to it (`keys.1.secret` → `secret`). */
export async function relativeErrors<T>(prefix: string, fn: () => Promise<T>): Promise<T> {
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

/**
 * Checks a record about to be written (or shown) in full, its keys imported, and returns their
 * fingerprints; `400` naming the broken rule. A key given twice is `400` too, unless
 * `onRepeatedKey` says otherwise (adding a key the app has is a `409`).
 */
export async function checkMergedRecord(
  record: AppRecord,
  onRepeatedKey: (error: FieldError) => GatewayError = (error) => invalidRequest([error]),
): Promise<KeyFingerprints> {
  const checked = checkRecord(record);
  if ("errors" in checked) throw invalidRequest(checked.errors);
  let prints: KeyFingerprints;
  try {
    prints = await fingerprintKeys(checked.record);
  } catch (error) {
    if (error instanceof KeyFieldError) throw invalidRequest([error.field]);
    throw error;
  }
  const repeated = repeatedKey(prints);
  if (repeated !== null) throw onRepeatedKey(repeated);
  return prints;
}

export interface ListQuery {
  readonly limit: number;
  readonly cursor: string | undefined;
}

/** A cursor this API issues is base64url, a `.`, and base64url (`sealCursor`). */
const CURSOR_SHAPE = /^[A-Za-z0-9_-]{1,2048}\.[A-Za-z0-9_-]{22}$/;

export function parseListQuery(query: URLSearchParams): ListQuery {
  const errors: FieldError[] = [];
  let limit = DEFAULT_LIST_LIMIT;
  let cursor: string | undefined;
  for (const name of new Set(query.keys())) {
    const values = query.getAll(name);
    const value = values[0] as string;
    if (values.length > 1) errors.push({ path: name, message: "must be given once" });
    else if (name === "limit") {
      if (/^\d{1,4}$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_LIST_LIMIT) limit = Number(value);
      else errors.push({ path: "limit", message: `must be a whole number from 1 to ${MAX_LIST_LIMIT}` });
    } else if (name === "cursor") {
      if (CURSOR_SHAPE.test(value)) cursor = value;
      else errors.push({ path: "cursor", message: "is not a cursor from this list" });
    } else errors.push({ path: name, message: "is not a list parameter" });
  }
  if (errors.length > 0) throw invalidRequest(errors);
  return { limit, cursor };
}
