/**
 * Reads and validates the Worker's variables (CONTRACT section 7) once per `env` object. A bad
 * value is a `ConfigError` naming the variable and the rule it breaks, never a guess: the
 * gateway then answers `500 INTERNAL_ERROR` on every route, `/healthz` included.
 */

/**
 * The bindings and variables the Worker is given: the bindings `wrangler types` generates from
 * wrangler.toml (`Cloudflare.Env` in worker-configuration.d.ts: APPS), with the optional settings of
 * CONTRACT section 7 typed here, whatever an environment of wrangler.toml sets. Vars may arrive as
 * strings or JSON values.
 */
export type Env = Omit<Cloudflare.Env, keyof EnvSettings> & EnvSettings;

interface EnvSettings {
  ADMIN_TOKEN?: string;
  ORIGIN_SECRET?: string;
  ORIGIN?: Fetcher;
  ORIGIN_URL?: string;
  APP_ROUTES?: string;
  ADMIN_PREFIX?: string;
  FORWARD_AUTHORIZATION?: string | boolean;
  MAX_BODY_BYTES?: string | number;
  CONFIG_CACHE_TTL_SECONDS?: string | number;
  ORIGIN_TIMEOUT_MS?: string | number;
  /** The admin console's files (`[assets]` in wrangler.toml); without them the console is 404. */
  ASSETS?: Fetcher;
  METRICS_FLUSH_MS?: string | number;
  /** The secret challenge nonces are MAC'd with; unset: no nonces (apps that require one answer 503). */
  NONCE_SECRET?: string;
  /** Nonce bindings, a Durable Object per app (`AppNonces`). */
  NONCES?: DurableObjectNamespace;
  /** `"true"`: a `jwksUri` may be plain http on localhost (local development and tests). */
  ALLOW_HTTP_JWKS?: string | boolean;
  /** Decision counts, a Durable Object per app (`AppMetrics`); none: nothing is counted. */
  METRICS?: DurableObjectNamespace;
  /** One Analytics Engine data point per decision; none: skipped. */
  DECISIONS?: AnalyticsEngineDataset;
  /** The Rate Limiting binding for refusals; none: no throttling. */
  FAILURE_LIMITER?: RateLimit;
}

export interface OriginUrl {
  /** `scheme://host[:port]`. */
  readonly origin: string;
  /** The URL's path without its trailing `/` (`""` for a bare origin). */
  readonly pathPrefix: string;
}

/**
 * Where forwarded requests go (CONTRACT section 4), first that applies: the `ORIGIN` service
 * binding, `ORIGIN_URL`, or the request's own URL (`route`: the Worker runs on a route in front
 * of the origin, and the subrequest leaves the Worker for it).
 */
export type OriginTarget =
  | { readonly kind: "binding"; readonly fetcher: Fetcher }
  | ({ readonly kind: "url" } & OriginUrl)
  | { readonly kind: "route" };

export interface GatewayConfig {
  readonly origin: OriginTarget;
  /** `ORIGIN_SECRET`: sent on every forwarded request for the origin to check; `null` when unset. */
  readonly originSecret: string | null;
  /** `NONCE_SECRET`: the key of challenge nonces; `null` when unset. */
  readonly nonceSecret: string | null;
  /** `null`: the default rule of CONTRACT section 1 (a segment `app`, then the appId). */
  readonly appRoutes: readonly URLPattern[] | null;
  readonly adminPrefix: string;
  readonly forwardAuthorization: boolean;
  readonly maxBodyBytes: number;
  readonly configCacheTtlMs: number;
  readonly originTimeoutMs: number;
  /** The longest a decision waits in an isolate's batch before it is sent to its app's counts. */
  readonly metricsFlushMs: number;
  /** `ALLOW_HTTP_JWKS`: a `jwksUri` may be `http:` on localhost or 127.0.0.1. */
  readonly allowHttpJwks: boolean;
}

export const DEFAULT_ADMIN_PREFIX = "/admin";
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;
export const DEFAULT_CONFIG_CACHE_TTL_SECONDS = 60;
export const DEFAULT_ORIGIN_TIMEOUT_MS = 30_000;
export const DEFAULT_METRICS_FLUSH_MS = 5_000;
/** Counts are exact within 10 s of a decision: the documented delay. */
const MAX_METRICS_FLUSH_MS = 10_000;
/** Workers accept request bodies of up to 100 MB on every plan; inspecting more is pointless. */
const MAX_BODY_BYTES_LIMIT = 100 * 1_048_576;
const MAX_CONFIG_CACHE_TTL_SECONDS = 86_400;
/** Ten minutes: longer than any origin answer an SDK would wait for. */
const MAX_ORIGIN_TIMEOUT_MS = 600_000;
/**
 * `ORIGIN_SECRET` and `NONCE_SECRET`: 32 to 1024 visible ASCII characters. Shorter is guessable;
 * anything else could not travel in a header (or a `wrangler secret put`) unchanged.
 */
const SECRET_SHAPE = /^[\x21-\x7e]{32,1024}$/;

export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, rule: string) {
    super(`${variable}: ${rule}`);
    this.name = "ConfigError";
    this.variable = variable;
  }
}

const configs = new WeakMap<object, GatewayConfig>();

/** The validated configuration for `env`, computed once per `env` object. Throws `ConfigError`. */
export function loadConfig(env: Env): GatewayConfig {
  let config = configs.get(env);
  if (!config) {
    config = parseConfig(env);
    configs.set(env, config);
  }
  return config;
}

