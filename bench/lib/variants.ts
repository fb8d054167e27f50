/**
 * The Worker variants the bench compares, how each is built and configured, and how one is
 * started: on workerd through Miniflare's API (never `wrangler dev`, whose proxy caps
 * throughput), one workerd process per variant, each forwarding to the same trivial origin
 * Worker through a service binding `ORIGIN`.
 */

import { execFile } from "node:child_process";
import { generateKeyPair } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";

const run = promisify(execFile);
const generateKeyPairAsync = promisify(generateKeyPair);

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const OUT = `${ROOT}bench/out`;
export const COMPATIBILITY_DATE = /compatibility_date\s*=\s*"([^"]+)"/.exec(
  readFileSync(`${ROOT}wrangler.toml`, "utf8"),
)?.[1];
/** The benchmark target: the bundle `wrangler deploy` uploads must stay small. */
export const MAX_BUNDLE_GZIP_KIB = 60;

/** The app whose tokens every scenario sends, and the app with JWT checks off. */
export const APP_ID = "bench-app";
export const OPEN_APP_ID = "bench-open";
export const USER_ID = "bench-user";
/** `--features`: the HS256 key's kid, and the issuer and audience its tokens carry. */
export const FEATURES_KID = "bench";
export const FEATURES_ISSUER = "https://backend.bench.example";
export const FEATURES_AUDIENCE = "sdk";

export type VariantName =
  | "bare"
  | "bare-id"
  | "deny"
  | "deny-contract"
  | "floor"
  | "jose"
  | "hono-jwt"
  | "gateway"
  | "gateway-counted";

export interface Variant {
  readonly name: VariantName;
  /** The name it is reported under: the KV-counting gateway is the gateway. */
  readonly reportedAs: string;
  readonly description: string;
  /** The module workerd runs (built by `buildVariants` unless it is a file of bench/workers). */
  readonly script: string;
  /** Reads app records from the `APPS` KV namespace. */
  readonly kv: boolean;
}

export const VARIANTS: Readonly<Record<VariantName, Variant>> = {
  bare: {
    name: "bare",
    reportedAs: "bare",
    description:
      "forwards the incoming request without checking anything: the no-check path of floor, jose and hono-jwt",
    script: `${ROOT}bench/workers/bare.js`,
    kv: false,
  },
  "bare-id": {
    name: "bare-id",
    reportedAs: "bare-id",
    description:
      "the path's appId and a fixed user as X-Auth-App-Id/X-Auth-User-Id, forwarded as floor and jose forward, without looking at the token: their no-check path",
    script: `${OUT}/bare-id.mjs`,
    kv: false,
  },
  deny: {
    name: "deny",
    reportedAs: "deny",
    description: "answers 401 without reading anything: the no-check path of a rejection",
    script: `${ROOT}bench/workers/deny.js`,
    kv: false,
  },
  "deny-contract": {
    name: "deny-contract",
    reportedAs: "deny-contract",
    description:
      "answers the gateway's own 401 (its JSON body and headers, src/errors.ts) without reading anything: the gateway's no-check path of a rejection",
    script: `${OUT}/deny-contract.mjs`,
    kv: false,
  },
  floor: {
    name: "floor",
    reportedAs: "floor",
    description:
      "the least work a correct HS256 gateway can do (cached CryptoKey, one crypto.subtle.verify, JSON.parse, exp/appId/userId), forwarding with the identity headers as bare-id does: the limit, not a competitor",
    script: `${OUT}/floor.mjs`,
    kv: false,
  },
  jose: {
    name: "jose",
    reportedAs: "jose",
    description:
      "jose's jwtVerify (HS256, cached CryptoKey) and the same appId/userId checks: what a developer would write",
    script: `${OUT}/jose.mjs`,
    kv: false,
  },
  "hono-jwt": {
    name: "hono-jwt",
    reportedAs: "hono-jwt",
    description: "hono's jwt middleware (HS256, one fixed secret), then forwards the incoming request: the peer",
    script: `${OUT}/hono-jwt.mjs`,
    kv: false,
  },
  gateway: {
    name: "gateway",
    reportedAs: "gateway",
    description: "this project's bundle, exactly what `wrangler deploy` uploads, app records in KV",
    script: `${OUT}/gateway.mjs`,
    kv: true,
  },
  "gateway-counted": {
    name: "gateway-counted",
    reportedAs: "gateway",
    description: "the same gateway bundle behind a wrapper that counts APPS reads (unknown-apps)",
    script: `${OUT}/count-kv.mjs`,
    kv: true,
  },
};

// ---------------------------------------------------------------------------------------------
// Building

export interface Bundles {
  readonly gatewayGzipBytes: number;
  /** wrangler's "Total Upload: … / gzip: …" line. */
  readonly wranglerSummary: string;
}

/** Bundles a Worker of bench/workers with the bench's secret and appId compiled in. */
async function bundleWorker(source: string, outfile: string, secret: string): Promise<void> {
  await build({
    entryPoints: [`${ROOT}bench/workers/${source}`],
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    define: {
      BENCH_SECRET: JSON.stringify(secret),
      BENCH_APP_ID: JSON.stringify(APP_ID),
      BENCH_USER_ID: JSON.stringify(USER_ID),
    },
    outfile,
    logLevel: "error",
  });
}

