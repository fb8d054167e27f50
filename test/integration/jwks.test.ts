// Keys from a JWKS URL: tokens of an identity provider verified with its published keys, its
// rotation picked up, an unknown-kid flood kept to one fetch per 30 s, stale keys served while it
// is down, and bad sets refused cleanly. The provider is a stub behind the isolate's `fetch`.
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { JwksCache, jwksTtlSeconds } from "../../src/apps/jwks.ts";
import {
  admin,
  captureLogs,
  claimsFor,
  expectRejected,
  gateway,
  gatewayWith,
  invalid,
  KEY_BASE64,
  signRaw,
  uniqueAppId,
  withToken,
} from "../helpers.ts";

interface ProviderKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly jwk: Record<string, unknown>;
}

async function providerKey(alg: string, kid = `${alg}-${crypto.randomUUID().slice(0, 8)}`): Promise<ProviderKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

function sign(key: ProviderKey, claims: Record<string, unknown>, kid: string | null = key.kid): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, typ: "JWT", ...(kid === null ? {} : { kid }) })
    .sign(key.privateKey);
}

/** The identity provider: its JWKS document by URL, how each answers, and what it was asked. */
const provider = {
  documents: new Map<string, () => Response>(),
  fetches: new Map<string, number>(),
  fetched(url: string): number {
    return this.fetches.get(url) ?? 0;
  },
  serve(url: string, keys: ProviderKey[], headers: Record<string, string> = {}): void {
    this.documents.set(url, () => Response.json({ keys: keys.map((key) => key.jwk) }, { headers }));
  },
};

const realFetch = globalThis.fetch;
const originCalls: string[] = [];

beforeEach(() => {
  provider.documents.clear();
  provider.fetches.clear();
  originCalls.length = 0;
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const document = provider.documents.get(request.url);
    if (document !== undefined) {
      provider.fetches.set(request.url, provider.fetched(request.url) + 1);
      return document();
    }
    if (request.url.startsWith("https://idp.test/")) return new Response("no such set", { status: 404 });
    originCalls.push(request.url);
    return new Response("from origin");
  };
});

afterEach(() => {
  globalThis.fetch = realFetch;
  vi.useRealTimers();
});

/** A JWKS URL of its own for each test: no set is cached from another test (isolate or Cache API). */
function jwksUrl(): string {
  return `https://idp.test/${crypto.randomUUID()}/.well-known/jwks.json`;
}

async function jwksApp(uri: string, extra: Record<string, unknown> = {}): Promise<string> {
  const appId = uniqueAppId();
  const res = await admin(`/apps/${appId}`, {
    method: "PUT",
    body: JSON.stringify({ jwtEnabled: true, jwksUri: uri, ...extra }),
  });
  expect(res.status).toBe(201);
  return appId;
}

const call = (appId: string, token: string) => gateway(`/app/${appId}/x`, withToken(token));

