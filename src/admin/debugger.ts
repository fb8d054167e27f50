/**
 * The token debugger: `POST {ADMIN_PREFIX}/apps/{appId}/verify` runs the gateway's own verdict
 * pipeline (`authenticate`, without forwarding) on a token and, optionally, the request parts an
 * SDK would send, and answers the verdict as JSON: what the gateway would answer, the precise
 * cause, the identity the origin would receive, the token's header and claims decoded (never
 * trusted), which key verified it, and its time claims against the server's clock. Nothing of
 * the token is logged.
 */

import type { KeyFingerprints } from "../apps/view.ts";
import { ERROR_CATALOGUE, GatewayError, REFUSAL_DETAILS } from "../errors.ts";
import { encodeHeaderValue } from "../gateway/forward.ts";
import { matchAppId } from "../gateway/routes.ts";
import { authenticate, type GatewayDeps, tokenFailure, type Verdict } from "../gateway/verdict.ts";
import { decodeBase64url } from "../lib/base64url.ts";
import { parseStrictJsonObject } from "../lib/json.ts";
import { rawTarget } from "../lib/raw-target.ts";
import { invalidRequest, type VerifyRequest } from "./schema.ts";

/** A JSON object segment of the token, decoded without trusting it; `null` when it is not one. */
function decodeSegment(segment: string | undefined): Record<string, unknown> | null {
  const bytes = segment === undefined ? null : decodeBase64url(segment);
  if (bytes === null) return null;
  const object = parseStrictJsonObject(bytes);
  return typeof object === "string" ? null : object;
}

function numberClaim(claims: Record<string, unknown> | null, name: string): number | null {
  const value = claims === null || !Object.hasOwn(claims, name) ? undefined : claims[name];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

export interface DebugContext {
  readonly deps: GatewayDeps;
  /** The app's key fingerprints (`fingerprintKeys` of its stored record). */
  readonly prints: KeyFingerprints;
  readonly clockToleranceSeconds: number;
}

/**
 * The fingerprint of the key at `index` of the app's keyring, whose order is the record's: the
 * v1 `secret` first when there is one, then `keys`.
 */
function fingerprintAt(prints: KeyFingerprints, index: number): string | null {
  const ordered = prints.secret === null ? prints.keys : [prints.secret, ...prints.keys];
  return ordered[index] ?? null;
}

/** The request the SDK would send: the token as its bearer, and the given path, query and body. */
function sdkRequest(input: VerifyRequest): Request {
  const headers = new Headers({ authorization: `Bearer ${input.token}` });
  if (input.contentType !== undefined) headers.set("content-type", input.contentType);
  const target = `${input.path ?? "/"}${input.query ? `?${input.query}` : ""}`;
  return new Request(`https://debugger.invalid${target}`, {
    method: input.body === undefined ? "GET" : "POST",
    headers,
    ...(input.body === undefined ? {} : { body: input.body }),
  });
}

/** What the gateway would do with the request: answer it, or forward it with these headers. */
function outcome(verdict: Verdict): Record<string, unknown> {
  switch (verdict.outcome) {
    case "allowed":
      return {
        verdict: "allowed",
        httpStatus: 200,
        forwarded: true,
        headers: {
          "x-auth-app-id": verdict.appId,
          "x-auth-user-id": encodeHeaderValue(verdict.userId),
          "x-auth-claims": verdict.claimsSegment,
          ...(verdict.enforcement === "report" ? { "x-auth-status": "ok" } : {}),
        },
      };
    case "unchecked":
      return {
        verdict: "unchecked",
        why: verdict.why,
        httpStatus: 200,
        forwarded: true,
        headers: { "x-auth-app-id": verdict.appId },
      };
    case "refused": {
      const entry = ERROR_CATALOGUE[verdict.error.kind];
      // Report mode forwards a token's failure, saying what enforce would have answered.
      const reported = verdict.enforcement === "report" ? tokenFailure(verdict) : null;
      return {
        verdict: "refused",
        httpStatus: reported === null ? entry.httpStatus : 200,
        code: entry.code,
        ...(entry.reason === undefined ? {} : { reason: entry.reason }),
        detail: verdict.detail,
        cause: REFUSAL_DETAILS[verdict.detail][1],
        forwarded: reported !== null,
        ...(reported === null
          ? {}
          : { headers: { "x-auth-app-id": verdict.appId, "x-auth-status": `${reported.code} ${reported.reason}` } }),
      };
    }
  }
}

/**
 * The verdict for `input` under app `appId`, as the admin API answers it. A path, when given, must
 * be an SDK route that names this app (`400` otherwise).
 */
export async function debugToken(
  appId: string,
  input: VerifyRequest,
  context: DebugContext,
): Promise<Record<string, unknown>> {
  const { deps } = context;
  if (input.path !== undefined && matchAppId(input.path, deps.config.appRoutes) !== appId) {
    throw invalidRequest([{ path: "path", message: "must be an SDK route that names this app" }]);
  }
  const request = sdkRequest(input);
  const verdict = await authenticate(request, rawTarget(request.url), deps, { forwarding: false, appId });
  if (verdict.outcome === "refused" && verdict.detail === "app_unknown") throw new GatewayError("APP_NOT_FOUND");
  const [headerSegment, payloadSegment] = input.token.split(".");
  const claims = decodeSegment(payloadSegment);
  // The key that verified the signature: the allowed token's, or a refused one's that got past
  // the signature (expired, a policy or binding failure).
  const verifiedBy =
    verdict.outcome === "allowed" ? verdict.key : verdict.outcome === "refused" ? verdict.facts.key : undefined;
  let key: Record<string, unknown> | null = null;
  if (verifiedBy !== undefined) {
    // The store's keyring (the cached record the verdict used) gives the key's place.
    const index = (await deps.store.get(appId))?.keyring?.keys.indexOf(verifiedBy) ?? -1;
    key = { kid: verifiedBy.kid, alg: verifiedBy.alg, fingerprint: fingerprintAt(context.prints, index) };
  }
  const serverTime = Math.floor(deps.now() / 1000);
  const exp = numberClaim(claims, "exp");
  return {
    appId,
    enforcement: verdict.enforcement,
    ...outcome(verdict),
    token: { header: decodeSegment(headerSegment), claims, key },
    time: {
      serverTime,
      clockToleranceSeconds: context.clockToleranceSeconds,
      exp,
      nbf: numberClaim(claims, "nbf"),
      iat: numberClaim(claims, "iat"),
      expiresInSeconds: exp === null ? null : exp - serverTime,
    },
  };
}