/**
 * Builds every variant into bench/out: the gateway as `wrangler deploy --dry-run` bundles it
 * (and the KV-counting wrapper around that very bundle), floor, jose, hono-jwt, bare-id and
 * deny-contract with `secret`.
 * `minify: false` keeps the gateway's bundle readable (its module comments) for the profiler.
 */
export async function buildVariants(secret: string, { minify = true } = {}): Promise<Bundles> {
  mkdirSync(OUT, { recursive: true });
  const peers = Promise.all([
    bundleWorker("hono-jwt.ts", `${OUT}/hono-jwt.mjs`, secret),
    bundleWorker("jose.ts", `${OUT}/jose.mjs`, secret),
    bundleWorker("floor.ts", `${OUT}/floor.mjs`, secret),
    bundleWorker("bare-id.ts", `${OUT}/bare-id.mjs`, secret),
    bundleWorker("deny-contract.ts", `${OUT}/deny-contract.mjs`, secret),
  ]);
  const { stdout, stderr } = await run(
    `${ROOT}node_modules/.bin/wrangler`,
    // The profiler maps samples to modules by the comments esbuild keeps unminified.
    ["deploy", "--dry-run", "--outdir", `${OUT}/gateway`, ...(minify ? [] : ["--no-minify"])],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  const wranglerSummary = /Total Upload: .*/.exec(`${stdout}${stderr}`)?.[0] ?? "";
  copyFileSync(`${OUT}/gateway/index.js`, `${OUT}/gateway.mjs`);
  copyFileSync(`${ROOT}bench/workers/count-kv.mjs`, `${OUT}/count-kv-entry.mjs`);
  await build({
    entryPoints: [`${OUT}/count-kv-entry.mjs`],
    bundle: true,
    format: "esm",
    platform: "neutral",
    // The runtime's own modules (the gateway imports cloudflare:workers) stay imports.
    external: ["cloudflare:*"],
    outfile: `${OUT}/count-kv.mjs`,
    logLevel: "error",
  });
  await peers;
  return { gatewayGzipBytes: gzipSync(readFileSync(`${OUT}/gateway/index.js`)).length, wranglerSummary };
}

// ---------------------------------------------------------------------------------------------
// The gateway's app records

/** The v1 record: one HS256 secret (utf8: the key is the secret's bytes, as hono-jwt, jose and floor use it). */
function v1Record(secret: string): Record<string, unknown> {
  return { jwtEnabled: true, secret, secretEncoding: "utf8" };
}

/**
 * `--features`: the bench secret as the HS256 key `bench` of `keys`, inside a window, beside an
 * ES256 key `next` (a rotation in progress), with every token rule switched on.
 */
async function featuresRecord(secret: string): Promise<Record<string, unknown>> {
  const { publicKey } = await generateKeyPairAsync("ec", { namedCurve: "P-256" });
  const day = 86_400_000;
  const at = (offset: number) => new Date(Date.now() + offset).toISOString();
  return {
    enforcement: "enforce",
    keys: [
      { kid: "next", alg: "ES256", publicKey: publicKey.export({ type: "spki", format: "pem" }), notBefore: at(-day) },
      { kid: FEATURES_KID, alg: "HS256", secret, secretEncoding: "utf8", notBefore: at(-day), notAfter: at(day) },
    ],
    issuer: FEATURES_ISSUER,
    audience: ["web", FEATURES_AUDIENCE],
    requireExp: true,
    maxTokenLifetimeSeconds: 86_400,
    tokensNotBefore: at(-day),
    userClaims: ["userId", "sub"],
    requestBindings: { userId: "userId" },
  };
}

/** Stores `APP_ID` (v1, or the `--features` record) and `OPEN_APP_ID` (JWT off) in `APPS`. */
async function seedApps(mf: Miniflare, worker: string, secret: string, features: boolean): Promise<void> {
  const kv = await mf.getKVNamespace("APPS", worker);
  const now = new Date().toISOString();
  const record = features ? await featuresRecord(secret) : v1Record(secret);
  await kv.put(`app:${APP_ID}`, JSON.stringify({ ...record, createdAt: now, updatedAt: now }));
  await kv.put(`app:${OPEN_APP_ID}`, JSON.stringify({ jwtEnabled: false, createdAt: now, updatedAt: now }));
}

// ---------------------------------------------------------------------------------------------
// Starting

export interface StartOptions {
  readonly secret: string;
  /** The gateway's app as the `--features` record. */
  readonly features?: boolean;
  /** Serve the variant on a socket of its own, without Miniflare's entry Worker in front. */
  readonly direct?: boolean;
  /** Run every workerd thread on CPU 0 (`taskset`), leaving CPU 1 to the load generator. */
  readonly pin?: boolean;
  /** `echo` answers with the identity headers it received (the smoke); `plain` reads nothing. */
  readonly origin?: "plain" | "echo";
  /** Open workerd's inspector on this port (profile, memory). */
  readonly inspectorPort?: number;
  /**
   * Bind the gateway's decision counts (`METRICS`), analytics (`DECISIONS`) and nonce store
   * (`NONCES`), as wrangler.toml does. Default on; `--no-metrics` measures without them.
   */
  readonly metrics?: boolean;
  /**
   * Bind the refusal throttle (`FAILURE_LIMITER`) too (`--limiter`). Off by default: Miniflare
   * emulates the Rate Limiting binding with an HTTP subrequest to a Durable Object on every call
   * (about a million instructions a refusal here), where Cloudflare runs it as a native binding
   * on the same machine, so counting it would measure the emulator.
   */
  readonly limiter?: boolean;
}

export interface Instance {
  readonly variant: Variant;
  readonly mf: Miniflare;
  /** Where to send requests, without a trailing `/`. */
  readonly url: string;
  /** workerd's process id, for CPU time and callgrind. */
  readonly pid: number | undefined;
}

/** The workerd processes this process has started (Miniflare runs one per instance). */
async function workerdPids(): Promise<number[]> {
  const { stdout } = await run("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)]).catch(() => ({ stdout: "" }));
  return stdout
    .split("\n")
    .filter((line) => line.includes("workerd"))
    .map((line) => Number.parseInt(line.trim(), 10));
}

/** The one of `candidates` that listens on TCP `port` (its socket's inode, from /proc). */
function pidListeningOn(port: number, candidates: readonly number[]): number | undefined {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
        const fields = line.trim().split(/\s+/);
        // local_address ends in the port; state 0A is LISTEN; field 9 is the inode.
        if (fields[1]?.endsWith(hex) && fields[3] === "0A" && fields[9]) inodes.add(fields[9]);
      }
    } catch {}
  }
  for (const pid of candidates) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        if (inode !== undefined && inodes.has(inode)) return pid;
      }
    } catch {}
  }
  return undefined;
}