describe("tokens verified with a provider's JWKS", () => {
  it.each(["RS256", "ES256", "EdDSA"])(
    "%s: a token of the provider's key passes; one of another key does not",
    async (alg) => {
      const uri = jwksUrl();
      const key = await providerKey(alg);
      provider.serve(uri, [key]);
      const appId = await jwksApp(uri);
      expect((await call(appId, await sign(key, claimsFor(appId)))).status).toBe(200);
      expect(originCalls).toHaveLength(1);
      const stranger = await providerKey(alg, key.kid);
      await expectRejected(
        await call(appId, await sign(stranger, claimsFor(appId))),
        401,
        invalid("INVALID_SIGNATURE"),
      );
    },
  );

  it("fetches the set once and keeps it for its max-age", async () => {
    const uri = jwksUrl();
    const key = await providerKey("ES256");
    provider.serve(uri, [key], { "cache-control": "public, max-age=3600" });
    const appId = await jwksApp(uri);
    for (let i = 0; i < 5; i++) expect((await call(appId, await sign(key, claimsFor(appId)))).status).toBe(200);
    expect(provider.fetched(uri)).toBe(1);
  });

  it("picks up the provider's rotation: a token with the new kid passes after one refresh", async () => {
    const uri = jwksUrl();
    const old = await providerKey("RS256");
    provider.serve(uri, [old]);
    const appId = await jwksApp(uri);
    expect((await call(appId, await sign(old, claimsFor(appId)))).status).toBe(200);
    const next = await providerKey("RS256");
    provider.serve(uri, [old, next]);
    expect((await call(appId, await sign(next, claimsFor(appId)))).status).toBe(200);
    expect(provider.fetched(uri)).toBe(2);
  });

  it("refreshes at most once per 30 s however many unknown kids arrive, each 38 INVALID_SIGNATURE", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const uri = jwksUrl();
    const key = await providerKey("ES256");
    provider.serve(uri, [key]);
    const appId = await jwksApp(uri);
    expect((await call(appId, await sign(key, claimsFor(appId)))).status).toBe(200);
    const logs = captureLogs();
    try {
      for (let i = 0; i < 25; i++) {
        const res = await call(appId, await sign(key, claimsFor(appId), `random-${i}`));
        await expectRejected(res, 401, invalid("INVALID_SIGNATURE"));
      }
    } finally {
      logs.restore();
    }
    expect(provider.fetched(uri)).toBe(2);
    expect(
      logs
        .lines()
        .filter((line) => line.event === "rejected")
        .every((line) => line.detail === "kid_unknown"),
    ).toBe(true);
    vi.setSystemTime(Date.now() + 30_001);
    await call(appId, await sign(key, claimsFor(appId), "random-after"));
    expect(provider.fetched(uri)).toBe(3);
  });

  it("tries a token without kid against the record's own keys only, never the set's", async () => {
    const uri = jwksUrl();
    const key = await providerKey("RS256");
    provider.serve(uri, [key]);
    const appId = await jwksApp(uri);
    await expectRejected(await call(appId, await sign(key, claimsFor(appId), null)), 401, invalid("INVALID_SIGNATURE"));
  });

  it("keeps serving the last good set while the provider is down, for up to 24 hours past its expiry", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const uri = jwksUrl();
    const key = await providerKey("ES256");
    provider.serve(uri, [key], { "cache-control": "max-age=300" });
    const appId = await jwksApp(uri);
    expect((await call(appId, await sign(key, claimsFor(appId)))).status).toBe(200);
    provider.documents.set(uri, () => new Response("upstream down", { status: 503 }));
    vi.setSystemTime(Date.now() + 3_600_000);
    const logs = captureLogs();
    try {
      expect((await call(appId, await sign(key, claimsFor(appId)))).status).toBe(200);
      expect((await call(appId, await sign(key, claimsFor(appId)))).status).toBe(200);
    } finally {
      logs.restore();
    }
    expect(logs.lines().filter((line) => line.event === "jwks_refresh_failed")).toEqual([
      expect.objectContaining({ appId, reason: "status_503" }),
    ]);
    vi.setSystemTime(Date.now() + 25 * 3_600_000);
    const late = await call(appId, await sign(key, claimsFor(appId, { iat: Math.floor(Date.now() / 1000) })));
    expect(late.status).toBe(503);
  });

  it("asks a failing provider at most once per 30 s: requests in between get the stale set, or 503 at once", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const uri = jwksUrl();
    provider.documents.set(uri, () => new Response("down", { status: 500 }));
    const appId = await jwksApp(uri);
    for (let i = 0; i < 10; i++) expect((await call(appId, "not-even-a-token")).status).toBe(503);
    expect(provider.fetched(uri)).toBe(1);
    vi.setSystemTime(Date.now() + 31_000);
    expect((await call(appId, "not-even-a-token")).status).toBe(503);
    expect(provider.fetched(uri)).toBe(2);
    // A set held and expired: the failed refresh is not retried by every request either.
    const key = await providerKey("ES256");
    const held = jwksUrl();
    provider.serve(held, [key], { "cache-control": "max-age=300" });
    const withSet = await jwksApp(held);
    expect((await call(withSet, await sign(key, claimsFor(withSet)))).status).toBe(200);
    provider.documents.set(held, () => new Response("down", { status: 503 }));
    vi.setSystemTime(Date.now() + 3_600_000);
    for (let i = 0; i < 10; i++) {
      expect(
        (await call(withSet, await sign(key, claimsFor(withSet, { iat: Math.floor(Date.now() / 1000) })))).status,
      ).toBe(200);
    }
    expect(provider.fetched(held)).toBe(2);
  });

  it("serves the location's cached copy in an isolate that held no set while the provider is down (24 h)", async () => {
    const uri = jwksUrl();
    const key = await providerKey("ES256");
    let now = Date.now();
    const isolate = (fetch: (request: Request) => Promise<Response>) =>
      new JwksCache({ fetch, cache: caches.default, now: () => now, allowHttp: false });
    const up = async () => Response.json({ keys: [key.jwk] }, { headers: { "cache-control": "max-age=300" } });
    const down = async () => new Response("down", { status: 503 });
    expect((await isolate(up).keys("A", uri)).views.map((view) => view.kid)).toEqual([key.kid]);
    now += 301_000;
    const fallback = await isolate(down).keys("A", uri);
    expect(fallback.views.map((view) => view.kid)).toEqual([key.kid]);
    now += 25 * 3_600_000;
    await expect(isolate(down).keys("A", uri)).rejects.toMatchObject({ options: { detail: "jwks_unavailable" } });
  });

  it("with the app's own key without kid beside a jwksUri, a token's kid must name a key; the write warns", async () => {
    const uri = jwksUrl();
    const key = await providerKey("ES256");
    provider.serve(uri, [key]);
    const appId = uniqueAppId();
    const res = await admin(`/apps/${appId}`, {
      method: "PUT",
      body: JSON.stringify({ jwtEnabled: true, jwksUri: uri, secret: KEY_BASE64, secretEncoding: "base64" }),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { warnings?: unknown[] }).warnings).toContainEqual({
      path: "jwksUri",
      message: expect.stringContaining("must carry no kid"),
    });
    const header = (kid?: string) => JSON.stringify({ alg: "HS256", typ: "JWT", ...(kid ? { kid } : {}) });
    expect((await call(appId, await signRaw(header(), JSON.stringify(claimsFor(appId))))).status).toBe(200);
    await expectRejected(
      await call(appId, await signRaw(header("v1"), JSON.stringify(claimsFor(appId)))),
      401,
      invalid("INVALID_SIGNATURE"),
    );
  });

  it.each([
    ["a provider that is down", () => new Response("down", { status: 500 })],
    ["a body that is not JSON", () => new Response("<html>")],
    ["JSON without keys", () => Response.json({ hello: "world" })],
    ["a body over 64 KiB", () => Response.json({ keys: [], pad: "x".repeat(70_000) })],
  ])("answers 503 CONFIG_UNAVAILABLE, never forwarding, when no set ever loaded: %s", async (_, answer) => {
    const uri = jwksUrl();
    provider.documents.set(uri, answer);
    const appId = await jwksApp(uri);
    const key = await providerKey("ES256");
    await expectRejected(await call(appId, await sign(key, claimsFor(appId))), 503, {
      code: "CONFIG_UNAVAILABLE",
      status: "App configuration unavailable",
    });
    expect(originCalls).toHaveLength(0);
  });

  it("skips keys it must not use (private, symmetric, no kid, not for signatures, RSA 1024), and uses the rest", async () => {
    const uri = jwksUrl();
    const good = await providerKey("ES256");
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const weak = (await crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const documents = [
      { ...(await exportJWK(privateKey)), kid: "private", alg: "ES256" },
      { kty: "oct", k: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", kid: "symmetric", alg: "HS256" },
      { ...good.jwk, kid: undefined },
      { ...good.jwk, kid: "enc", use: "enc" },
      { ...(await exportJWK(weak.publicKey)), kid: "weak", alg: "RS256" },
      good.jwk,
    ];
    provider.documents.set(uri, () => Response.json({ keys: documents }));
    const appId = await jwksApp(uri);
    const logs = captureLogs();
    let res: Response;
    try {
      res = await call(appId, await sign(good, claimsFor(appId)));
    } finally {
      logs.restore();
    }
    expect(res.status).toBe(200);
    expect(logs.lines()).toContainEqual(
      expect.objectContaining({
        event: "jwks_loaded",
        keys: 1,
        skipped_private_or_symmetric: 2,
        skipped_no_kid: 1,
        skipped_not_for_signatures: 1,
        skipped_rsa_too_short: 1,
      }),
    );
    const view = (await (await admin(`/apps/${appId}`)).json()) as { jwks: { keys: { kid: string }[] } };
    expect(view.jwks.keys.map((key) => key.kid)).toEqual([good.kid]);
  });

  it("a set with only private keys is no set: 503", async () => {
    const uri = jwksUrl();
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const privateJwk = { ...(await exportJWK(privateKey)), kid: "k", alg: "ES256" };
    provider.documents.set(uri, () => Response.json({ keys: [privateJwk] }));
    const appId = await jwksApp(uri);
    // No token: 39, before any set is fetched.
    expect((await gateway(`/app/${appId}/x`)).status).toBe(401);
    expect(provider.fetched(uri)).toBe(0);
    const key = await providerKey("ES256", "k");
    expect((await call(appId, await sign(key, claimsFor(appId)))).status).toBe(503);
  });
});

