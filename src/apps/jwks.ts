/**
 * Keys from an identity provider's JWKS (`jwksUri` in an app record): fetched on first need,
 * kept in isolate memory and in the Cache API for the response's `max-age` (clamped to 5 minutes
 * – 24 hours; 10 minutes without one), refreshed once when a token names a kid the set lacks (at
 * most once per 30 seconds per app, so random kids cannot make the gateway hammer the provider),
 * and served stale for up to 24 hours past expiry while the provider is down. A set that never
 * loaded is a fault: `503`, never a forwarded request.
 *
 * Limits: 2 s to answer, 64 KiB, at most 20 keys. Keys without `kid`, with `use` other than
 * `sig`, with private members, of an algorithm the gateway does not verify, or RSA under 2048 bits
 * are skipped (counted in the log line), never an error for the others.
 */

import { refusal } from "../errors.ts";
import { readBodyCapped } from "../lib/body.ts";
import { decodeUtf8Strict, parseJson } from "../lib/json.ts";
import { logEvent } from "../log.ts";
import { PUBLIC_KEY_ALGORITHMS, type PublicKeyAlgorithm } from "../token/algorithms.ts";
import { importVerificationKey, keyFingerprint, type VerificationKey } from "../token/keys.ts";
import { isJwksUriForm, JWKS_URI_FORM_MESSAGE } from "./schema.ts";
import type { JwksKeyView } from "./view-types.ts";

export const JWKS_TIMEOUT_MS = 2_000;
export const MAX_JWKS_BYTES = 64 * 1024;
export const MAX_JWKS_KEYS = 20;
export const DEFAULT_JWKS_TTL_SECONDS = 600;
export const MIN_JWKS_TTL_SECONDS = 300;
export const MAX_JWKS_TTL_SECONDS = 86_400;
/** How long past its expiry a set still serves while the provider fails (stale-if-error). */
export const JWKS_STALE_SECONDS = 86_400;
/** A kid the set lacks triggers at most one refresh this often per app. */
export const JWKS_UNKNOWN_KID_REFRESH_MS = 30_000;
/** After a failed load, requests do not fetch again for this long (they get the stale set, or 503). */
export const JWKS_RETRY_AFTER_FAILURE_MS = 30_000;
/** A failed refresh is logged at most this often per app. */
const FAILURE_LOG_INTERVAL_MS = 60_000;

/** A loaded JWKS: its usable keys, and when it was fetched and expires (ms since the epoch). */
export interface JwksSet {
  readonly keys: readonly VerificationKey[];
  readonly views: readonly JwksKeyView[];
  readonly fetchedAt: number;
  readonly expiresAt: number;
  /** Keys the set held that are not used, by why. */
  readonly skipped: Readonly<Record<string, number>>;
}

/** Why a JWKS URI cannot be used, or `null`. `http:` only for a local provider, and only when allowed. */
export function jwksUriProblem(uri: string, allowHttp: boolean): string | null {
  if (!isJwksUriForm(uri)) return JWKS_URI_FORM_MESSAGE;
  const url = new URL(uri);
  if (url.protocol === "https:") return null;
  const local = url.hostname === "localhost" || url.hostname === "127.0.0.1";
  if (url.protocol === "http:" && local && allowHttp) return null;
  return "must be an https URL (http only for localhost or 127.0.0.1 with ALLOW_HTTP_JWKS=true)";
}

/** The algorithm a JWK's type names when it has no `alg` (what every major provider would use). */
function inferredAlg(jwk: Record<string, unknown>): string | undefined {
  if (jwk.kty === "RSA") return "RS256";
  if (jwk.kty === "EC") return jwk.crv === "P-256" ? "ES256" : jwk.crv === "P-384" ? "ES384" : undefined;
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  return undefined;
}

/** JWK members that only a private or symmetric key has (RFC 7518 section 6). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The usable keys of a JWKS document (`{"keys": [...]}`), imported for `verify` and fingerprinted.
 * `null` when the document is not a JWKS.
 */
