/** Shared test helpers: token minting, app seeding, an origin recorder and the Worker call. */

import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { base64url, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, importSPKI, SignJWT } from "jose";
import { afterEach, beforeEach, expect } from "vitest";
import { APP_ID_PATTERN } from "../src/apps/kv-keys.ts";
import { GatewayError } from "../src/errors.ts";
import { matchAppId } from "../src/gateway/routes.ts";
import worker from "../src/index.ts";
import { rawTarget } from "../src/lib/raw-target.ts";
import { checkHeader } from "../src/token/jws.ts";
import { keyring } from "../src/token/keys.ts";
import { type VerifiedJws, verifyJws } from "../src/token/verify.ts";

export const GATEWAY = "http://gw.test";
export const ORIGIN_BASE = "https://origin.test/base";

/** 32 random-looking bytes, standard base64 in the record. */
export const KEY_BYTES = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
export const KEY_BASE64 = btoa(String.fromCharCode(...KEY_BYTES));
export const OTHER_KEY_BYTES = Uint8Array.from({ length: 32 }, (_, i) => (i * 53 + 7) & 0xff);

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A valid v1 record enforcing JWT with `KEY_BYTES`. */
export function enforcingRecord(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { jwtEnabled: true, secret: KEY_BASE64, secretEncoding: "base64", ...extra };
}

let appCounter = 0;
/** A fresh appId per test, so the isolate's app cache never carries state between tests. */
export function uniqueAppId(prefix = "TA"): string {
  appCounter += 1;
  return `${prefix}${Date.now().toString(36)}${appCounter}`;
}

export async function seedApp(appId: string, record: unknown = enforcingRecord()): Promise<void> {
  await env.APPS.put(`app:${appId}`, typeof record === "string" ? record : JSON.stringify(record));
}

/** A fresh app stored with `record` (by default enforcing JWT with `KEY_BYTES`). */
export async function newApp(record: unknown = enforcingRecord()): Promise<string> {
  const appId = uniqueAppId();
  await seedApp(appId, record);
  return appId;
}

/** A fresh enforcing app and a valid token for `user-1`, with `claims` added or changed. */
export async function newSession(claims: Record<string, unknown> = {}): Promise<{ appId: string; token: string }> {
  const appId = await newApp();
  return { appId, token: await mintToken(claimsFor(appId, claims)) };
}

/** What a call throws: the `GatewayError` kind, or "passed". Other errors propagate. */
export async function rejectionOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return "passed";
  } catch (error) {
    if (error instanceof GatewayError) return error.kind;
    throw error;
  }
}

/** Standard claims for `appId`, valid now. */
export function claimsFor(appId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { appId, userId: "user-1", iat: nowSeconds(), exp: nowSeconds() + 3600, ...extra };
}

/** A token signed by jose, the reference implementation. */
export function mintToken(claims: Record<string, unknown>, key: Uint8Array = KEY_BYTES): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
}

const encoder = new TextEncoder();

/** HMAC-SHA256 over arbitrary segment texts, for tokens jose would refuse to build. */
export async function signSegments(headerSegment: string, payloadSegment: string, key: Uint8Array = KEY_BYTES) {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(`${headerSegment}.${payloadSegment}`));
  return `${headerSegment}.${payloadSegment}.${base64url.encode(new Uint8Array(mac))}`;
}

/** Signs raw header and payload JSON texts (kept byte for byte). */
export function signRaw(headerJson: string, payloadJson: string, key: Uint8Array = KEY_BYTES): Promise<string> {
  return signSegments(base64url.encode(headerJson), base64url.encode(payloadJson), key);
}

export interface OriginCall {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The redirect mode the gateway asked for ("manual": redirects go back to the client). */
  readonly redirect: string;
}

/** What the origin received in the current test. */
export const originCalls: OriginCall[] = [];
let originResponder: (request: Request) => Response | Promise<Response> = () =>
  new Response(JSON.stringify({ ok: true }), { headers: { "content-type": "application/json", "x-origin": "yes" } });

export function setOriginResponder(responder: (request: Request) => Response | Promise<Response>): void {
  originResponder = responder;
}

const realFetch = globalThis.fetch;

/** Replaces outbound `fetch` (the gateway's `ORIGIN_URL` path) with a recorder, per test. */
export function useOriginRecorder(): void {
  beforeEach(() => {
    originCalls.length = 0;
    originResponder = () =>
      new Response(JSON.stringify({ ok: true }), {
        headers: { "content-type": "application/json", "x-origin": "yes" },
      });
    globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const body = request.body ? await request.text() : "";
      originCalls.push({
        url: request.url,
        method: request.method,
        headers: Object.fromEntries(request.headers),
        body,
        redirect: request.redirect,
      });
      return originResponder(new Request(request.url, { method: request.method, headers: request.headers }));
    };
  });
  afterEach(() => {
    globalThis.fetch = realFetch;
  });
}

