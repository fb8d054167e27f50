/**
 * `createClient`: what an SDK does with a token, in one place. It attaches the token to each
 * request, asks the app for a new one (`getToken`) before it expires by the gateway's clock and
 * after the gateway refuses it, retries once when that can help, and stops sending after
 * `maxConsecutiveFailures` refusals in a row. Only `fetch` is needed, so it runs in browsers,
 * React Native, Workers and Node ≥ 18.
 */

import {
  type AuthError,
  type AuthErrorCode,
  type AuthErrorReason,
  AuthSuspendedError,
  NonceUnavailableError,
} from "./errors.ts";
import { type TokenTimes, tokenTimes } from "./token-times.ts";

/** A `fetch`: the platform's, or one that reaches the gateway another way (a service binding, a test). */
export type FetchFunction = (url: string, init: RequestInit) => Promise<Response>;

/**
 * Why the client asks for a token: it has none (`initial`, also after `reset()`), the one it has
 * expires within `refreshBeforeExpirySeconds` (`expiring`), the gateway answered `40`
 * (`expired`), or `38`/`39` (`rejected`).
 */
export type TokenRequestReason = "initial" | "expiring" | "expired" | "rejected";

export interface TokenRequest {
  readonly reason: TokenRequestReason;
  /**
   * The challenge nonce the gateway issued, when the app requires one (`requireNonce`): the token
   * must carry it as its `nonce` claim (the Dotdigital challenge function).
   */
  readonly nonce?: string;
}

export interface ClientOptions {
  /**
   * Where the gateway serves the app's SDK routes. Requests go to `{baseUrl}/app/{appId}{path}`
   * (the gateway's default route); a `baseUrl` that contains `{appId}` is used as it is, with the
   * appId put in its place, for gateways with their own `APP_ROUTES`.
   */
  readonly baseUrl: string | URL;
  readonly appId: string;
  /**
   * The app's callback for a fresh token, usually a call to the app's backend (which signs it
   * with `edge-authenticator/issuer`). It may be async; concurrent requests share one call. An
   * error it throws rejects the requests that waited for it.
   */
  readonly getToken: (request: TokenRequest) => string | Promise<string>;
  /**
   * Called for every refusal (`38`, `39`, `40`), after the client has counted it. It must not
   * throw: an error it throws is rethrown asynchronously and changes nothing for the request.
   */
  readonly onAuthError?: (error: AuthError) => void;
  /** Consecutive refusals after which the client stops sending until `setToken()` or `reset()`. Default 10. */
  readonly maxConsecutiveFailures?: number;
  /**
   * Ask for a new token when the current one expires within this many seconds, by the gateway's
   * clock. Default 60; never more than half the token's lifetime (`exp − iat`).
   */
  readonly refreshBeforeExpirySeconds?: number;
  /** The `fetch` to send with; `globalThis.fetch` by default, looked up at each request. */
  readonly fetch?: FetchFunction;
  /** The device clock, milliseconds since the epoch; `Date.now` by default. */
  readonly now?: () => number;
  /**
   * Challenge nonces: `"auto"` (default) asks the gateway for one before `getToken()`, passes it
   * when the app requires one, and stops asking once the gateway has said it does not (`required:
   * false`, or a `404`) until a refusal says a token lacks a claim
   * (`PAYLOAD_CONTENT_MISSING`); when the nonce endpoint fails otherwise, the request rejects with
   * `NonceUnavailableError` and the next one asks again. `"always"` asks before every `getToken()`
   * (and calls it without a nonce when none comes); `"never"` does not ask.
   */
  readonly nonce?: "auto" | "always" | "never";
  /**
   * Where nonces are issued: `{origin of baseUrl}/.well-known/edge-authenticator/apps/{appId}/nonce`
   * by default.
   */
  readonly nonceUrl?: string | URL;
}