export async function importJwks(
  text: string,
): Promise<{ keys: VerificationKey[]; views: JwksKeyView[]; skipped: Record<string, number> } | null> {
  const document = parseJson(text);
  if (!isObject(document) || !Array.isArray(document.keys)) return null;
  const skipped: Record<string, number> = {};
  const skip = (why: string) => {
    skipped[why] = (skipped[why] ?? 0) + 1;
  };
  const keys: VerificationKey[] = [];
  const views: JwksKeyView[] = [];
  const kids = new Set<string>();
  for (const [index, jwk] of document.keys.entries()) {
    if (index >= MAX_JWKS_KEYS) skip("over_limit");
    else if (!isObject(jwk)) skip("not_a_key");
    else if (typeof jwk.kid !== "string" || jwk.kid === "" || jwk.kid.length > 128) skip("no_kid");
    else if (kids.has(jwk.kid)) skip("kid_repeated");
    else if (jwk.use !== undefined && jwk.use !== "sig") skip("not_for_signatures");
    else if (PRIVATE_MEMBERS.some((name) => Object.hasOwn(jwk, name))) skip("private_or_symmetric");
    else {
      const alg = typeof jwk.alg === "string" ? jwk.alg : inferredAlg(jwk);
      if (alg === undefined || !(PUBLIC_KEY_ALGORITHMS as readonly string[]).includes(alg)) {
        skip("unsupported_alg");
        continue;
      }
      const material = { kind: "public", alg: alg as PublicKeyAlgorithm, publicKey: jwk } as const;
      const imported = await importVerificationKey(material, true);
      if ("error" in imported) {
        skip(/RSA key must be/.test(imported.error) ? "rsa_too_short" : "not_a_valid_key");
        continue;
      }
      kids.add(jwk.kid);
      keys.push({
        kid: jwk.kid,
        alg: alg as PublicKeyAlgorithm,
        cryptoKey: imported.key,
        notBefore: null,
        notAfter: null,
        kidOnly: true,
      });
      views.push({
        kid: jwk.kid,
        alg: alg as PublicKeyAlgorithm,
        fingerprint: await keyFingerprint(material, imported.key),
      });
    }
  }
  return { keys, views, skipped };
}

/** Seconds a JWKS response may be kept: its `max-age` clamped, or the default. */
export function jwksTtlSeconds(cacheControl: string | null): number {
  const maxAge = cacheControl === null ? null : /(?:^|[,\s])max-age\s*=\s*"?(\d+)/i.exec(cacheControl)?.[1];
  if (maxAge === undefined || maxAge === null) return DEFAULT_JWKS_TTL_SECONDS;
  return Math.min(MAX_JWKS_TTL_SECONDS, Math.max(MIN_JWKS_TTL_SECONDS, Number(maxAge)));
}

/** A document as kept in the Cache API: its text, when it was fetched, and for how long it is fresh. */
interface CachedDocument {
  readonly text: string;
  readonly fetchedAt: number;
  readonly ttl: number;
}

/**
 * Why a fetch gave no JWKS: for the log line (never the document itself), with the expired Cache
 * API copy found on the way, if any (the stale fallback of an isolate that held no set).
 */
class JwksFailure {
  readonly reason: string;
  readonly stale: CachedDocument | null;

  constructor(reason: string, stale: CachedDocument | null = null) {
    this.reason = reason;
    this.stale = stale;
  }
}

export interface JwksCacheOptions {
  /** Outbound fetch (the runtime's; tests give their own). */
  readonly fetch: (request: Request) => Promise<Response>;
  /** The Cache API cache shared by the location's isolates; `null` where there is none. */
  readonly cache: Cache | null;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  readonly allowHttp: boolean;
}

interface Entry {
  set: JwksSet | null;
  loading: Promise<JwksSet> | null;
  /** When a token's unknown kid last made the set refresh. */
  lastKidRefresh: number;
  lastFailureLog: number;
  /** Until when (ms) a request does not fetch again, after a failed load. */
  retryAt: number;
}