/** Calls the Worker through its default export, as a client would. */
export function gateway(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${GATEWAY}${path}`, init));
}

/** How many requests `gatewayAndDebugger` also put to the debugger (a test can check it ran). */
export const twinRuns = { count: 0 };

/**
 * Calls the Worker as `gateway` does, then, for an SDK request the token debugger can express (a
 * bearer token or none, a path naming a valid appId, no preflight), asks
 * `POST /admin/apps/{appId}/verify` for its verdict on the same token, path, query and body, and
 * asserts it equals what the gateway did: the same status, code and reason, and for a forwarded
 * request the same `x-auth-*` headers the origin received. Returns the gateway's answer unread.
 */
export async function gatewayAndDebugger(path: string, init: RequestInit = {}): Promise<Response> {
  const request = new Request(`${GATEWAY}${path}`, init);
  const bodyText = request.body === null ? undefined : await request.clone().text();
  const res = await exports.default.fetch(request);
  const target = rawTarget(request.url);
  const appId = matchAppId(target.path, null);
  const authorization = request.headers.get("authorization");
  const token = authorization === null ? "" : /^Bearer (\S*)$/.exec(authorization)?.[1];
  if (appId === undefined || !APP_ID_PATTERN.test(appId) || request.method === "OPTIONS" || token === undefined) {
    return res;
  }
  if (request.headers.has("cdn-loop") || request.headers.has("content-encoding")) return res;
  twinRuns.count += 1;
  const contentType = request.headers.get("content-type");
  const verdict = await admin(`/apps/${appId}/verify`, {
    method: "POST",
    body: JSON.stringify({
      token,
      path: target.path,
      ...(target.query ? { query: target.query } : {}),
      ...(contentType === null ? {} : { contentType }),
      ...(bodyText === undefined ? {} : { body: bodyText }),
    }),
  });
  const answer = (await verdict.json()) as Record<string, unknown>;
  if (res.status === 200 && originCalls.length > 0) {
    const forwarded = originCalls.at(-1)?.headers ?? {};
    const identity = Object.fromEntries(Object.entries(forwarded).filter(([name]) => name.startsWith("x-auth-")));
    expect(answer).toMatchObject({ httpStatus: 200, forwarded: true, headers: identity });
  } else {
    const body = (await res.clone().json()) as { code: string; reason?: string };
    // An unknown app is the admin API's 404 too.
    const expected = verdict.status === 200 ? { httpStatus: res.status, code: body.code } : { code: body.code };
    expect({ ...answer, answeredWith: verdict.status === 200 ? res.status : verdict.status }).toMatchObject({
      answeredWith: res.status,
      ...expected,
      ...(body.reason === undefined ? {} : { reason: body.reason }),
    });
  }
  return res;
}

/** Calls with `Authorization: Bearer <token>`. */
export function withToken(token: string, init: RequestInit = {}): RequestInit {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  return { ...init, headers };
}

export const INVALID = "Invalid token";

export function invalid(reason: string) {
  return { code: "38", status: INVALID, reason };
}

export const TOKEN_REQUIRED = {
  code: "39",
  status: "Token is required to access the requested resource.",
  reason: "TOKEN_NOT_AVAILABLE",
};

/**
 * Calls the Worker's handler with extra or changed variables, for settings the test project
 * does not bind (each distinct `env` object gets its own validated configuration and caches).
 */
export async function gatewayWith(vars: Record<string, unknown>, path: string, init?: RequestInit): Promise<Response> {
  const request = new Request(`${GATEWAY}${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
  return worker.fetch(request, { ...env, ...vars } as never, createExecutionContext());
}

/** Captures console output (the structured log lines) for the current test. */
export function captureLogs(): { lines: () => Record<string, unknown>[]; text: () => string; restore: () => void } {
  const captured: string[] = [];
  const original = { log: console.log, warn: console.warn, error: console.error };
  for (const level of ["log", "warn", "error"] as const) {
    console[level] = (...args: unknown[]) => {
      captured.push(args.map(String).join(" "));
    };
  }
  return {
    lines: () => captured.map((line) => JSON.parse(line) as Record<string, unknown>),
    text: () => captured.join("\n"),
    restore: () => Object.assign(console, original),
  };
}

/** Asserts an error answer: status, exact body, no-store, and that the origin received nothing. */
export async function expectRejected(res: Response, status: number, body: Record<string, unknown>): Promise<void> {
  expect({ status: res.status, body: await res.json() }).toEqual({ status, body });
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(res.headers.get("content-type")).toBe("application/json");
  expect(originCalls).toHaveLength(0);
}

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdefghij";

/** Calls the admin API with the test admin credential. */
export function admin(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${ADMIN_TOKEN}`);
  if (typeof init.body === "string" && !headers.has("content-type")) headers.set("content-type", "application/json");
  return gateway(`/admin${path}`, { ...init, headers });
}

/** Every key and value in the APPS namespace, to assert that a rejected write changed nothing. */
export async function kvSnapshot(): Promise<Record<string, string | null>> {
  const snapshot: Record<string, string | null> = {};
  let cursor: string | undefined;
  do {
    const page = await env.APPS.list(cursor ? { cursor } : {});
    for (const key of page.keys) snapshot[key.name] = await env.APPS.get(key.name);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return snapshot;
}

/** A PUT of an enforcing record with `field` set to `value` is `400` naming it, and writes nothing. */
export async function expectFieldRefused(field: string, value: unknown): Promise<void> {
  const before = await kvSnapshot();
  const res = await admin(`/apps/${uniqueAppId()}`, {
    method: "PUT",
    body: JSON.stringify(enforcingRecord({ [field]: value })),
  });
  expect(res.status).toBe(400);
  const body = (await res.json()) as { errors: { path: string }[] };
  expect(body.errors.map((error) => error.path.split(".")[0])).toContain(field);
  expect(await kvSnapshot()).toEqual(before);
}

/** A public-key signer for tests: the private key (jose), its public key as PEM SPKI and as a JWK. */
export interface TestKeyPair {
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly spki: string;
  readonly jwk: Record<string, unknown>;
}

const keyPairs = new Map<string, Promise<TestKeyPair>>();

/**
 * A key pair for `alg`, made once per test file. `RS384`, `RS512` and `PS256` reuse the RS256
 * pair's RSA key (imported again for their algorithm), as an app would with one RSA key.
 */
export function testKeyPair(alg: string, variant = ""): Promise<TestKeyPair> {
  const name = `${alg}${variant}`;
  let pair = keyPairs.get(name);
  if (pair === undefined) {
    pair = (async () => {
      if (["RS384", "RS512", "PS256"].includes(alg)) {
        const rsa = await testKeyPair("RS256", variant);
        const privatePem = await exportPKCS8(rsa.privateKey);
        const publicKey = await importSPKI(rsa.spki, alg, { extractable: true });
        return {
          alg,
          privateKey: await importPKCS8(privatePem, alg, { extractable: true }),
          spki: rsa.spki,
          jwk: { ...(await exportJWK(publicKey)) },
        };
      }
      const generated = await generateKeyPair(alg, { extractable: true });
      return {
        alg,
        privateKey: generated.privateKey,
        spki: await exportSPKI(generated.publicKey),
        jwk: { ...(await exportJWK(generated.publicKey)) },
      };
    })();
    keyPairs.set(name, pair);
  }
  return pair;
}

/** A token signed by jose with a test key pair (and `kid` in the header when given). */
export function mintSignedToken(claims: Record<string, unknown>, pair: TestKeyPair, kid?: string): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: pair.alg, typ: "JWT", ...(kid === undefined ? {} : { kid }) })
    .sign(pair.privateKey);
}

/** An HS256/384/512 token signed by jose with `key`, with `kid` in the header when given. */
export function mintHmacToken(
  claims: Record<string, unknown>,
  key: Uint8Array,
  alg = "HS256",
  kid?: string,
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT", ...(kid === undefined ? {} : { kid }) }).sign(key);
}

/** `length` distinct-looking key bytes; another `seed`, another key. */
export function testKeyBytes(length: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 17 + 3) & 0xff);
}

export function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** The v1 header rules (CONTRACT section 3, step 6): `checkHeader` with `HS256` alone. */
export function checkHs256Header(header: Record<string, unknown>): string {
  return checkHeader(header, new Set(["HS256"]));
}

/** The v1 verifier (CONTRACT section 3, steps 5–7): `verifyJws` with one HS256 key, no kid, no window. */
export function verifyHs256Jws(token: string, cryptoKey: CryptoKey): Promise<VerifiedJws> {
  return verifyJws(token, keyring([{ kid: null, alg: "HS256", cryptoKey, notBefore: null, notAfter: null }]), 0);
}
