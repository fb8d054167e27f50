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
  | "TOO_MANY_FAILURES"
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
  TOO_MANY_FAILURES: {
    httpStatus: 429,
    code: "TOO_MANY_FAILURES",
    status: "Too many refused requests from this client; retry later",
  },
  LOOP_DETECTED: {
    httpStatus: 508,
    code: "LOOP_DETECTED",
    status: "Request already passed through this gateway: the origin points back at it",
  },
  INTERNAL_ERROR: { httpStatus: 500, code: "INTERNAL_ERROR", status: "Internal error" },
};

/**
 * Every distinct cause for which the gateway refuses an SDK request: a stable slug, the catalogue
 * entry it answers with, and the usual cause in words. The slug is never on the wire in
 * `enforce` mode; it is in the log line, the verdict (report mode, the token debugger, metrics),
 * and the table in docs/pipeline.md, which a test holds to this list. Stable: dashboards and
 * alerts key on these names; add new ones, never rename.
 */
export const REFUSAL_DETAILS = {
  route_not_found: ["NOT_FOUND", "the path is no SDK route (no `app` segment, or no APP_ROUTES pattern matches)"],
  app_id_invalid: ["BAD_REQUEST", "the appId in the path breaks ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"],
  path_empty_segment: ["BAD_REQUEST", "the path has `//` (or more than one trailing `/`)"],
  path_bad_percent: ["BAD_REQUEST", "the path has a `%` that is not a valid UTF-8 percent-encoding"],
  path_dot_segment: ["BAD_REQUEST", "a path segment is `.` or `..` or hides `/` or `\\` (encoded)"],
  path_control_character: ["BAD_REQUEST", "a path segment holds a control character (`%00`, `%0A`, …)"],
  loop_detected: ["LOOP_DETECTED", "the request already passed this gateway: the origin points back at it"],
  origin_missing: ["CONFIG_UNAVAILABLE", "no ORIGIN or ORIGIN_URL on a workers.dev or local host"],
  app_unknown: ["APP_NOT_FOUND", "no record for this appId (a typo in the SDK setup, or a deleted app)"],
  kv_unavailable: ["CONFIG_UNAVAILABLE", "Workers KV did not answer the record read"],
  record_invalid: ["CONFIG_UNAVAILABLE", "the stored record breaks the record rules (GET it: its `problems` say why)"],
  jwks_unavailable: [
    "CONFIG_UNAVAILABLE",
    "the app's jwksUri never answered a usable JWKS (provider down, garbage, too large)",
  ],
  authorization_missing: ["TOKEN_NOT_AVAILABLE", "no Authorization header (or an empty one)"],
  scheme_not_bearer: ["TOKEN_NOT_AVAILABLE", "Authorization uses another scheme, or `Bearer` without a token"],
  credential_list: ["MALFORMED", "two credentials: two Authorization headers, or a `,` in one"],
  text_after_token: ["MALFORMED", "whitespace and more text after the token"],
  token_too_long: ["MALFORMED", "the token is longer than 8192 characters"],
  segment_count: ["MALFORMED", "the token does not have exactly three `.`-separated segments"],
  bad_base64url: ["MALFORMED", "a segment is not canonical unpadded base64url"],
  not_json_object: ["MALFORMED", "the header or payload is not a UTF-8 JSON object"],
  duplicate_member: ["MALFORMED", "the header or payload names one member twice"],
  time_claim_not_number: ["MALFORMED", "`exp`, `nbf` or `iat` is present but not a finite number"],
  timestamp_in_milliseconds: [
    "TIME_CONSTRAINT_FAILURE",
    "`exp`, `nbf` or `iat` is in milliseconds (≥ 10^11); set acceptMillisecondTimestamps to read them so",
  ],
  alg_not_in_keys: ["HEADER_TYPE_INCOMPATIBLE", "the header's `alg` is none of the app's keys' algorithms"],
  typ_not_jwt: ["HEADER_TYPE_INCOMPATIBLE", "the header's `typ` is present and not `JWT`"],
  crit_unsupported: ["HEADER_TYPE_INCOMPATIBLE", "the header has `crit` (extensions this gateway does not implement)"],
  b64_unsupported: ["HEADER_TYPE_INCOMPATIBLE", "the header has `b64` (unencoded payloads, RFC 7797)"],
  kid_unknown: ["INVALID_SIGNATURE", "the header's `kid` names no key of the app (an old or foreign key)"],
  kid_alg_mismatch: ["INVALID_SIGNATURE", "the key the `kid` names is for another `alg`"],
  key_outside_window: ["INVALID_SIGNATURE", "every key that could verify is outside its notBefore/notAfter window"],
  signature_mismatch: [
    "INVALID_SIGNATURE",
    "no key of the app verifies the signature (wrong secret or secretEncoding)",
  ],
  exp_passed: ["TOKEN_EXPIRED", "`exp` plus the clock tolerance has passed"],
  nbf_future: ["TIME_CONSTRAINT_FAILURE", "`nbf` is later than now plus the clock tolerance"],
  iat_future: [
    "TIME_CONSTRAINT_FAILURE",
    "`iat` is later than now plus the clock tolerance (the signer's clock is ahead)",
  ],
  exp_missing: [
    "PAYLOAD_CONTENT_MISSING",
    "no `exp`, and the app requires one (requireExp or maxTokenLifetimeSeconds)",
  ],
  iat_missing: ["PAYLOAD_CONTENT_MISSING", "no `iat`, and maxTokenLifetimeSeconds needs one"],
  iss_missing: ["PAYLOAD_CONTENT_MISSING", "no string `iss`, and the app names an issuer"],
  aud_missing: ["PAYLOAD_CONTENT_MISSING", "no `aud` string or list, and the app names an audience"],
  lifetime_too_long: ["TIME_CONSTRAINT_FAILURE", "`exp` − `iat` is over maxTokenLifetimeSeconds"],
  issued_before_revocation: ["TIME_CONSTRAINT_FAILURE", "`iat` is before tokensNotBefore (or absent while it is set)"],
  user_revoked: [
    "TIME_CONSTRAINT_FAILURE",
    "the user's tokens issued before their revocation are refused (or no `iat`)",
  ],
  nonce_missing: ["PAYLOAD_CONTENT_MISSING", "the app requires a nonce, and the token has no string `nonce`"],
  nonce_invalid: ["IDENTIFIER_MISMATCH", "the `nonce` is not one this gateway issued for this app"],
  nonce_expired: [
    "TIME_CONSTRAINT_FAILURE",
    "the `nonce` had expired when the token was issued (`iat`), or `iat` is missing, or no token claimed it within a day of its expiry",
  ],
  nonce_reused: ["IDENTIFIER_MISMATCH", "another token already carried this `nonce`"],
  nonce_unconfigured: [
    "CONFIG_UNAVAILABLE",
    "the app requires a nonce, and NONCE_SECRET or the NONCES binding is missing",
  ],
  nonce_store_unavailable: ["CONFIG_UNAVAILABLE", "the nonce store (a Durable Object) did not answer"],
  app_id_claim_missing: ["PAYLOAD_CONTENT_MISSING", "no string appId claim (or the app's appIdClaim)"],
  user_claim_missing: [
    "PAYLOAD_CONTENT_MISSING",
    "none of the user claims (userId, appUserId, customerId or userClaims)",
  ],
  user_claim_invalid: ["PAYLOAD_CONTENT_MISSING", "a user claim is not a non-empty, well-formed string"],
  app_id_mismatch: ["IDENTIFIER_MISMATCH", "the token's appId is another app's (a token minted for another app)"],
  iss_mismatch: ["IDENTIFIER_MISMATCH", "`iss` is none of the app's issuers"],
  aud_mismatch: ["IDENTIFIER_MISMATCH", "`aud` holds none of the app's audiences"],
  user_mismatch_query: ["IDENTIFIER_MISMATCH", "the query names another user than the token"],
  user_mismatch_json: ["IDENTIFIER_MISMATCH", "the JSON body names another user than the token"],
  user_mismatch_form: ["IDENTIFIER_MISMATCH", "the form body names another user than the token"],
  user_mismatch_multipart: ["IDENTIFIER_MISMATCH", "the multipart body names another user than the token"],
  binding_field_repeated: ["BAD_REQUEST", "a bound field (userId…) is given twice in the query or the body"],
  binding_bracket_form: ["BAD_REQUEST", "a bound field in bracket form (`userId[]`, `userId[0]`)"],
  binding_value_type: ["BAD_REQUEST", "a bound field's value is not a string (or a JSON number)"],
  query_not_parsable: ["BAD_REQUEST", "the query has invalid percent-encoding in a name or a bound value"],
  body_not_parsable: ["BAD_REQUEST", "an inspected body is not valid JSON, UTF-8 or multipart"],
  content_type_list: ["BAD_REQUEST", "more than one Content-Type"],
  body_too_large: ["PAYLOAD_TOO_LARGE", "an inspected body is over MAX_BODY_BYTES"],
  content_encoding: ["UNSUPPORTED_MEDIA_TYPE", "an inspected body has a Content-Encoding other than identity"],
  origin_unreachable: ["ORIGIN_UNAVAILABLE", "the origin refused the connection or failed"],
  origin_timeout: ["ORIGIN_TIMEOUT", "the origin sent no response head within ORIGIN_TIMEOUT_MS"],
} as const satisfies Record<string, readonly [ErrorKind, string]>;