/** Headers in the Cache API copy: when the document was fetched and its TTL, so every isolate ages it alike. */
const FETCHED_AT_HEADER = "x-edge-authenticator-fetched-at";
const TTL_HEADER = "x-edge-authenticator-ttl";

export class JwksCache {
  readonly #options: JwksCacheOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(options: JwksCacheOptions) {
    this.#options = options;
  }

  #entry(appId: string, uri: string): Entry {
    const key = `${appId}\n${uri}`;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = {
        set: null,
        loading: null,
        lastKidRefresh: Number.NEGATIVE_INFINITY,
        lastFailureLog: Number.NEGATIVE_INFINITY,
        retryAt: Number.NEGATIVE_INFINITY,
      };
      this.#entries.set(key, entry);
    }
    return entry;
  }

  /**
   * The app's keys from `uri`: the held set while it is fresh; else a fresh one (Cache API, then
   * the provider); else, while the provider fails, the held set (or the location's Cache API copy)
   * up to 24 hours past its expiry. Throws `503 CONFIG_UNAVAILABLE` (`jwks_unavailable`) when
   * there is none. After a failure no request fetches again for `JWKS_RETRY_AFTER_FAILURE_MS`, so
   * a failing provider costs no request a fetch or its timeout, and is not hammered.
   */
  async keys(appId: string, uri: string): Promise<JwksSet> {
    const entry = this.#entry(appId, uri);
    const now = this.#options.now();
    if (entry.set !== null && entry.set.expiresAt > now) return entry.set;
    if (now < entry.retryAt && entry.loading === null) return this.#staleOrRefuse(entry.set);
    return this.#load(appId, uri, entry, false);
  }

  /**
   * A fresh set when a token names a kid the held one lacks, at most once per 30 seconds per
   * app; `null` when it is too soon (or the refresh failed: the held set stands).
   */
  async refreshForUnknownKid(appId: string, uri: string): Promise<JwksSet | null> {
    const entry = this.#entry(appId, uri);
    if (this.#options.now() - entry.lastKidRefresh < JWKS_UNKNOWN_KID_REFRESH_MS) return null;
    entry.lastKidRefresh = this.#options.now();
    try {
      return await this.#load(appId, uri, entry, true);
    } catch {
      return null;
    }
  }

  /** A set fetched from the provider now (the admin API's refresh). Throws like `keys`. */
  refresh(appId: string, uri: string): Promise<JwksSet> {
    return this.#load(appId, uri, this.#entry(appId, uri), true);
  }

  #load(appId: string, uri: string, entry: Entry, fromProvider: boolean): Promise<JwksSet> {
    if (entry.loading !== null) return entry.loading;
    const loading = this.#fetchSet(appId, uri, fromProvider)
      .then((set) => {
        entry.set = set;
        entry.retryAt = Number.NEGATIVE_INFINITY;
        return set;
      })
      .catch(async (error: unknown) => {
        if (!(error instanceof JwksFailure)) throw error;
        this.#failed(appId, entry, error.reason);
        entry.retryAt = this.#options.now() + JWKS_RETRY_AFTER_FAILURE_MS;
        // An isolate that held no set (or an older one) falls back on the location's copy.
        const { stale } = error;
        if (stale !== null && stale.fetchedAt > (entry.set?.fetchedAt ?? Number.NEGATIVE_INFINITY)) {
          entry.set = (await this.#setOf(appId, uri, stale.text, stale.fetchedAt, stale.ttl)) ?? entry.set;
        }
        return this.#staleOrRefuse(entry.set);
      })
      .finally(() => {
        entry.loading = null;
      });
    entry.loading = loading;
    return loading;
  }

  /** A set past its expiry while it is within the stale window; else `503 jwks_unavailable`. */
  #staleOrRefuse(set: JwksSet | null): JwksSet {
    if (set !== null && set.expiresAt + JWKS_STALE_SECONDS * 1000 > this.#options.now()) return set;
    throw refusal("jwks_unavailable");
  }

  /** The location's Cache API copy of `uri`, fresh or not; `null` when there is none (or it fails). */
  async #cachedDocument(uri: string): Promise<CachedDocument | null> {
    const cache = this.#options.cache;
    if (cache === null) return null;
    try {
      const cached = await cache.match(uri);
      const fetchedAt = Number(cached?.headers.get(FETCHED_AT_HEADER));
      const ttl = Number(cached?.headers.get(TTL_HEADER));
      if (cached === undefined || !Number.isFinite(fetchedAt) || !Number.isInteger(ttl)) return null;
      return { text: await cached.text(), fetchedAt, ttl };
    } catch {
      return null;
    }
  }

  async #fetchSet(appId: string, uri: string, fromProvider: boolean): Promise<JwksSet> {
    const { now } = this.#options;
    // The location's copy: used while fresh; past that, kept as the fallback should the provider fail.
    const copy = fromProvider ? null : await this.#cachedDocument(uri);
    if (copy !== null && copy.fetchedAt + copy.ttl * 1000 > now()) {
      const set = await this.#setOf(appId, uri, copy.text, copy.fetchedAt, copy.ttl);
      if (set !== null) return set;
    }
    const stale = copy !== null && copy.fetchedAt + (copy.ttl + JWKS_STALE_SECONDS) * 1000 > now() ? copy : null;
    try {
      return await this.#fetchFromProvider(appId, uri);
    } catch (error) {
      throw error instanceof JwksFailure && stale !== null ? new JwksFailure(error.reason, stale) : error;
    }
  }

  async #fetchFromProvider(appId: string, uri: string): Promise<JwksSet> {
    const { cache, now } = this.#options;
    const problem = jwksUriProblem(uri, this.#options.allowHttp);
    if (problem !== null) throw new JwksFailure("uri_not_allowed");
    let response: Response;
    try {
      response = await this.#options.fetch(
        new Request(uri, {
          headers: { accept: "application/json", "cdn-loop": "edge-authenticator" },
          redirect: "manual",
          signal: AbortSignal.timeout(JWKS_TIMEOUT_MS),
        }),
      );
    } catch (error) {
      throw new JwksFailure(error instanceof Error && error.name === "TimeoutError" ? "timeout" : "unreachable");
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      throw new JwksFailure(`status_${response.status}`);
    }
    const bytes = await readBodyCapped(response, MAX_JWKS_BYTES).catch(() => null);
    if (bytes === null) throw new JwksFailure("too_large_or_cut");
    const text = decodeUtf8Strict(bytes);
    const fetchedAt = now();
    const ttl = jwksTtlSeconds(response.headers.get("cache-control"));
    const set = text === null ? null : await this.#setOf(appId, uri, text, fetchedAt, ttl);
    if (set === null) throw new JwksFailure("not_a_jwks");
    if (set.keys.length === 0) throw new JwksFailure("no_usable_key");
    if (cache !== null && text !== null) {
      // Kept through the stale window too: another isolate's fallback while the provider fails.
      const copy = new Response(text, {
        headers: {
          "cache-control": `max-age=${ttl + JWKS_STALE_SECONDS}`,
          [FETCHED_AT_HEADER]: String(fetchedAt),
          [TTL_HEADER]: String(ttl),
        },
      });
      await cache.put(uri, copy).catch(() => {});
    }
    return set;
  }

  async #setOf(appId: string, uri: string, text: string, fetchedAt: number, ttl: number): Promise<JwksSet | null> {
    const imported = await importJwks(text);
    if (imported === null) return null;
    logEvent("info", "jwks_loaded", {
      appId,
      host: new URL(uri).host,
      keys: imported.keys.length,
      ...Object.fromEntries(Object.entries(imported.skipped).map(([why, n]) => [`skipped_${why}`, n])),
    });
    return { ...imported, fetchedAt, expiresAt: fetchedAt + ttl * 1000 };
  }

  #failed(appId: string, entry: Entry, reason: string): void {
    const now = this.#options.now();
    if (now - entry.lastFailureLog < FAILURE_LOG_INTERVAL_MS) return;
    entry.lastFailureLog = now;
    logEvent("warn", "jwks_refresh_failed", { appId, reason });
  }
}