describe("the admin API and jwksUri", () => {
  it("shows the loaded kids, algs, fingerprints and expiry, and refreshes on demand", async () => {
    const uri = jwksUrl();
    const first = await providerKey("RS256");
    provider.serve(uri, [first], { "cache-control": "max-age=900" });
    const appId = await jwksApp(uri);
    const view = (await (await admin(`/apps/${appId}`)).json()) as Record<string, unknown>;
    expect(view).toMatchObject({
      jwksUri: uri,
      jwks: {
        keys: [{ kid: first.kid, alg: "RS256", fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{16}$/) }],
        fetchedAt: expect.any(String),
        expiresAt: expect.any(String),
        stale: false,
      },
    });
    const second = await providerKey("EdDSA");
    provider.serve(uri, [first, second]);
    const refreshed = await admin(`/apps/${appId}/jwks/refresh`, { method: "POST" });
    expect(refreshed.status).toBe(200);
    expect(await refreshed.json()).toMatchObject({
      appId,
      refreshed: true,
      keys: [{ kid: first.kid }, { kid: second.kid, alg: "EdDSA" }],
    });
    expect((await call(appId, await sign(second, claimsFor(appId)))).status).toBe(200);
  });

  it("answers 409 to a refresh for an app without jwksUri, 503 when the provider gives nothing", async () => {
    const plain = uniqueAppId();
    await admin(`/apps/${plain}`, { method: "PUT", body: JSON.stringify({ jwtEnabled: false }) });
    expect((await admin(`/apps/${plain}/jwks/refresh`, { method: "POST" })).status).toBe(409);
    const appId = await jwksApp(jwksUrl());
    expect((await admin(`/apps/${appId}/jwks/refresh`, { method: "POST" })).status).toBe(503);
  });

  it.each([
    [
      "plain http",
      "http://idp.test/jwks.json",
      "must be an https URL (http only for localhost or 127.0.0.1 with ALLOW_HTTP_JWKS=true)",
    ],
    [
      "http on localhost without ALLOW_HTTP_JWKS",
      "http://127.0.0.1:9000/jwks.json",
      "must be an https URL (http only for localhost or 127.0.0.1 with ALLOW_HTTP_JWKS=true)",
    ],
    ["this gateway's own host", "https://gw.test/.well-known/jwks.json", "must not point at this gateway"],
    ["this gateway's own host, with a trailing dot", "https://GW.test./jwks.json", "must not point at this gateway"],
    [
      "credentials in the URL",
      "https://user:pw@idp.test/jwks.json",
      "must be an absolute https URL without credentials",
    ],
    ["no URL", "jwks.json", "must be an absolute https URL without credentials"],
  ])("refuses a jwksUri that is %s (400), and writes nothing", async (_, jwksUri, message) => {
    const res = await admin(`/apps/${uniqueAppId()}`, {
      method: "PUT",
      body: JSON.stringify({ jwtEnabled: true, jwksUri }),
    });
    await expectRejected(res, 400, {
      code: "BAD_REQUEST",
      status: "Invalid request",
      errors: [{ path: "jwksUri", message }],
    });
  });

  it("accepts http on localhost with ALLOW_HTTP_JWKS=true (local development)", async () => {
    const appId = uniqueAppId();
    const res = await gatewayWith({ ALLOW_HTTP_JWKS: "true" }, `/admin/apps/${appId}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ jwtEnabled: true, jwksUri: "http://127.0.0.1:9000/jwks.json" }),
    });
    expect(res.status).toBe(201);
  });

  it("may combine keys and jwksUri: both verify", async () => {
    const uri = jwksUrl();
    const fromIdp = await providerKey("ES256");
    const own = await providerKey("RS256", "own");
    provider.serve(uri, [fromIdp]);
    const appId = await jwksApp(uri, { keys: [{ kid: "own", alg: "RS256", publicKey: own.jwk }] });
    expect((await call(appId, await sign(own, claimsFor(appId)))).status).toBe(200);
    expect((await call(appId, await sign(fromIdp, claimsFor(appId)))).status).toBe(200);
  });
});

describe("jwksTtlSeconds", () => {
  it.each([
    [null, 600],
    ["no-cache", 600],
    ["public, max-age=60", 300],
    ["max-age=3600, must-revalidate", 3600],
    ["max-age=999999", 86_400],
    ['max-age="900"', 900],
  ])("%s → %i", (cacheControl, seconds) => {
    expect(jwksTtlSeconds(cacheControl)).toBe(seconds);
  });
});
