/**
 * The verdict pipeline (CONTRACT sections 1 and 3): path → record → token → signature → time →
 * claims → binding, in that order, the first failure deciding. `authenticate` returns the
 * verdict as a value — allowed (the identity, the body to forward, the key that matched),
 * forwarded without a check, or refused (the catalogue entry and the precise `detail`) — and
 * every caller reads the same one: enforce and report mode (`sdk.ts`), the token debugger,
 * metrics. None of them repeats a step. A known fault (KV down, a stored record that breaks the
 * rules, no origin) is a refusal too, answered `503` with its detail; anything else thrown (a
 * bug) is not a verdict: it propagates, and ends in `500`. Neither is ever forwarded.
 */

import type { JwksCache, JwksSet } from "../apps/jwks.ts";
import type { AppStore, ResolvedApp } from "../apps/store.ts";
import type { Enforcement } from "../apps/view-types.ts";
import type { GatewayConfig } from "../config.ts";
import { ERROR_CATALOGUE, GatewayError, type RefusalDetail, refusal } from "../errors.ts";
import { encodeBase64url } from "../lib/base64url.ts";
import { ownMember } from "../lib/json.ts";
import type { RawTarget } from "../lib/raw-target.ts";
import { logEvent } from "../log.ts";
import type { DecisionRecorder } from "../metrics/recorder.ts";
import type { AppNonces } from "../nonces/app-nonces.ts";
import { NONCE_CLAIM_GRACE_SECONDS, readNonce } from "../nonces/nonce.ts";
import { checkTimeClaims, timeClaims } from "../token/claims.ts";
import { isWithinWindow, type Keyring, keyring, type VerificationKey } from "../token/keys.ts";
import { type TokenFacts, type VerifiedToken, verifyAppToken } from "../token/verify.ts";
import { checkRequestIdentities, readRequestIdentities } from "./binding.ts";
import { bearerToken } from "./credentials.ts";
import { hasOwnHop, isWorkerOnlyHost } from "./forward.ts";
import { resolveAppId } from "./routes.ts";
import type { VerifiedTokenCache } from "./token-cache.ts";

export interface GatewayDeps {
  readonly config: GatewayConfig;
  readonly store: AppStore;
  readonly tokens: VerifiedTokenCache;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** Counts each decision; `null` without the `METRICS` binding. */
  readonly metrics?: DecisionRecorder | null;
  /** The Rate Limiting binding for refusals; `null` (no throttling) without it. */
  readonly limiter?: RateLimit | null;
  /** Keys from apps' JWKS URLs; `null`: an app with a `jwksUri` answers `503`. */
  readonly jwks?: JwksCache | null;
  /** Challenge nonces: the MAC key and the store of bindings; `null`: an app that requires one answers `503`. */
  readonly nonces?: NonceService | null;
}

export interface NonceService {
  /** From `NONCE_SECRET`; `null` when it is not set. */
  readonly key: Promise<CryptoKey> | null;
  /** The `NONCES` Durable Object namespace; `null` when it is not bound. */
  readonly store: DurableObjectNamespace<AppNonces> | null;
}

const UTF8 = new TextEncoder();

/** SHA-256 of a token, base64url: what the nonce store keeps instead of the token. */
async function tokenHash(token: string): Promise<string> {
  return encodeBase64url(new Uint8Array(await crypto.subtle.digest("SHA-256", UTF8.encode(token))));
}

/**
 * The challenge (`requireNonce`): the token's `nonce` must be one this gateway issued for the app,
 * valid when the token was issued, and not carried by another token before. Runs once per token
 * and isolate (a verified token is cached), after every other check of the token.
 */
async function checkNonce(token: string, claims: Record<string, unknown>, app: ResolvedApp, deps: GatewayDeps) {
  const service = deps.nonces;
  if (!service?.key || !service.store) throw refusal("nonce_unconfigured");
  const nonce = ownMember(claims, "nonce");
  if (typeof nonce !== "string") throw refusal("nonce_missing");
  const issued = await readNonce(await service.key, app.appId, nonce);
  if (issued === null) throw refusal("nonce_invalid");
  const { iat, exp } = timeClaims(claims, app.policy.acceptMillisecondTimestamps);
  if (iat === undefined || iat > issued.expiresAt) throw refusal("nonce_expired");
  // The binding lasts as long as this token can pass, so no second token can take the nonce over.
  const keepUntil =
    exp === undefined
      ? Number.MAX_SAFE_INTEGER
      : Math.max(issued.expiresAt, Math.ceil(exp) + app.clockToleranceSeconds);
  let binding: string;
  try {
    binding = await service.store.get(service.store.idFromName(app.appId)).bind(issued.id, await tokenHash(token), {
      keepUntil,
      claimableUntil: issued.expiresAt + NONCE_CLAIM_GRACE_SECONDS,
      now: Math.floor(deps.now() / 1000),
    });
  } catch {
    throw refusal("nonce_store_unavailable");
  }
  if (binding === "reused") throw refusal("nonce_reused");
  if (binding !== "bound") throw refusal("nonce_expired");
}

