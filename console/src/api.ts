/**
 * The admin API, as the console calls it. The base is the page's own directory
 * (`location.pathname`), so the console works under any `ADMIN_PREFIX`. The admin token is
 * typed once, kept in `sessionStorage` (this tab only, gone when it closes) and sent as
 * `Authorization: Bearer`; requests carry no cookies (`credentials: "omit"`), so a cross-site
 * request has no credential to ride on.
 */

// The admin API's own types (type-only: nothing of the gateway's code enters the console's
// bundle), so that a field the API adds or renames breaks the console's type check.
import type { FieldError } from "../../src/apps/schema.ts";
import type { AppView, Enforcement, JwksSetView, JwksView, KeyView } from "../../src/apps/view-types.ts";

export type { AppView, Enforcement, FieldError, JwksSetView, JwksView, KeyView };

/** What `POST …/apps/{appId}/jwks/refresh` answers. */
export interface JwksRefresh extends JwksSetView {
  readonly appId: string;
  readonly jwksUri: string;
  /** `false`: the provider failed, and this is the set held before. */
  readonly refreshed: boolean;
}

/** A revoked user: their tokens issued before `before` are refused. */
export interface Revocation {
  readonly userId: string;
  readonly before: string;
}

/** A page of `GET …/apps/{appId}/revocations`, by user id. */
export interface RevocationList {
  readonly revocations: readonly Revocation[];
  readonly cursor: string | null;
}

/** What `PUT …/apps/{appId}/revocations/{userId}` answers. */
export interface RevocationAnswer extends Revocation {
  readonly appId: string;
}

export interface AppList {
  readonly apps: readonly AppView[];
  readonly cursor: string | null;
}

/** What `POST …/verify` answers (src/admin/debugger.ts). */
export interface VerifyAnswer {
  readonly appId: string;
  readonly enforcement: Enforcement;
  readonly verdict: "allowed" | "refused" | "unchecked";
  readonly httpStatus: number;
  readonly code?: string;
  readonly reason?: string;
  readonly detail?: string;
  readonly cause?: string;
  readonly why?: string;
  readonly forwarded: boolean;
  readonly headers?: Readonly<Record<string, string>>;
  readonly token: {
    readonly header: Record<string, unknown> | null;
    readonly claims: Record<string, unknown> | null;
    readonly key: { readonly kid: string | null; readonly alg: string; readonly fingerprint: string | null } | null;
  };
  readonly time: {
    readonly serverTime: number;
    readonly clockToleranceSeconds: number;
    readonly exp: number | null;
    readonly nbf: number | null;
    readonly iat: number | null;
    readonly expiresInSeconds: number | null;
  };
}

/** A window of `GET …/stats`: the last hour (a point a minute), day or week (a point an hour). */
export type StatsWindow = "1h" | "24h" | "7d";

/** Decisions by outcome (docs/metrics.md). */
export interface Outcomes {
  readonly allowed: number;
  readonly refused: number;
  readonly reported: number;
  readonly unchecked: number;
  readonly throttled: number;
}

/** One minute or hour of `series`: its outcomes, and the refused, reported and throttled ones by reason. */
export interface StatsPoint extends Outcomes {
  readonly t: string;
  readonly reasons: Readonly<Record<string, number>>;
}

/** What `GET …/apps/{appId}/stats?window=…` answers (docs/metrics.md). */
export interface Stats {
  readonly appId: string;
  readonly window: StatsWindow;
  readonly from: string;
  readonly to: string;
  readonly totals: Outcomes;
  readonly byReason: Readonly<Record<string, number>>;
  readonly byDetail: Readonly<Record<string, number>>;
  readonly series: readonly StatsPoint[];
}

/** An answer other than 2xx: the API's `{code, status, errors?}`, or a network failure (`status` 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly errors: readonly FieldError[];

  constructor(status: number, code: string, message: string, errors: readonly FieldError[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors;
  }
}

const TOKEN_KEY = "edge-authenticator:admin-token";

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The admin prefix with its slash (`/admin/`): the directory the console is served from. */
export function adminBase(): string {
  return location.pathname.replace(/[^/]*$/, "");
}

let onUnauthorized: (error: ApiError) => void = () => {};

/** What to do when the stored token stops working (rotated, or wrong): sign out and say why. */
export function whenUnauthorized(handler: (error: ApiError) => void): void {
  onUnauthorized = handler;
}

async function call<T>(method: string, path: string, body: unknown, token: string): Promise<Answer<T>> {
  let res: Response;
  try {
    res = await fetch(`${adminBase()}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "NETWORK", "The gateway did not answer: check that it is running and reachable.");
  }
  if (res.status === 204) return { status: 204, body: undefined as T };
  let answer: unknown;
  try {
    answer = await res.json();
  } catch {
    answer = undefined;
  }
  if (res.ok) return { status: res.status, body: answer as T };
  const error = answer as { code?: unknown; status?: unknown; errors?: unknown } | undefined;
  throw new ApiError(
    res.status,
    typeof error?.code === "string" ? error.code : `HTTP_${res.status}`,
    typeof error?.status === "string" ? error.status : res.statusText,
    Array.isArray(error?.errors) ? (error.errors as FieldError[]) : [],
  );
}

/** A 2xx answer: its status (`201` created, `200` replaced) and its JSON. */
export interface Answer<T> {
  readonly status: number;
  readonly body: T;
}

/** Calls the admin API with the stored token and answers the status too; a `401` signs the console out. */
export async function apiAnswer<T>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
  const token = storedToken();
  if (token === null) {
    const error = new ApiError(401, "UNAUTHORIZED", "Not signed in");
    onUnauthorized(error);
    throw error;
  }
  try {
    return await call<T>(method, path, body, token);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) onUnauthorized(error);
    throw error;
  }
}

/** Calls the admin API with the stored token; a `401` signs the console out. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await apiAnswer<T>(method, path, body)).body;
}

/** Checks a typed admin token with one small read before keeping it. */
export async function checkToken(token: string): Promise<void> {
  await call<AppList>("GET", "apps?limit=1", undefined, token);
}

export function appPath(appId: string): string {
  return `apps/${encodeURIComponent(appId)}`;
}
