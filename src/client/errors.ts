/**
 * What the client reports when the gateway refuses a token (CONTRACT section 6: `38`, `39`,
 * `40`), and the error it rejects with once it has stopped sending.
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
