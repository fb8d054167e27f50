/**
 * SDK requests: the verdict (`verdict.ts`), then what the app's mode does with it. `enforce`
 * forwards what is allowed and answers every refusal; `report` forwards token failures too, with
 * `X-Auth-Status` saying what enforce would have answered. Each refusal is one log line with its
 * code, reason and detail — never a token, secret or claim value.
 */

import { ERROR_CATALOGUE, errorResponse, GatewayError } from "../errors.ts";
import type { RawTarget } from "../lib/raw-target.ts";
import type { Decision, Outcome } from "../metrics/counts.ts";
import { type ForwardedIdentity, forwardToOrigin } from "./forward.ts";
import { authenticate, type ForwardBody, type GatewayDeps, type Refused, tokenFailure } from "./verdict.ts";

/**
 * One line per refused (or, in report mode, reported) request, built in one object literal: the
 * line is written for every refusal, so it costs no spread and no intermediate object.
 */
function logRefusal(
  event: "rejected" | "reported" | "throttled",
  refused: Pick<Refused, "appId" | "error" | "detail" | "facts">,
  method: string,
): void {
  const entry = ERROR_CATALOGUE[refused.error.kind];
  const error = entry.httpStatus >= 500;
  const line = JSON.stringify({
    level: error ? "error" : "info",
    event,
    appId: refused.appId,
    method,
    httpStatus: entry.httpStatus,
    code: entry.code,
    reason: entry.reason,
    detail: refused.detail,
    alg: refused.facts.alg,
    kid: refused.facts.kid,
  });
  if (error) console.error(line);
  else console.log(line);
}

/** Forwards, answering a failure to reach the origin (`502`, `504`) with one log line. */
async function forward(
  request: Request,
  target: RawTarget,
  body: ForwardBody,
  identity: ForwardedIdentity,
  deps: GatewayDeps,
): Promise<Response> {
  try {
    return await forwardToOrigin({ request, pathAndQuery: target.pathAndQuery, body, identity }, deps.config);
  } catch (error) {
    const detail = error instanceof GatewayError ? error.options.detail : undefined;
    if (detail === undefined) throw error;
    logRefusal("rejected", { appId: identity.appId, error: error as GatewayError, detail, facts: {} }, request.method);
    return errorResponse(error as GatewayError);
  }
}

/** The decision as metrics count it. */
function decision(verdict: Refused, outcome: Outcome): Decision {
  const { code, reason = "" } = ERROR_CATALOGUE[verdict.error.kind];
  // An appId no record names is counted with the requests that named none: random appIds cannot
  // create a store each.
  const appId = verdict.detail === "app_unknown" ? null : (verdict.appId ?? null);
  return { appId, outcome, code, reason, detail: verdict.detail };
}

/**
 * `Retry-After` of a `429`: the Rate Limiting binding's period is 10 or 60 seconds (the only two
 * it allows), so after 60 the client's count has started over.
 */
const FAILURE_LIMIT_PERIOD_SECONDS = 60;

/** The answer to a client past the limit of refusals: `429` until the period passes. */
function tooManyFailures(): Response {
  const response = errorResponse(new GatewayError("TOO_MANY_FAILURES"));
  response.headers.set("retry-after", String(FAILURE_LIMIT_PERIOD_SECONDS));
  return response;
}

/**
 * Whether the client has collected more refusals for this app than the Rate Limiting binding
 * allows in its period. Called on the refusal path only, never for a request that passes. The
 * client is its `CF-Connecting-IP`; requests for appIds no record names share one key per IP.
 */
async function overFailureLimit(request: Request, verdict: Refused, limiter: RateLimit): Promise<boolean> {
  const ip = request.headers.get("cf-connecting-ip");
  if (ip === null) return false;
  const app = verdict.detail === "app_unknown" || verdict.appId === undefined ? "" : verdict.appId;
  try {
    return !(await limiter.limit({ key: `${app}|${ip}` })).success;
  } catch {
    // Throttling is a defence, not a decision: without an answer, the refusal stands as it is.
    return false;
  }
}

/**
 * An answer the gateway makes itself to an SDK in a browser (a request with `Origin`): readable
 * by the page that sent it, so the SDK sees the code and reason (and the `Date` and
 * `Retry-After` it refreshes and waits by) instead of a network error. No credentials are
 * allowed, and the body holds nothing but the error: echoing the origin exposes nothing.
 */
function readableByBrowsers(request: Request, response: Response): Response {
  const origin = request.headers.get("origin");
  if (origin === null) return response;
  response.headers.set("access-control-allow-origin", origin);
  response.headers.append("vary", "Origin");
  response.headers.set("access-control-expose-headers", "Date, Retry-After, WWW-Authenticate");
  return response;
}

/**
 * Authenticates one SDK request and forwards it, or answers why not; each decision is counted
 * (`deps.metrics`), off the answer's path.
 */
export async function handleSdkRequest(
  request: Request,
  target: RawTarget,
  deps: GatewayDeps,
  ctx: Pick<ExecutionContext, "waitUntil">,
): Promise<Response> {
  const verdict = await authenticate(request, target, deps);
  const count = (counted: Decision) => deps.metrics?.record(counted, (promise) => ctx.waitUntil(promise));
  switch (verdict.outcome) {
    case "allowed": {
      const { appId, userId, claimsSegment } = verdict;
      count({ appId, outcome: "allowed", code: "", reason: "", detail: "" });
      const status = verdict.enforcement === "report" ? "ok" : undefined;
      return forward(request, target, verdict.body, { appId, userId, claimsSegment, status }, deps);
    }
    case "unchecked":
      count({ appId: verdict.appId, outcome: "unchecked", code: "", reason: "", detail: "" });
      return forward(request, target, verdict.body, { appId: verdict.appId }, deps);
    case "refused": {
      const failure = verdict.enforcement === "report" ? tokenFailure(verdict) : null;
      if (failure !== null && verdict.appId !== undefined) {
        // Report mode: what enforce would answer goes to the origin, without the user's identity.
        logRefusal("reported", verdict, request.method);
        count(decision(verdict, "reported"));
        const status = `${failure.code} ${failure.reason}`;
        return forward(request, target, verdict.body, { appId: verdict.appId, status }, deps);
      }
      const clientFault = ERROR_CATALOGUE[verdict.error.kind].httpStatus < 500;
      const { limiter } = deps;
      if (clientFault && limiter && (await overFailureLimit(request, verdict, limiter))) {
        logRefusal("throttled", verdict, request.method);
        count(decision(verdict, "throttled"));
        return readableByBrowsers(request, tooManyFailures());
      }
      logRefusal("rejected", verdict, request.method);
      count(decision(verdict, "refused"));
      return readableByBrowsers(request, errorResponse(verdict.error));
    }
  }
}