export async function startVariant(name: VariantName, options: StartOptions): Promise<Instance> {
  const variant = VARIANTS[name];
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      ...(options.inspectorPort !== undefined ? { inspectorPort: options.inspectorPort } : {}),
      // The gateway logs a line per rejection (workerd still writes it); keep it out of our output.
      handleStructuredLogs() {},
      workers: [
        {
          name,
          modules: true,
          scriptPath: variant.script,
          ...(options.direct ? { unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] } : {}),
          compatibilityDate: COMPATIBILITY_DATE,
          serviceBindings: { ORIGIN: "origin" },
          ...(variant.kv ? { kvNamespaces: { APPS: "apps" } } : {}),
          ...(variant.kv && options.metrics !== false
            ? {
                durableObjects: { METRICS: "AppMetrics", NONCES: "AppNonces" },
                analyticsEngineDatasets: { DECISIONS: { dataset: "bench_decisions" } },
              }
            : {}),
          ...(variant.kv && options.limiter
            ? {
                // Called on every refusal as in production, with a limit no run reaches: the bench's
                // refusals all come from one client, and must stay refusals, not 429s.
                ratelimits: {
                  FAILURE_LIMITER: { namespace_id: "1001", simple: { limit: 1_000_000_000, period: 60 as const } },
                },
              }
            : {}),
        },
        {
          name: "origin",
          modules: true,
          scriptPath: `${ROOT}bench/workers/${options.origin === "echo" ? "origin-echo.js" : "origin.js"}`,
          compatibilityDate: COMPATIBILITY_DATE,
        },
      ],
    }),
  );
  const url = (options.direct ? await mf.unsafeGetDirectURL(name) : await mf.ready).toString().replace(/\/$/, "");
  // The process that serves `url` (instances start at once, so "the new one" would be ambiguous).
  const pid = pidListeningOn(Number(new URL(url).port), await workerdPids());
  if (options.pin && pid !== undefined) await run("taskset", ["-a", "-p", "-c", "0", String(pid)]);
  if (variant.kv) await seedApps(mf, name, options.secret, options.features ?? false);
  return { variant, mf, url, pid };
}

/** Starts every variant at once (one workerd each); disposes every started instance on a failure. */
export async function startVariants(
  names: readonly VariantName[],
  options: StartOptions,
): Promise<Map<VariantName, Instance>> {
  const instances = new Map<VariantName, Instance>();
  const started = await Promise.allSettled(names.map((name) => startVariant(name, options)));
  for (const result of started)
    if (result.status === "fulfilled") instances.set(result.value.variant.name, result.value);
  const failed = started.find((result) => result.status === "rejected");
  if (failed) {
    await disposeAll(instances);
    throw failed.reason;
  }
  return instances;
}

export async function disposeAll(instances: ReadonlyMap<VariantName, Instance>): Promise<void> {
  await Promise.all([...instances.values()].map(({ mf }) => mf.dispose()));
}

/** The version of an installed package, for the results' header line. */
export function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, "utf8")) as { version: string })
      .version;
  } catch {
    return "?";
  }
}