export interface Client {
  /**
   * `fetch` for one of the app's SDK routes: `path` (`/threads/7?limit=5`, or `""`) is appended
   * to the app's URL; `init` is fetch's, with `Authorization: Bearer <token>` set. Resolves with
   * the response, a refusal included when a retry could not help; rejects with
   * `AuthSuspendedError` while suspended, with what `getToken` threw, or with
   * `NonceUnavailableError` when no nonce could be had for it.
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Use this token from now on; clears the failure count and resumes a suspended client. */
  setToken(token: string): void;
  /** Forget the token (the next request asks `getToken`), clear the failure count, resume. */
  reset(): void;
  /** True while the client refuses to send after `maxConsecutiveFailures` refusals. */
  readonly suspended: boolean;
}

/** CONTRACT section 1: an appId the gateway accepts in a path. */
const APP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** RFC 6750 section 2.1 allows less, but any visible ASCII survives a header; a space or "Bearer " does not belong. */
const TOKEN = /^[\x21-\x7e]+$/;
const REASONS: readonly string[] = [
  "TOKEN_NOT_AVAILABLE",
  "MALFORMED",
  "HEADER_TYPE_INCOMPATIBLE",
  "INVALID_SIGNATURE",
  "PAYLOAD_CONTENT_MISSING",
  "IDENTIFIER_MISMATCH",
  "TIME_CONSTRAINT_FAILURE",
  "TOKEN_EXPIRED",
];
const DEFAULT_REASONS: Readonly<Record<AuthErrorCode, AuthErrorReason>> = {
  "38": "UNKNOWN",
  "39": "TOKEN_NOT_AVAILABLE",
  "40": "TOKEN_EXPIRED",
};

type Refusal = Pick<AuthError, "code" | "reason" | "status" | "serverTime">;

function optionError(message: string): TypeError {
  return new TypeError(`createClient: ${message}`);
}

function checkedToken(token: unknown, source: string): string {
  if (typeof token !== "string" || !TOKEN.test(token)) {
    throw new TypeError(`${source} must give the token itself: visible ASCII, no spaces, no "Bearer " prefix`);
  }
  return token;
}