/** What to forward as the body: the bytes when the pipeline read them, else the request's stream. */
export type ForwardBody = ReadableStream<Uint8Array> | Uint8Array | null;

/** The token passed every check, and the request names no other identity. */
export interface Allowed {
  readonly outcome: "allowed";
  readonly appId: string;
  readonly enforcement: Exclude<Enforcement, "off">;
  /** The first present of the app's user claims: `X-Auth-User-Id`. */
  readonly userId: string;
  readonly claims: Readonly<Record<string, unknown>>;
  /** The payload segment as received: `X-Auth-Claims`. */
  readonly claimsSegment: string;
  /** The key whose signature verified. */
  readonly key: VerificationKey;
  readonly body: ForwardBody;
}

/** Forwarded without a token check: the app's enforcement is off, or a CORS preflight. */
export interface Unchecked {
  readonly outcome: "unchecked";
  readonly appId: string;
  readonly enforcement: Enforcement;
  readonly why: "enforcement_off" | "preflight";
  readonly body: ForwardBody;
}

/** Refused: the answer (`error`) and its precise cause. */
export interface Refused {
  readonly outcome: "refused";
  /** The path's appId, once the path named a valid one. */
  readonly appId: string | undefined;
  /** The app's mode, once its record was read: report mode forwards token failures anyway. */
  readonly enforcement: Enforcement | null;
  readonly error: GatewayError;
  readonly detail: RefusalDetail;
  /** What verification learned of the token that is safe to log: its `alg` and `kid` once they are the app's. */
  readonly facts: Readonly<TokenFacts>;
  /**
   * What report mode forwards: the request's stream, or the bytes once the binding step has read
   * them whole (a body refused while being read is never forwarded).
   */
  readonly body: ForwardBody;
}

export type Verdict = Allowed | Unchecked | Refused;

/**
 * Headers by which frameworks let a request claim another method. A browser never sends one on
 * a preflight; an origin that honours one would run an unauthenticated `OPTIONS` as `DELETE`.
 */
const METHOD_OVERRIDES = ["x-http-method-override", "x-http-method", "x-method-override"] as const;

/**
 * A CORS preflight carries no credentials by design (Fetch standard), so it cannot be checked.
 * One that also asks for another method is no preflight, and needs a token like any request.
 */
function isPreflight(request: Request): boolean {
  const { headers } = request;
  return (
    request.method === "OPTIONS" &&
    headers.has("origin") &&
    headers.has("access-control-request-method") &&
    !METHOD_OVERRIDES.some((name) => headers.has(name))
  );
}

/**
 * Why requests for `requestUrl` cannot be forwarded under `config`, or `null` when they can: no
 * `ORIGIN` and no `ORIGIN_URL` on a host that serves only this Worker, where "the request's own
 * URL" is the gateway again.
 */
export function missingOrigin(requestUrl: string, config: GatewayConfig): string | null {
  if (config.origin.kind !== "route" || !isWorkerOnlyHost(requestUrl)) return null;
  return "no origin: set ORIGIN_URL or bind ORIGIN, or run the Worker on a route in front of the origin";
}

/** The keyring of an app with a JWKS: its own keys and the set's, made once per set. */
const jwksRings = new WeakMap<JwksSet, { readonly app: ResolvedApp; readonly ring: Keyring }>();

function withJwks(app: ResolvedApp, set: JwksSet): Keyring {
  const made = jwksRings.get(set);
  if (made?.app === app) return made.ring;
  const ring = keyring([...(app.keyring?.keys ?? []), ...set.keys]);
  jwksRings.set(set, { app, ring });
  return ring;
}

/** The keys of an app with a JWKS now: its record's and the set's (`503` when the set never loaded). */
async function jwksRing(app: ResolvedApp & { jwksUri: string }, deps: GatewayDeps): Promise<Keyring> {
  if (!deps.jwks) throw refusal("jwks_unavailable");
  return withJwks(app, await deps.jwks.keys(app.appId, app.jwksUri));
}

