/**
 * What the client reports when the gateway refuses a token (CONTRACT section 6: `38`, `39`,
 * `40`), the error it rejects with once it has stopped sending, and the one it rejects with when
 * it could not get a challenge nonce.
 */

/** `39`: no token reached the gateway. `38`: the token is invalid. `40`: it has expired. */
export type AuthErrorCode = "38" | "39" | "40";

/** The gateway's `reason`; `UNKNOWN` when a `38` names none this client knows. */
export type AuthErrorReason =
  | "TOKEN_NOT_AVAILABLE"
  | "MALFORMED"
  | "HEADER_TYPE_INCOMPATIBLE"
  | "INVALID_SIGNATURE"
  | "PAYLOAD_CONTENT_MISSING"
  | "IDENTIFIER_MISMATCH"
  | "TIME_CONSTRAINT_FAILURE"
  | "TOKEN_EXPIRED"
  | "UNKNOWN";

/** One refusal of a token by the gateway, as `onAuthError` receives it. */
export interface AuthError {
  readonly code: AuthErrorCode;
  readonly reason: AuthErrorReason;
  /** The gateway's text: `Invalid token`, `Token expired`, … */
  readonly status: string;
  /** The HTTP status of the answer (401). */
  readonly httpStatus: number;
  /** With `40`: the gateway's clock, Unix seconds. */
  readonly serverTime?: number;
  /** Consecutive refusals so far, this one included (answers for a token already replaced do not count). */
  readonly consecutiveFailures: number;
  /** True when this refusal reached `maxConsecutiveFailures`: the client sends nothing more until `setToken()` or `reset()`. */
  readonly suspended: boolean;
}

/**
 * Thrown by `client.fetch` instead of sending, after `maxConsecutiveFailures` consecutive
 * refusals (the rule MoEngage's SDK follows), until the app calls `setToken()` or `reset()`.
 */
export class AuthSuspendedError extends Error {
  override readonly name = "AuthSuspendedError";
  readonly code = "AUTH_SUSPENDED";
  readonly consecutiveFailures: number;
  /** The refusal that suspended the client. */
  readonly lastError: AuthError | undefined;

  constructor(consecutiveFailures: number, lastError: AuthError | undefined) {
    super(`not sent: ${consecutiveFailures} consecutive auth failures; call setToken() or reset() to resume`);
    this.consecutiveFailures = consecutiveFailures;
    this.lastError = lastError;
  }
}

/**
 * Thrown by `client.fetch` (as an error `getToken` throws would be) when, in nonce mode `"auto"`,
 * the gateway's nonce endpoint gave no answer that settles whether the app needs a nonce: a `5xx`,
 * a `429`, a network error, a body that is not the endpoint's. `getToken` was not called; the next
 * request asks for a nonce again.
 */
export class NonceUnavailableError extends Error {
  override readonly name = "NonceUnavailableError";
  readonly code = "NONCE_UNAVAILABLE";
  /** The HTTP status of the nonce endpoint's answer; `0` when none came (the error is the `cause`). */
  readonly httpStatus: number;

  constructor(httpStatus: number, cause?: unknown) {
    super(`no challenge nonce: the nonce endpoint answered ${httpStatus || "nothing"}; the next request asks again`, {
      cause,
    });
    this.httpStatus = httpStatus;
  }
}
