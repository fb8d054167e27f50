/**
 * The error catalogue of CONTRACT section 6 and the one function that turns an error into the
 * wire answer. Everything the gateway rejects is a `GatewayError` with a `kind` from this closed
 * list; anything else that reaches the top is a bug and becomes `500 INTERNAL_ERROR` on purpose.
 *
 * Messages are fixed text written here, never built from the request: a token, secret or claim
 * value cannot reach an error body or a log line through this module.
 */

/** The reasons a `38 Invalid token` answer names. */
export type InvalidTokenReason =
  | "MALFORMED"
  | "HEADER_TYPE_INCOMPATIBLE"
  | "INVALID_SIGNATURE"
  | "PAYLOAD_CONTENT_MISSING"
  | "IDENTIFIER_MISMATCH"
  | "TIME_CONSTRAINT_FAILURE";

export type ErrorKind =
  | "TOKEN_NOT_AVAILABLE"
  | InvalidTokenReason
  | "TOKEN_EXPIRED"
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "NOT_FOUND"
  | "APP_NOT_FOUND"
  | "KEY_NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "CONFLICT"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "ORIGIN_UNAVAILABLE"
  | "CONFIG_UNAVAILABLE"
  | "ADMIN_DISABLED"
  | "ORIGIN_TIMEOUT"
  | "LOOP_DETECTED"
  | "INTERNAL_ERROR";

interface CatalogueEntry {
  readonly httpStatus: number;
  readonly code: string;
  readonly status: string;
  /** Present for the token errors (`38`, `39`, `40`), whose `code` is shared between reasons. */
  readonly reason?: string;
}

const INVALID_TOKEN = "Invalid token";

function invalidToken(reason: InvalidTokenReason): CatalogueEntry {
  return { httpStatus: 401, code: "38", status: INVALID_TOKEN, reason };
}

export const ERROR_CATALOGUE: Readonly<Record<ErrorKind, CatalogueEntry>> = {
  TOKEN_NOT_AVAILABLE: {
    httpStatus: 401,
    code: "39",
    status: "Token is required to access the requested resource.",
    reason: "TOKEN_NOT_AVAILABLE",
  },
  MALFORMED: invalidToken("MALFORMED"),
  HEADER_TYPE_INCOMPATIBLE: invalidToken("HEADER_TYPE_INCOMPATIBLE"),
  INVALID_SIGNATURE: invalidToken("INVALID_SIGNATURE"),
  PAYLOAD_CONTENT_MISSING: invalidToken("PAYLOAD_CONTENT_MISSING"),
  IDENTIFIER_MISMATCH: invalidToken("IDENTIFIER_MISMATCH"),
  TIME_CONSTRAINT_FAILURE: invalidToken("TIME_CONSTRAINT_FAILURE"),
  TOKEN_EXPIRED: { httpStatus: 401, code: "40", status: "Token expired", reason: "TOKEN_EXPIRED" },
  BAD_REQUEST: { httpStatus: 400, code: "BAD_REQUEST", status: "Bad request" },
  UNAUTHORIZED: { httpStatus: 401, code: "UNAUTHORIZED", status: "Admin credential missing or wrong" },
  NOT_FOUND: { httpStatus: 404, code: "NOT_FOUND", status: "Not found" },
  APP_NOT_FOUND: { httpStatus: 404, code: "APP_NOT_FOUND", status: "App not found" },
  KEY_NOT_FOUND: { httpStatus: 404, code: "KEY_NOT_FOUND", status: "Key not found" },
  METHOD_NOT_ALLOWED: { httpStatus: 405, code: "METHOD_NOT_ALLOWED", status: "Method not allowed" },
  CONFLICT: { httpStatus: 409, code: "CONFLICT", status: "Conflict with the app's keys" },
  PAYLOAD_TOO_LARGE: { httpStatus: 413, code: "PAYLOAD_TOO_LARGE", status: "Request body too large to inspect" },
  UNSUPPORTED_MEDIA_TYPE: {
    httpStatus: 415,
    code: "UNSUPPORTED_MEDIA_TYPE",
    status: "Request body has a Content-Encoding the gateway cannot inspect",
  },
  ORIGIN_UNAVAILABLE: { httpStatus: 502, code: "ORIGIN_UNAVAILABLE", status: "Origin unavailable" },
  CONFIG_UNAVAILABLE: { httpStatus: 503, code: "CONFIG_UNAVAILABLE", status: "App configuration unavailable" },
  ADMIN_DISABLED: { httpStatus: 503, code: "ADMIN_DISABLED", status: "Admin API disabled" },
  ORIGIN_TIMEOUT: { httpStatus: 504, code: "ORIGIN_TIMEOUT", status: "Origin did not answer in time" },
  LOOP_DETECTED: {
    httpStatus: 508,
    code: "LOOP_DETECTED",
    status: "Request already passed through this gateway: the origin points back at it",
  },
  INTERNAL_ERROR: { httpStatus: 500, code: "INTERNAL_ERROR", status: "Internal error" },
};