/** The request's bearer token, verified under the app's key and policy (cached per record). */
async function verifyRequestToken(
  request: Request,
  app: ResolvedApp,
  deps: GatewayDeps,
  facts: TokenFacts,
): Promise<VerifiedToken> {
  // The credential first: a request without a token never makes the gateway fetch a JWKS.
  const token = bearerToken(request.headers.get("authorization"));
  const now = deps.now() / 1000;
  // Without a JWKS the record's keys are all there is: no await on the hot path.
  let ring =
    app.jwksUri === null ? (app.keyring as Keyring) : await jwksRing(app as ResolvedApp & { jwksUri: string }, deps);
  const cached = deps.tokens.get(token, app);
  // A key whose window has closed, or that the provider's set no longer holds, takes its tokens
  // with it: verify again (and fail).
  if (cached && isWithinWindow(cached.key, now) && (app.jwksUri === null || ring.keys.includes(cached.key))) {
    facts.alg = cached.key.alg;
    facts.key = cached.key;
    if (cached.key.kid !== null) facts.kid = cached.key.kid;
    // Signature and claims were checked under this record; time moves on, so check it again.
    checkTimeClaims(cached.claims, {
      now,
      clockToleranceSeconds: app.clockToleranceSeconds,
      acceptMillisecondTimestamps: app.policy.acceptMillisecondTimestamps,
    });
    return cached;
  }
  const options = {
    appId: app.appId,
    revocations: app.revocations,
    clockToleranceSeconds: app.clockToleranceSeconds,
    now,
    policy: app.policy,
    facts,
  };
  let verified: VerifiedToken;
  try {
    verified = await verifyAppToken(token, { ...options, keyring: ring });
  } catch (error) {
    // A kid the provider's set lacks may be its new key: one refresh (rate-limited), one retry.
    const unknownKid = error instanceof GatewayError && error.options.detail === "kid_unknown";
    const fresh =
      unknownKid && app.jwksUri !== null ? await deps.jwks?.refreshForUnknownKid(app.appId, app.jwksUri) : null;
    if (!fresh) throw error;
    ring = withJwks(app, fresh);
    verified = await verifyAppToken(token, { ...options, keyring: ring });
  }
  if (app.policy.requireNonce) await checkNonce(token, verified.claims, app, deps);
  deps.tokens.set(token, app, verified);
  return verified;
}

export interface AuthenticateOptions {
  /**
   * Whether the request is to be forwarded (the gateway), so that a loop and a missing origin
   * are refusals too; the token debugger judges without forwarding.
   */
  readonly forwarding?: boolean;
  /**
   * The app, when the caller knows it and the request has no path of its own (the token debugger
   * without a path: its request's path is `/`).
   */
  readonly appId?: string;
}

/**
 * The verdict for one SDK request: never throws for a request it refuses (known faults included);
 * throws only for a bug, which the caller answers with `500` and never forwards.
 */
export async function authenticate(
  request: Request,
  target: RawTarget,
  deps: GatewayDeps,
  { forwarding = true, appId: knownAppId }: AuthenticateOptions = {},
): Promise<Verdict> {
  let appId: string | undefined;
  let enforcement: Enforcement | null = null;
  let body: ForwardBody = request.body;
  const facts: TokenFacts = {};
  try {
    appId = knownAppId !== undefined && target.path === "/" ? knownAppId : resolveAppId(target.path, deps.config);
    if (forwarding) {
      // A request that already went through this gateway would go round again: answer it here.
      if (hasOwnHop(request.headers.get("cdn-loop"))) throw refusal("loop_detected");
      const noOrigin = missingOrigin(request.url, deps.config);
      if (noOrigin !== null) {
        logEvent("error", "config_invalid", { variable: "ORIGIN_URL", rule: noOrigin });
        throw refusal("origin_missing");
      }
    }
    const app = await deps.store.get(appId);
    if (app === null) throw refusal("app_unknown");
    enforcement = app.enforcement;
    if (app.enforcement === "off") {
      return { outcome: "unchecked", appId, enforcement: app.enforcement, why: "enforcement_off", body };
    }
    if (isPreflight(request))
      return { outcome: "unchecked", appId, enforcement: app.enforcement, why: "preflight", body };
    // A record that checks tokens always has a key source (`checkRecord`); without one, fail closed.
    if (app.keyring === null && app.jwksUri === null) throw refusal("record_invalid");
    const verified = await verifyRequestToken(request, app, deps, facts);
    const named = await readRequestIdentities(request, target.query, {
      maxBodyBytes: deps.config.maxBodyBytes,
      requestBindings: app.policy.requestBindings,
    });
    body = named.body;
    checkRequestIdentities(named, verified.claims);
    return {
      outcome: "allowed",
      appId,
      enforcement: app.enforcement,
      userId: verified.userId,
      claims: verified.claims,
      claimsSegment: verified.payloadSegment,
      key: verified.key,
      body,
    };
  } catch (error) {
    if (!(error instanceof GatewayError) || error.options.detail === undefined) throw error;
    return { outcome: "refused", appId, enforcement, error, detail: error.options.detail, facts, body };
  }
}

/** The code and reason of a refusal that concerns the token (`38`, `39`, `40`): what report mode forwards. */
export function tokenFailure(verdict: Refused): { readonly code: string; readonly reason: string } | null {
  const { code, reason } = ERROR_CATALOGUE[verdict.error.kind];
  return reason !== undefined && (code === "38" || code === "39" || code === "40") ? { code, reason } : null;
}