export function parseConfig(env: Env): GatewayConfig {
  if (!env.APPS || typeof (env.APPS as Partial<KVNamespace>).get !== "function") {
    throw new ConfigError("APPS", "a KV namespace binding is required");
  }
  if (env.ORIGIN !== undefined && typeof (env.ORIGIN as Partial<Fetcher>).fetch !== "function") {
    throw new ConfigError("ORIGIN", "must be a service binding");
  }
  const originUrl = parseOriginUrl(env.ORIGIN_URL);
  return {
    origin: env.ORIGIN
      ? { kind: "binding", fetcher: env.ORIGIN }
      : originUrl
        ? { kind: "url", ...originUrl }
        : { kind: "route" },
    originSecret: parseSecret("ORIGIN_SECRET", env.ORIGIN_SECRET),
    nonceSecret: parseSecret("NONCE_SECRET", env.NONCE_SECRET),
    appRoutes: parseAppRoutes(env.APP_ROUTES),
    adminPrefix: parseAdminPrefix(env.ADMIN_PREFIX),
    forwardAuthorization: parseBoolean("FORWARD_AUTHORIZATION", env.FORWARD_AUTHORIZATION, true),
    maxBodyBytes: parseInteger("MAX_BODY_BYTES", env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES, 1, MAX_BODY_BYTES_LIMIT),
    configCacheTtlMs:
      parseInteger(
        "CONFIG_CACHE_TTL_SECONDS",
        env.CONFIG_CACHE_TTL_SECONDS,
        DEFAULT_CONFIG_CACHE_TTL_SECONDS,
        0,
        MAX_CONFIG_CACHE_TTL_SECONDS,
      ) * 1000,
    originTimeoutMs: parseInteger(
      "ORIGIN_TIMEOUT_MS",
      env.ORIGIN_TIMEOUT_MS,
      DEFAULT_ORIGIN_TIMEOUT_MS,
      1,
      MAX_ORIGIN_TIMEOUT_MS,
    ),
    allowHttpJwks: parseBoolean("ALLOW_HTTP_JWKS", env.ALLOW_HTTP_JWKS, false),
    metricsFlushMs: parseInteger(
      "METRICS_FLUSH_MS",
      env.METRICS_FLUSH_MS,
      DEFAULT_METRICS_FLUSH_MS,
      1,
      MAX_METRICS_FLUSH_MS,
    ),
  };
}

function isUnset(value: unknown): value is undefined {
  return value === undefined;
}

function parseOriginUrl(value: unknown): OriginUrl | null {
  if (isUnset(value)) return null;
  if (typeof value !== "string") throw new ConfigError("ORIGIN_URL", "must be a string");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError("ORIGIN_URL", "must be an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError("ORIGIN_URL", "must be an http or https URL");
  }
  if (url.username || url.password || url.search || url.hash || value.includes("?") || value.includes("#")) {
    throw new ConfigError("ORIGIN_URL", "must not hold credentials, a query or a fragment");
  }
  return { origin: url.origin, pathPrefix: url.pathname.replace(/\/$/, "") };
}

function parseSecret(name: string, value: unknown): string | null {
  if (isUnset(value)) return null;
  if (typeof value !== "string" || !SECRET_SHAPE.test(value)) {
    throw new ConfigError(name, "must be 32 to 1024 visible ASCII characters (no spaces)");
  }
  return value;
}

/** `:appId` as a whole group name, not the start of a longer one (`:appIdx`). */
const APP_ID_GROUP = /:appId(?![\p{ID_Continue}$])/u;

function parseAppRoutes(value: unknown): readonly URLPattern[] | null {
  if (isUnset(value)) return null;
  if (typeof value !== "string") throw new ConfigError("APP_ROUTES", "must be a string");
  const sources = value.split(",").map((part) => part.trim());
  if (sources.some((source) => source === "")) {
    throw new ConfigError("APP_ROUTES", "must be a comma-separated list of non-empty pathname patterns");
  }
  return sources.map((source, index) => {
    if (!source.startsWith("/")) throw new ConfigError("APP_ROUTES", `pattern ${index + 1} must start with /`);
    if (!APP_ID_GROUP.test(source)) {
      throw new ConfigError("APP_ROUTES", `pattern ${index + 1} must have an :appId group`);
    }
    try {
      return new URLPattern({ pathname: source });
    } catch {
      throw new ConfigError("APP_ROUTES", `pattern ${index + 1} is not a valid URLPattern pathname`);
    }
  });
}

/** One or more plain segments; no dot segments, no pattern syntax, no trailing `/`. */
const ADMIN_PREFIX_SHAPE = /^(\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$/;

function parseAdminPrefix(value: unknown): string {
  if (isUnset(value)) return DEFAULT_ADMIN_PREFIX;
  if (typeof value !== "string" || !ADMIN_PREFIX_SHAPE.test(value)) {
    throw new ConfigError("ADMIN_PREFIX", "must be a path like /admin: plain segments, no trailing /");
  }
  if (value === "/healthz") throw new ConfigError("ADMIN_PREFIX", "must not be /healthz");
  return value;
}

function parseBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (isUnset(value)) return fallback;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw new ConfigError(name, 'must be "true" or "false"');
}

function parseInteger(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (isUnset(value)) return fallback;
  let parsed: number;
  if (typeof value === "number") parsed = value;
  else if (typeof value === "string" && /^\d{1,16}$/.test(value)) parsed = Number(value);
  else throw new ConfigError(name, `must be a whole number from ${min} to ${max}`);
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}`);
  }
  return parsed;
}