export interface GatewayErrorOptions {
  /** Replaces the catalogue's `status` text (`BAD_REQUEST` says what is wrong). Fixed text only. */
  readonly status?: string;
  /** Extra members for the body (`serverTime`, admin field `errors`); never request values. */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Why, for the log line only (never the body); must hold no token, secret or claim value. */
  readonly detail?: string;
}

/**
 * A rejection the gateway answers itself. Every text it carries is fixed text written in this
 * codebase, never a value taken from the request or a record; the one exception is the name of
 * a request field an app's `requestBindings` binds (`userId given more than once in the query`),
 * which is the operator's configuration, never a token, secret or claim value.
 */
export class GatewayError extends Error {
  readonly kind: ErrorKind;
  readonly options: GatewayErrorOptions;

  constructor(kind: ErrorKind, options: GatewayErrorOptions = {}) {
    super(options.status ? `${kind}: ${options.status}` : kind);
    this.name = "GatewayError";
    this.kind = kind;
    this.options = options;
  }
}

/** `38 Invalid token` with a reason: the token fails a rule of CONTRACT section 3. */
export function invalidTokenError(reason: InvalidTokenReason): GatewayError {
  return new GatewayError(reason);
}

export function badRequest(status: string): GatewayError {
  return new GatewayError("BAD_REQUEST", { status });
}

const BEARER_REALM = 'Bearer realm="edge-authenticator"';
const ADMIN_REALM = 'Bearer realm="edge-authenticator-admin"';

/** The JSON body of an error answer, in the member order of CONTRACT section 6. */
export function errorBody(error: GatewayError): Record<string, unknown> {
  const entry = ERROR_CATALOGUE[error.kind];
  const body: Record<string, unknown> = { code: entry.code, status: error.options.status ?? entry.status };
  if (entry.reason) body.reason = entry.reason;
  if (error.options.extra) Object.assign(body, error.options.extra);
  return body;
}

/** The one renderer: every answer the gateway makes itself goes through here. */
export function errorResponse(error: GatewayError): Response {
  const entry = ERROR_CATALOGUE[error.kind];
  const headers = new Headers({ "content-type": "application/json", "cache-control": "no-store" });
  if (entry.code === "39") headers.set("www-authenticate", BEARER_REALM);
  else if (entry.code === "38" || entry.code === "40") {
    // RFC 6750 section 3.1: error="invalid_token" only once a token was presented.
    headers.set("www-authenticate", `${BEARER_REALM}, error="invalid_token"`);
  } else if (error.kind === "UNAUTHORIZED") headers.set("www-authenticate", ADMIN_REALM);
  return new Response(JSON.stringify(errorBody(error)), { status: entry.httpStatus, headers });
}

/** A JSON answer the gateway makes itself that is not an error (health, admin views). */
export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}
