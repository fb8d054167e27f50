/**
 * SDK requests: the verdict (`verdict.ts`), then what the app's mode does with it. `enforce`
 * forwards what is allowed and answers every refusal; `report` forwards token failures too, with
 * `X-Auth-Status` saying what enforce would have answered. Each refusal is one log line with its
 * code, reason and detail — never a token, secret or claim value.
 */

import { ERROR_CATALOGUE, errorResponse, GatewayError } from "../errors.ts";
import { readableByPage } from "../lib/cors.ts";
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
  return { appId: knownAppId(verdict), outcome, code, reason, detail: verdict.detail };
}

/**
 * The appId a refusal is counted and throttled under: the path's, once its record was read
 * (`enforcement` is set then); else `null`, the requests for no known app. A refusal decided
 * before the record is read (a loop, no origin, the store down) or for an appId no record names
 * never names a store or a key of its own: random appIds cannot create a store each.
 */
function knownAppId(verdict: Refused): string | null {
  return verdict.enforcement === null ? null : (verdict.appId ?? null);
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
 * The longest the refusal path waits for the Rate Limiting binding: past it, the refusal is
 * answered as if the client were not throttled (a hung binding never holds up an answer). The
 * binding answers from a cache on the same machine; the room is for Miniflare's emulation of it (a
 * Durable Object subrequest) on a loaded test machine, where a late answer would make a throttled
 * client look unthrottled.
 */
export const FAILURE_LIMIT_TIMEOUT_MS = 200;

const HEXTET = /^[0-9a-f]{1,4}$/;
const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The 8 hextets of a textual IPv6 address (`::` expanded, a trailing dotted quad read), or `null`. */
function ipv6Hextets(address: string): number[] | null {
  const halves = address.split("::");
  if (halves.length > 2) return null;
  const groups = halves.map((half) => (half === "" ? [] : half.split(":")));
  const hextets: number[][] = [];
  for (const [h, half] of groups.entries()) {
    const numbers: number[] = [];
    for (const [i, group] of half.entries()) {
      const quad = h === groups.length - 1 && i === half.length - 1 ? DOTTED_QUAD.exec(group) : null;
      if (quad !== null) {
        const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
        if (a > 255 || b > 255 || c > 255 || d > 255) return null;
        numbers.push((a << 8) | b, (c << 8) | d);
      } else if (HEXTET.test(group)) numbers.push(Number.parseInt(group, 16));
      else return null;
    }
    hextets.push(numbers);
  }
  const [head = [], tail = []] = hextets;
  const given = head.length + tail.length;
  // `::` stands for at least one zero hextet; without it, all eight are written.
  if (halves.length === 2 ? given > 7 : given !== 8) return null;
  return [...head, ...Array<number>(8 - given).fill(0), ...tail];
}

/**
 * Who a refusal is counted against (`CF-Connecting-IP`): an IPv4 address as it is; an IPv6
 * address by its `/64` (`2001:db8:0:1::/64`, whatever the address's spelling), the block one
 * client holds, so rotating addresses within it gains nothing; an IPv4-mapped IPv6 address
 * (`::ffff:1.2.3.4`) as its IPv4 address. Text that is not an IPv6 address is used as it is,
 * as before: it is never dropped and never shares a key with other clients. Refusal path only.
 */
export function failureLimitClient(ip: string): string {
  if (!ip.includes(":")) return ip;
  const hextets = ipv6Hextets(ip.toLowerCase());
  if (hextets === null) return ip;
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0] = hextets;
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0xffff) {
    return `${g >> 8}.${g & 255}.${h >> 8}.${h & 255}`;
  }
  return `${a.toString(16)}:${b.toString(16)}:${c.toString(16)}:${d.toString(16)}::/64`;
}

/**
 * Whether the client has collected more refusals for this app than the Rate Limiting binding
 * allows in its period. Called on the refusal path only, never for a request that passes. The
 * client is its `CF-Connecting-IP` (an IPv6 address by its `/64`); requests for no known app
 * share one key per client. No answer from the binding within `FAILURE_LIMIT_TIMEOUT_MS`, or a
 * failure, is "not throttled".
 */
async function overFailureLimit(request: Request, verdict: Refused, limiter: RateLimit): Promise<boolean> {
  const ip = request.headers.get("cf-connecting-ip");
  if (ip === null) return false;
  const key = `${knownAppId(verdict) ?? ""}|${failureLimitClient(ip)}`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const outcome = await Promise.race([
      limiter.limit({ key }),
      new Promise<null>((resolve) => {
        timer = setTimeout(resolve, FAILURE_LIMIT_TIMEOUT_MS, null);
      }),
    ]);
    return outcome !== null && !outcome.success;
  } catch {
    // Throttling is a defence, not a decision: without an answer, the refusal stands as it is.
    return false;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/**
 * An answer the gateway makes itself to an SDK in a browser (a request with `Origin`): readable
 * by the page that sent it, so the SDK sees the code and reason (and the `Date` and
 * `Retry-After` it refreshes and waits by) instead of a network error. No credentials are
 * allowed, and the body holds nothing but the error: echoing the origin exposes nothing.
 */
function readableByBrowsers(request: Request, response: Response): Response {
  return readableByPage(request, response, "Date, Retry-After, WWW-Authenticate");
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