/** The slug of one distinct refusal cause. */
export type RefusalDetail = keyof typeof REFUSAL_DETAILS;

export interface GatewayErrorOptions {
  /** Replaces the catalogue's `status` text (`BAD_REQUEST` says what is wrong). Fixed text only. */
  readonly status?: string;
  /** Extra members for the body (`serverTime`, admin field `errors`); never request values. */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** The precise cause of an SDK request's refusal, for logs and verdicts (never the body). */
  readonly detail?: RefusalDetail;
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

/**
 * One error per detail that carries nothing else, made once: a refusal is a value (its kind and
 * detail), so the hot path of a flood of bad tokens does not pay for a stack trace each time.
 */
const PLAIN_REFUSALS = new Map<RefusalDetail, GatewayError>();

/**
 * The refusal for one distinct cause: the catalogue entry `REFUSAL_DETAILS` gives it, with the
 * detail attached. `options` may add the status text (`BAD_REQUEST`) or body members.
 */
export function refusal(detail: RefusalDetail, options?: Omit<GatewayErrorOptions, "detail">): GatewayError {
  if (options !== undefined) return new GatewayError(REFUSAL_DETAILS[detail][0], { ...options, detail });
  let error = PLAIN_REFUSALS.get(detail);
  if (error === undefined) {
    error = new GatewayError(REFUSAL_DETAILS[detail][0], { detail });
    PLAIN_REFUSALS.set(detail, error);
  }
  return error;
}

/** `400 BAD_REQUEST` for a request the pipeline cannot judge, with what is wrong and why. */
export function badRequest(detail: RefusalDetail, status: string): GatewayError {
  return refusal(detail, { status });
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

/** The headers of each kind of error answer, made once (a `Response` copies them). */
const ERROR_HEADERS = new Map<ErrorKind, Readonly<Record<string, string>>>();

function errorHeaders(kind: ErrorKind): Readonly<Record<string, string>> {
  let headers = ERROR_HEADERS.get(kind);
  if (headers === undefined) {
    const { code } = ERROR_CATALOGUE[kind];
    const challenge =
      code === "39"
        ? BEARER_REALM
        : // RFC 6750 section 3.1: error="invalid_token" only once a token was presented.
          code === "38" || code === "40"
          ? `${BEARER_REALM}, error="invalid_token"`
          : kind === "UNAUTHORIZED"
            ? ADMIN_REALM
            : undefined;
    headers = {
      "content-type": "application/json",
      "cache-control": "no-store",
      ...(challenge === undefined ? {} : { "www-authenticate": challenge }),
    };
    ERROR_HEADERS.set(kind, headers);
  }
  return headers;
}

/** The body of each kind of error answer without a status text or members of its own, made once. */
const PLAIN_BODIES = new Map<ErrorKind, string>();

/** The one renderer: every answer the gateway makes itself goes through here. */
export function errorResponse(error: GatewayError): Response {
  const { kind, options } = error;
  let body: string | undefined;
  if (options.status === undefined && options.extra === undefined) {
    body = PLAIN_BODIES.get(kind);
    if (body === undefined) {
      body = JSON.stringify(errorBody(error));
      PLAIN_BODIES.set(kind, body);
    }
  } else body = JSON.stringify(errorBody(error));
  return new Response(body, { status: ERROR_CATALOGUE[kind].httpStatus, headers: errorHeaders(kind) });
}

/** A JSON answer the gateway makes itself that is not an error (health, admin views). */
export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}
