/**
 * SDK requests: the verdict (`verdict.ts`), then what the app's mode does with it. `enforce`
 * forwards what is allowed and answers every refusal; `report` forwards token failures too, with
 * `X-Auth-Status` saying what enforce would have answered. Each refusal is one log line with its
 * code, reason and detail — never a token, secret or claim value.
 */

import { ERROR_CATALOGUE, errorResponse, GatewayError } from "../errors.ts";
import type { RawTarget } from "../lib/raw-target.ts";
import { type ForwardedIdentity, forwardToOrigin } from "./forward.ts";
import { authenticate, type ForwardBody, type GatewayDeps, type Refused, tokenFailure } from "./verdict.ts";

/**
 * One line per refused (or, in report mode, reported) request, built in one object literal: the
 * line is written for every refusal, so it costs no spread and no intermediate object.
 */
function logRefusal(
  event: "rejected" | "reported",
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

/** Authenticates one SDK request and forwards it, or answers why not. */
export async function handleSdkRequest(request: Request, target: RawTarget, deps: GatewayDeps): Promise<Response> {
  const verdict = await authenticate(request, target, deps);
  switch (verdict.outcome) {
    case "allowed": {
      const { appId, userId, claimsSegment } = verdict;
      const status = verdict.enforcement === "report" ? "ok" : undefined;
      return forward(request, target, verdict.body, { appId, userId, claimsSegment, status }, deps);
    }
    case "unchecked":
      return forward(request, target, verdict.body, { appId: verdict.appId }, deps);
    case "refused": {
      const failure = verdict.enforcement === "report" ? tokenFailure(verdict) : null;
      if (failure !== null && verdict.appId !== undefined) {
        // Report mode: what enforce would answer goes to the origin, without the user's identity.
        logRefusal("reported", verdict, request.method);
        const status = `${failure.code} ${failure.reason}`;
        return forward(request, target, verdict.body, { appId: verdict.appId, status }, deps);
      }
      logRefusal("rejected", verdict, request.method);
      return errorResponse(verdict.error);
    }
  }
}
