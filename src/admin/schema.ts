/**
 * Reading admin requests: bodies as strict JSON checked with the record's valibot schemas, in
 * full before anything is written; the appId of a path; the listing's query. Every refusal is
 * `400 BAD_REQUEST` with field errors (CONTRACT section 5).
 */

import * as v from "valibot";
import { APP_ID_PATTERN } from "../apps/kv-keys.ts";
import {
  DATE_TIME,
  type FieldError,
  fieldErrors,
  KEY_SCHEMA,
  type KeyRecord,
  MAX_USER_ID_CHARS,
  WRITABLE_RECORD,
  type WritableFields,
} from "../apps/schema.ts";
import { GatewayError } from "../errors.ts";
import { readBodyCapped } from "../lib/body.ts";
import { decodeUtf8Strict, parseJson, scanJson } from "../lib/json.ts";
import { type StatsWindow, WINDOWS } from "../metrics/counts.ts";

/** An app record is a few hundred bytes; anything near this is not one. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;
export const MAX_LIST_LIMIT = 1000;
export const DEFAULT_LIST_LIMIT = 100;

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
  const bytes = await readBodyCapped(request, MAX_ADMIN_BODY_BYTES);
  if (bytes === null) throw new GatewayError("PAYLOAD_TOO_LARGE");
  const text = decodeUtf8Strict(bytes);
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

/** The body of `PUT` and `PATCH …/apps/{appId}`: writable fields only. */
export async function readRecordBody(request: Request): Promise<WritableFields> {
  return parseBody(WRITABLE_RECORD, await readJsonBody(request));
}

/** The body of `POST …/keys`: one key, by its schema; its material is checked with the record. */
export async function readKeyBody(request: Request): Promise<KeyRecord> {
  return parseBody(KEY_SCHEMA, await readJsonBody(request));
}

/** Longer than any token the gateway reads (8192 characters), so an oversized one gets its verdict. */
const MAX_DEBUG_TOKEN_CHARS = 16_384;
/** A request body to judge (the gateway's `MAX_BODY_BYTES` still applies to it). */
const MAX_DEBUG_BODY_CHARS = 60_000;
/** Visible ASCII: a path or query as an SDK sends it, percent-encoded. */
const VISIBLE_ASCII = /^[\x21-\x7e]*$/;

/** The body of `POST …/verify`: the token, and the parts of the SDK's request to judge with it. */
export const VERIFY_REQUEST = v.strictObject(
  {
    token: v.pipe(
      v.string("must be a string"),
      v.maxLength(MAX_DEBUG_TOKEN_CHARS, `must be at most ${MAX_DEBUG_TOKEN_CHARS} characters`),
    ),
    path: v.optional(
      v.pipe(
        v.string("must be a string"),
        v.startsWith("/", "must start with /"),
        v.regex(VISIBLE_ASCII, "must be visible ASCII (percent-encode the rest)"),
        v.maxLength(2048, "must be at most 2048 characters"),
      ),
    ),
    query: v.optional(
      v.pipe(
        v.string("must be a string"),
        v.regex(VISIBLE_ASCII, "must be visible ASCII without the ? (percent-encode the rest)"),
        v.maxLength(2048, "must be at most 2048 characters"),
      ),
    ),
    contentType: v.optional(v.pipe(v.string("must be a string"), v.maxLength(256, "must be at most 256 characters"))),
    body: v.optional(
      v.pipe(
        v.string("must be a string"),
        v.maxLength(MAX_DEBUG_BODY_CHARS, `must be at most ${MAX_DEBUG_BODY_CHARS} characters`),
      ),
    ),
  },
  "must be a JSON object with token, and optionally path, query, contentType and body",
);
export type VerifyRequest = v.InferOutput<typeof VERIFY_REQUEST>;

/** The body of `POST …/verify`: the token debugger's request. */
export async function readVerifyBody(request: Request): Promise<VerifyRequest> {
  return parseBody(VERIFY_REQUEST, await readJsonBody(request));
}

/** `?window=1h|24h|7d` of `GET …/stats` (default `1h`). */
export function parseStatsQuery(query: URLSearchParams): StatsWindow {
  const errors: FieldError[] = [];
  let window: StatsWindow = "1h";
  for (const name of new Set(query.keys())) {
    const values = query.getAll(name);
    if (values.length > 1) errors.push({ path: name, message: "must be given once" });
    else if (name !== "window") errors.push({ path: name, message: "is not a stats parameter" });
    else if (Object.hasOwn(WINDOWS, values[0] as string)) window = values[0] as StatsWindow;
    else errors.push({ path: "window", message: 'must be "1h", "24h" or "7d"' });
  }
  if (errors.length > 0) throw invalidRequest(errors);
  return window;
}

