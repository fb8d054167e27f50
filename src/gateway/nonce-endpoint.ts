/**
 * `POST /.well-known/edge-authenticator/apps/{appId}/nonce`: a challenge nonce for an SDK that
 * must put one into its token (`requireNonce`). Answered by the gateway, never forwarded, outside
 * the SDK routes; `Cache-Control: no-store`; readable by a page on any origin (CORS, without
 * credentials), since an SDK in a browser asks for it before it has a token.
 */

import { APP_ID_PATTERN } from "../apps/kv-keys.ts";
import { errorResponse, GatewayError, jsonResponse } from "../errors.ts";
import { readableByPage } from "../lib/cors.ts";
import { issueNonce, NONCE_TTL_SECONDS } from "../nonces/nonce.ts";
import type { GatewayDeps } from "./verdict.ts";

/** Where the gateway answers for itself, outside any app's routes. */
export const WELL_KNOWN_PREFIX = "/.well-known/edge-authenticator/";
const NONCE_PATH = /^\/\.well-known\/edge-authenticator\/apps\/([^/]+)\/nonce\/?$/;

/** The answer to a request under `WELL_KNOWN_PREFIX`. */
export async function handleWellKnown(request: Request, path: string, deps: GatewayDeps): Promise<Response> {
  const appId = NONCE_PATH.exec(path)?.[1];
  if (appId === undefined) return errorResponse(new GatewayError("NOT_FOUND"));
  if (request.method === "OPTIONS") {
    // A browser's preflight for a POST with a JSON content type.
    const headers = new Headers({
      "access-control-allow-methods": "POST",
      "access-control-allow-headers": "content-type",
      "access-control-max-age": "86400",
      "cache-control": "no-store",
    });
    return readableByPage(request, new Response(null, { status: 204, headers }));
  }
  if (request.method !== "POST") return readableByPage(request, errorResponse(new GatewayError("METHOD_NOT_ALLOWED")));
  if (!APP_ID_PATTERN.test(appId)) {
    return readableByPage(request, errorResponse(new GatewayError("BAD_REQUEST", { status: "Invalid appId in path" })));
  }
  // A nonce only for an app that exists (one cached KV read per app and period).
  const app = await deps.store.get(appId);
  if (app === null) return readableByPage(request, errorResponse(new GatewayError("APP_NOT_FOUND")));
  const key = deps.nonces?.key;
  if (!key) {
    // Without NONCE_SECRET an app that needs no nonce still gets its definitive answer; one that
    // requires one cannot be served (its tokens are refused with nonce_unconfigured too).
    if (!app.policy.requireNonce) return readableByPage(request, jsonResponse({ required: false }));
    const status = "Nonces are not configured (NONCE_SECRET)";
    return readableByPage(request, errorResponse(new GatewayError("CONFIG_UNAVAILABLE", { status })));
  }
  const nonce = await issueNonce(await key, appId, deps.now() / 1000);
  // `required` tells an SDK whether the app's tokens must carry it (the client asks only then).
  return readableByPage(
    request,
    jsonResponse({ nonce, expiresIn: NONCE_TTL_SECONDS, required: app.policy.requireNonce }),
  );
}
