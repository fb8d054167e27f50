import { describe, expect, it, vi } from "vitest";
import { AppStore } from "../../src/apps/store.ts";
import { parseConfig } from "../../src/config.ts";
import { handleSdkRequest } from "../../src/gateway/sdk.ts";
import { MAX_CACHED_TOKEN_CHARS, VerifiedTokenCache } from "../../src/gateway/token-cache.ts";
import { rawTarget } from "../../src/lib/raw-target.ts";
import { V1_POLICY } from "../../src/token/policy.ts";
import {
  claimsFor,
  gateway,
  KEY_BASE64,
  mintToken,
  newApp,
  OTHER_KEY_BYTES,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

describe("the verified-token cache, through the Worker", () => {
  it("verifies a repeated token's signature once", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId));
    const verify = vi.spyOn(crypto.subtle, "verify");
    for (let i = 0; i < 5; i++) expect((await gateway(`/app/${appId}/x`, withToken(token))).status).toBe(200);
    expect(verify).toHaveBeenCalledTimes(1);
    verify.mockRestore();
  });

  it("still binds every request: a cached token cannot name another user", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId));
    expect((await gateway(`/app/${appId}/x?userId=user-1`, withToken(token))).status).toBe(200);
    expect((await gateway(`/app/${appId}/x?userId=user-2`, withToken(token))).status).toBe(401);
  });
});

describe("the verified-token cache, with a controlled clock", () => {
  const APPS = { get: async () => null } as unknown as KVNamespace;
  const env = { APPS, ORIGIN: { fetch: async () => new Response("ok") } as unknown as Fetcher };

  function pipeline(records: Record<string, string>) {
    const clock = { now: 1_800_000_000_000 };
    const store = new AppStore(
      { get: async (key) => records[key] ?? null },
      { ttlMs: 3_600_000, now: () => clock.now },
    );
    const tokens = new VerifiedTokenCache();
    const deps = { config: parseConfig(env), store, tokens, now: () => clock.now };
    const send = (token: string) =>
      handleSdkRequest(
        new Request("http://gw.test/app/A/x", { headers: { authorization: `Bearer ${token}` } }),
        rawTarget("http://gw.test/app/A/x"),
        deps,
        { waitUntil: () => {} },
      );
    return { clock, store, tokens, send };
  }

  it("checks expiry on every request, so an entry never outlives the token's exp", async () => {
    const records = { "app:A": JSON.stringify({ jwtEnabled: true, secret: KEY_BASE64, clockToleranceSeconds: 0 }) };
    const { clock, tokens, send } = pipeline(records);
    const token = await mintToken({ appId: "A", userId: "u", exp: clock.now / 1000 + 10 });
    expect((await send(token)).status).toBe(200);
    expect(tokens.size).toBe(1);
    clock.now += 9_000;
    expect((await send(token)).status).toBe(200);
    clock.now += 1_000;
    expect(await (await send(token)).json()).toMatchObject({ code: "40", reason: "TOKEN_EXPIRED" });
  });

  it("verifies again under a changed record", async () => {
    const records: Record<string, string> = {
      "app:A": JSON.stringify({ jwtEnabled: true, secret: KEY_BASE64 }),
    };
    const { store, send } = pipeline(records);
    const token = await mintToken({ appId: "A", userId: "u" });
    expect((await send(token)).status).toBe(200);
    records["app:A"] = JSON.stringify({ jwtEnabled: true, secret: btoa(String.fromCharCode(...OTHER_KEY_BYTES)) });
    store.invalidate("A");
    expect(await (await send(token)).json()).toMatchObject({ code: "38", reason: "INVALID_SIGNATURE" });
  });

  it("keeps neither long tokens nor more than its bound", async () => {
    const cache = new VerifiedTokenCache(2);
    const app = {
      appId: "A",
      jwtEnabled: true,
      enforcement: "enforce" as const,
      keyring: null,
      jwksUri: null,
      revocations: null,
      clockToleranceSeconds: 0,
      policy: V1_POLICY,
    };
    const key = { kid: null, alg: "HS256" as const, cryptoKey: {} as CryptoKey, notBefore: null, notAfter: null };
    const verified = { claims: {}, payloadSegment: "e30", key, userId: "u" };
    cache.set("x".repeat(MAX_CACHED_TOKEN_CHARS + 1), app, verified);
    expect(cache.size).toBe(0);
    for (const token of ["a", "b", "c"]) cache.set(token, app, verified);
    expect(cache.size).toBe(2);
    expect(cache.get("a", app)).toBeUndefined();
    expect(cache.get("c", app)).toBe(verified);
    expect(cache.get("c", { ...app })).toBeUndefined();
  });
});