/** The app's URL, without a trailing `/`: `{baseUrl}/app/{appId}`, or `baseUrl` with `{appId}` filled in. */
function appUrl(baseUrl: string, appId: string): string {
  if (baseUrl === "" || /[?#]/.test(baseUrl)) throw optionError("baseUrl must be a URL without query or fragment");
  const base = baseUrl.replace(/\/+$/, "");
  return base.includes("{appId}") ? base.split("{appId}").join(appId) : `${base}/app/${appId}`;
}

/**
 * A body that can be sent twice. A stream (or an async iterable, in Node) is read by the first
 * send, so a request with one is never retried.
 */
function canResend(body: unknown): boolean {
  return (
    typeof body !== "object" ||
    body === null ||
    !(typeof (body as { getReader?: unknown }).getReader === "function" || Symbol.asyncIterator in body)
  );
}

/** The gateway's refusal of the token in `response` (a `401` with code `38`, `39` or `40`), or `null`. */
async function refusalOf(response: Response): Promise<Refusal | null> {
  if (response.status !== 401) return null;
  let body: Record<string, unknown>;
  try {
    body = (await response.clone().json()) as Record<string, unknown>;
  } catch {
    return null;
  }
  const code = String(body?.code);
  if (code !== "38" && code !== "39" && code !== "40") return null;
  const { reason, status, serverTime } = body;
  return {
    code,
    reason: REASONS.includes(reason as string) ? (reason as AuthErrorReason) : DEFAULT_REASONS[code],
    status: typeof status === "string" ? status : "",
    ...(typeof serverTime === "number" && Number.isFinite(serverTime) ? { serverTime } : {}),
  };
}

/** A client for one app's SDK routes behind the gateway: see `ClientOptions` and docs/sdk.md. */
export function createClient(options: ClientOptions): Client {
  if (typeof options !== "object" || options === null) throw optionError("options must be an object");
  const { appId, getToken, onAuthError } = options;
  const maxFailures = options.maxConsecutiveFailures ?? 10;
  const refreshBefore = options.refreshBeforeExpirySeconds ?? 60;
  const now = options.now ?? Date.now;
  const send: FetchFunction = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  if (typeof appId !== "string" || !APP_ID.test(appId)) {
    throw optionError("appId must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
  }
  const base = appUrl(String(options.baseUrl ?? ""), appId);
  const nonceMode = options.nonce ?? "auto";
  if (nonceMode !== "auto" && nonceMode !== "always" && nonceMode !== "never") {
    throw optionError('nonce must be "auto", "always" or "never"');
  }
  const nonceUrl = String(
    options.nonceUrl ?? new URL(`/.well-known/edge-authenticator/apps/${appId}/nonce`, new URL(base).origin),
  );
  if (typeof getToken !== "function") throw optionError("getToken must be a function");
  if (onAuthError !== undefined && typeof onAuthError !== "function") {
    throw optionError("onAuthError must be a function");
  }
  if (typeof send !== "function" || typeof now !== "function") throw optionError("fetch and now must be functions");
  if (!(maxFailures >= 1 && (Number.isInteger(maxFailures) || maxFailures === Infinity))) {
    throw optionError("maxConsecutiveFailures must be a whole number ≥ 1, or Infinity");
  }
  if (!(refreshBefore >= 0 && Number.isFinite(refreshBefore))) {
    throw optionError("refreshBeforeExpirySeconds must be a number ≥ 0");
  }

  let token: string | undefined;
  let times: TokenTimes = {};
  /** The one `getToken()` call in flight, which every request that needs a token waits for. */
  let refreshing: Promise<string> | undefined;
  /** Bumped by `setToken()` and `reset()`: a `getToken()` answer from before them is not kept. */
  let generation = 0;
  /** The gateway's clock minus the device's, in milliseconds, as the last answer showed it. */
  let skewMs = 0;
  let failures = 0;
  let lastError: AuthError | undefined;
  let suspended = false;
  /**
   * Whether the app requires a nonce: unknown until the gateway said (auto mode), and again after
   * a refusal for a missing claim (the app may have turned `requireNonce` on).
   */
  let nonceRequired: boolean | undefined;

  /**
   * A nonce for the next `getToken()`, when the app needs one. In `"auto"` only a definitive answer
   * stops the asking: a JSON answer without `required: true`, or a `404` (no such app, or a gateway
   * without the endpoint). Anything else (a `503`, another status, a network error, a body that is
   * no JSON object) settles nothing and throws `NonceUnavailableError`, which fails this token
   * request as an error from `getToken` would; the next one asks again.
   */
  async function challenge(): Promise<string | undefined> {
    if (nonceMode === "never" || (nonceMode === "auto" && nonceRequired === false)) return undefined;
    let status = 0;
    let cause: unknown;
    try {
      const response = await send(nonceUrl, { method: "POST" });
      status = response.status;
      const body = (await response.json().catch(() => null)) as Record<string, unknown> | null;
      // A JSON object is the endpoint's answer, unless it says `required` without a nonce.
      if (response.ok && typeof body === "object" && body !== null) {
        const { nonce, required } = body;
        if (required !== true || typeof nonce === "string") {
          nonceRequired = required === true;
          return typeof nonce === "string" && (nonceRequired || nonceMode === "always") ? nonce : undefined;
        }
      }
      if (status === 404) {
        nonceRequired = false;
        return undefined;
      }
    } catch (error) {
      cause = error;
    }
    if (nonceMode === "always") return undefined;
    throw new NonceUnavailableError(status, cause);
  }

  function adopt(next: string): void {
    token = next;
    times = tokenTimes(next);
  }

  /** True when the token's `exp` is within the refresh margin by the gateway's clock. */
  function expiresSoon(): boolean {
    const { exp, iat } = times;
    if (exp === undefined) return false;
    // A short-lived token would otherwise be refreshed before every request.
    const margin = iat !== undefined && iat < exp ? Math.min(refreshBefore, (exp - iat) / 2) : refreshBefore;
    return exp - (now() + skewMs) / 1000 <= margin;
  }

  function refresh(reason: TokenRequestReason): Promise<string> {
    if (refreshing) return refreshing;
    const startedIn = generation;
    const pending = (async () => {
      const nonce = await challenge();
      const next = checkedToken(await getToken(nonce === undefined ? { reason } : { reason, nonce }), "getToken");
      if (generation !== startedIn) return token ?? next;
      adopt(next);
      return next;
    })();
    refreshing = pending;
    const settle = () => {
      if (refreshing === pending) refreshing = undefined;
    };
    pending.then(settle, settle);
    return pending;
  }

  /** The token to send now: the current one, or a fresh one when there is none or it expires soon. */
  async function tokenToSend(): Promise<string> {
    if (suspended) throw new AuthSuspendedError(failures, lastError);
    if (token === undefined) return refresh("initial");
    if (expiresSoon()) return refresh("expiring");
    return token;
  }

  /** The gateway's clock from a `Date` header (plus `Age`, for an answer from a cache). */
  function learnClock(response: Response): void {
    const date = response.headers.get("date");
    const serverMs = date === null ? Number.NaN : Date.parse(date);
    if (!Number.isNaN(serverMs)) skewMs = serverMs + (Number(response.headers.get("age")) || 0) * 1000 - now();
  }

  function report(refusal: Refusal, httpStatus: number): void {
    lastError = { ...refusal, httpStatus, consecutiveFailures: failures, suspended };
    try {
      onAuthError?.(lastError);
    } catch (error) {
      setTimeout(() => {
        throw error;
      });
    }
  }

  return {
    fetch: async function authenticatedFetch(path: string, init: RequestInit = {}): Promise<Response> {
      if (typeof path !== "string" || !(path === "" || path[0] === "/" || path[0] === "?")) {
        // An absolute URL here would send the token to another host.
        throw new TypeError('client.fetch: path must start with "/" or "?": it is appended to the app\'s URL');
      }
      const resendable = canResend(init.body);
      let sent = await tokenToSend();
      for (let retried = false; ; retried = true) {
        const headers = new Headers(init.headers);
        headers.set("authorization", `Bearer ${sent}`);
        const response = await send(base + path, { ...init, headers });
        learnClock(response);
        const refusal = await refusalOf(response);
        if (refusal === null) {
          if (response.status < 400) failures = 0;
          return response;
        }
        if (refusal.serverTime !== undefined) skewMs = refusal.serverTime * 1000 - now();
        // Perhaps the nonce an app now requires (`requireNonce` turned on): the next token asks again.
        if (refusal.reason === "PAYLOAD_CONTENT_MISSING") nonceRequired = undefined;
        // An answer about a token already replaced, or being replaced, is old news: not counted.
        if (sent === token && !refreshing && ++failures >= maxFailures) suspended = true;
        report(refusal, response.status);
        if (suspended) return response;
        const next =
          sent === token ? await refresh(refusal.code === "40" ? "expired" : "rejected") : await tokenToSend();
        if (retried || !resendable || next === sent) return response;
        sent = next;
      }
    },
    setToken(next: string): void {
      adopt(checkedToken(next, "setToken"));
      generation++;
      refreshing = undefined;
      failures = 0;
      suspended = false;
    },
    reset(): void {
      token = undefined;
      times = {};
      nonceRequired = undefined;
      generation++;
      refreshing = undefined;
      failures = 0;
      suspended = false;
    },
    get suspended(): boolean {
      return suspended;
    },
  };
}