/** The body of `PUT …/revocations/{userId}`: `{"before": ISO}`, or nothing (now). */
export const REVOCATION_REQUEST = v.strictObject(
  { before: v.optional(DATE_TIME) },
  'must be a JSON object with an optional "before" (ISO 8601)',
);

/** When the revocation starts (Unix seconds): the body's `before`, or `nowMs` without one. */
export async function readRevocationBody(request: Request, nowMs: number): Promise<number> {
  const declared = request.headers.get("content-length");
  if (request.body === null || declared === "0") return Math.floor(nowMs / 1000);
  const { before } = parseBody(REVOCATION_REQUEST, await readJsonBody(request));
  return before === undefined ? Math.floor(nowMs / 1000) : Date.parse(before) / 1000;
}

/**
 * A user id in a path: percent-decoded, 1–256 characters of well-formed text without controls.
 * Not `.` or `..`: URL parsers (browsers', `fetch`'s) resolve those segments, even as `%2e`, so
 * such a revocation could be made with a raw client but never listed back or lifted by URL.
 */
export function checkUserId(raw: string): string {
  let userId: string;
  try {
    userId = decodeURIComponent(raw);
  } catch {
    throw invalidRequest([{ path: "userId", message: "must be percent-encoded UTF-8" }]);
  }
  if (userId === "" || userId.length > MAX_USER_ID_CHARS || !userId.isWellFormed() || /\p{Cc}/u.test(userId)) {
    throw invalidRequest([{ path: "userId", message: `must be 1 to ${MAX_USER_ID_CHARS} characters of text` }]);
  }
  if (userId === "." || userId === "..") {
    throw invalidRequest([{ path: "userId", message: "cannot be . or .. (URLs resolve them as path segments)" }]);
  }
  return userId;
}

export interface ListQuery {
  readonly limit: number;
  readonly cursor: string | undefined;
  /** Only appIds that start with this (the console's search). */
  readonly prefix: string;
}

/** The start of an appId: the characters an appId may hold, first one included. */
const APP_ID_PREFIX = /^([A-Za-z0-9][A-Za-z0-9._-]{0,127})?$/;

/** A cursor this API issues is base64url, a `.`, and base64url (`sealCursor`). */
const CURSOR_SHAPE = /^[A-Za-z0-9_-]{1,2048}\.[A-Za-z0-9_-]{22}$/;

export const CURSOR_ERROR: FieldError = { path: "cursor", message: "is not a cursor from this list" };

/**
 * `?limit=&cursor=&prefix=` of a listing. `prefix` is the start of an appId (apps), or with
 * `prefixIsText` any text (the start of a user id: revocations).
 */
export function parseListQuery(query: URLSearchParams, { prefixIsText = false } = {}): ListQuery {
  const errors: FieldError[] = [];
  let limit = DEFAULT_LIST_LIMIT;
  let cursor: string | undefined;
  let prefix = "";
  for (const name of new Set(query.keys())) {
    const values = query.getAll(name);
    const value = values[0] as string;
    if (values.length > 1) errors.push({ path: name, message: "must be given once" });
    else if (name === "limit") {
      if (/^\d{1,4}$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_LIST_LIMIT) limit = Number(value);
      else errors.push({ path: "limit", message: `must be a whole number from 1 to ${MAX_LIST_LIMIT}` });
    } else if (name === "cursor") {
      if (CURSOR_SHAPE.test(value)) cursor = value;
      else errors.push(CURSOR_ERROR);
    } else if (name === "prefix") {
      if (prefixIsText ? value.length <= MAX_USER_ID_CHARS && value.isWellFormed() : APP_ID_PREFIX.test(value)) {
        prefix = value;
      } else if (prefixIsText)
        errors.push({ path: "prefix", message: `must be at most ${MAX_USER_ID_CHARS} characters` });
      else errors.push({ path: "prefix", message: "must be the start of an appId: A-Z a-z 0-9 . _ -" });
    } else errors.push({ path: name, message: "is not a list parameter" });
  }
  if (errors.length > 0) throw invalidRequest(errors);
  return { limit, cursor, prefix };
}
