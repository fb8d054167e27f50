// The token policy (issuer, audience, requireExp, maxTokenLifetimeSeconds,
// tokensNotBefore), through the Worker and through the admin API.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import {
  admin,
  claimsFor,
  enforcingRecord,
  expectFieldRefused,
  expectRejected,
  gateway,
  invalid,
  KEY_BASE64,
  mintToken,
  newApp,
  nowSeconds,
  OTHER_KEY_BYTES,
  originCalls,
  seedApp,
  uniqueAppId,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

/** A fresh app with `policy` added to an enforcing v1 record, and a function to call it. */
async function appWith(policy: Record<string, unknown>) {
  const appId = await newApp(enforcingRecord(policy));
  const call = async (claims: Record<string, unknown>, key?: Uint8Array) =>
    gateway(`/app/${appId}/x`, withToken(await mintToken(claimsFor(appId, claims), key)));
  return { appId, call };
}

async function expectForwarded(res: Response): Promise<void> {
  expect(res.status).toBe(200);
  expect(originCalls).toHaveLength(1);
}

describe("issuer", () => {
  it.each([
    ["one issuer", "https://backend.example", "https://backend.example"],
    ["a list, first", ["https://a.example", "https://b.example"], "https://a.example"],
    ["a list, last", ["https://a.example", "https://b.example"], "https://b.example"],
  ])("forwards a token from %s", async (_, issuer, iss) => {
    const { call } = await appWith({ issuer });
    await expectForwarded(await call({ iss }));
  });

  it.each([
    ["another issuer", "https://evil.example"],
    ["another case", "HTTPS://BACKEND.EXAMPLE"],
    ["a trailing slash", "https://backend.example/"],
  ])("answers 38 IDENTIFIER_MISMATCH to %s", async (_, iss) => {
    const { call } = await appWith({ issuer: "https://backend.example" });
    await expectRejected(await call({ iss }), 401, invalid("IDENTIFIER_MISMATCH"));
  });

  it.each([
    ["no iss", undefined],
    ["iss as a list", ["https://backend.example"]],
    ["iss as a number", 1],
  ])("answers 38 PAYLOAD_CONTENT_MISSING to %s", async (_, iss) => {
    const { call } = await appWith({ issuer: "https://backend.example" });
    await expectRejected(await call({ iss }), 401, invalid("PAYLOAD_CONTENT_MISSING"));
  });

  it("ignores iss when the app names no issuer (v1)", async () => {
    const { call } = await appWith({});
    await expectForwarded(await call({ iss: "anyone" }));
  });
});

describe("audience", () => {
  it.each([
    ["aud as the one audience", "sdk", "sdk"],
    ["aud as a list holding it", "sdk", ["other", "sdk"]],
    ["aud matching one of the app's list", ["web", "sdk"], "web"],
  ])("forwards %s", async (_, audience, aud) => {
    const { call } = await appWith({ audience });
    await expectForwarded(await call({ aud }));
  });

  it.each([
    ["another audience", "other"],
    ["a list without it", ["a", "b"]],
    ["another case", "SDK"],
  ])("answers 38 IDENTIFIER_MISMATCH to %s", async (_, aud) => {
    const { call } = await appWith({ audience: "sdk" });
    await expectRejected(await call({ aud }), 401, invalid("IDENTIFIER_MISMATCH"));
  });

  it.each([
    ["no aud", undefined],
    ["an empty list", []],
    ["a list with a number", ["sdk", 1]],
    ["an object", { sdk: true }],
  ])("answers 38 PAYLOAD_CONTENT_MISSING to %s", async (_, aud) => {
    const { call } = await appWith({ audience: "sdk" });
    await expectRejected(await call({ aud }), 401, invalid("PAYLOAD_CONTENT_MISSING"));
  });
});

describe("requireExp and maxTokenLifetimeSeconds", () => {
  it("requireExp: a token without exp is 38 PAYLOAD_CONTENT_MISSING, one with exp passes", async () => {
    const { call } = await appWith({ requireExp: true });
    await expectRejected(await call({ exp: undefined }), 401, invalid("PAYLOAD_CONTENT_MISSING"));
    originCalls.length = 0;
    await expectForwarded(await call({}));
  });

  it("maxTokenLifetimeSeconds: exp − iat may equal it, not exceed it", async () => {
    const { call } = await appWith({ maxTokenLifetimeSeconds: 600 });
    const iat = nowSeconds();
    await expectForwarded(await call({ iat, exp: iat + 600 }));
    originCalls.length = 0;
    await expectRejected(await call({ iat, exp: iat + 601 }), 401, invalid("TIME_CONSTRAINT_FAILURE"));
  });

  it.each([
    ["no iat", { iat: undefined }],
    ["no exp", { exp: undefined }],
  ])("maxTokenLifetimeSeconds: %s is 38 PAYLOAD_CONTENT_MISSING", async (_, claims) => {
    const { call } = await appWith({ maxTokenLifetimeSeconds: 600 });
    await expectRejected(await call(claims), 401, invalid("PAYLOAD_CONTENT_MISSING"));
  });

  it("checks the signature first: a badly signed token breaking the policy is INVALID_SIGNATURE", async () => {
    const { call } = await appWith({ requireExp: true, maxTokenLifetimeSeconds: 60, issuer: "x" });
    await expectRejected(await call({ exp: undefined }, OTHER_KEY_BYTES), 401, invalid("INVALID_SIGNATURE"));
  });
});

describe("tokensNotBefore", () => {
  const at = (seconds: number) => new Date(seconds * 1000).toISOString();

  it("refuses tokens issued before it, or without iat, and forwards those issued at or after it", async () => {
    const cutoff = nowSeconds() - 100;
    const { call } = await appWith({ tokensNotBefore: at(cutoff) });
    await expectRejected(await call({ iat: cutoff - 1 }), 401, invalid("TIME_CONSTRAINT_FAILURE"));
    await expectRejected(await call({ iat: undefined }), 401, invalid("TIME_CONSTRAINT_FAILURE"));
    await expectForwarded(await call({ iat: cutoff }));
  });

  it("logs everyone out at once: a token that passed is refused right after the PATCH", async () => {
    const appId = uniqueAppId();
    expect((await admin(`/apps/${appId}`, { method: "PUT", body: JSON.stringify(enforcingRecord()) })).status).toBe(
      201,
    );
    const token = await mintToken(claimsFor(appId, { iat: nowSeconds() - 60 }));
    await expectForwarded(await gateway(`/app/${appId}/x`, withToken(token)));
    originCalls.length = 0;
    const patch = await admin(`/apps/${appId}`, {
      method: "PATCH",
      body: JSON.stringify({ tokensNotBefore: at(nowSeconds() - 1) }),
    });
    expect(patch.status).toBe(200);
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(token)), 401, invalid("TIME_CONSTRAINT_FAILURE"));
    const fresh = await mintToken(claimsFor(appId, { iat: nowSeconds() }));
    await expectForwarded(await gateway(`/app/${appId}/x`, withToken(fresh)));
  });

  it("reads offsets: 10:00+01:00 is 09:00Z", async () => {
    const cutoff = Date.parse("2026-01-01T09:00:00Z") / 1000;
    const { call } = await appWith({ tokensNotBefore: "2026-01-01T10:00:00+01:00" });
    await expectRejected(await call({ iat: cutoff - 1 }), 401, invalid("TIME_CONSTRAINT_FAILURE"));
    await expectForwarded(await call({ iat: cutoff }));
  });
});

describe("the admin API", () => {
  it("stores the policy and shows it in the view; a v1 record's view has none of it (but its mode)", async () => {
    const appId = uniqueAppId();
    const policy = {
      issuer: ["https://a.example", "https://b.example"],
      audience: "sdk",
      requireExp: true,
      maxTokenLifetimeSeconds: 3600,
      tokensNotBefore: "2026-11-01T00:00:00Z",
    };
    const res = await admin(`/apps/${appId}`, { method: "PUT", body: JSON.stringify(enforcingRecord(policy)) });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ appId, ...policy });
    const v1 = uniqueAppId();
    const plain = (await (
      await admin(`/apps/${v1}`, { method: "PUT", body: JSON.stringify(enforcingRecord()) })
    ).json()) as Record<string, unknown>;
    expect(Object.keys(plain).sort()).toEqual(
      [
        "appId",
        "jwtEnabled",
        "enforcement",
        "secretEncoding",
        "secretFingerprint",
        "clockToleranceSeconds",
        "createdAt",
        "updatedAt",
      ].sort(),
    );
  });

  it.each([
    ["issuer", ""],
    ["issuer", []],
    ["issuer", ["a", "a"]],
    ["issuer", ["a", "b", "c", "d"]],
    ["issuer", "x".repeat(129)],
    ["issuer", 5],
    ["issuer", null],
    ["audience", "sdk\n"],
    ["audience", [""]],
    ["requireExp", "yes"],
    ["maxTokenLifetimeSeconds", 0],
    ["maxTokenLifetimeSeconds", 1.5],
    ["maxTokenLifetimeSeconds", 31_536_001],
    ["tokensNotBefore", "2026-02-31T00:00:00Z"],
    ["tokensNotBefore", "2026-11-22"],
    ["tokensNotBefore", "2026-11-22T10:00:00"],
    ["tokensNotBefore", "yesterday"],
    ["tokensNotBefore", 1795000000],
  ])("answers 400 to %s = %j, naming the field, and writes nothing", expectFieldRefused);

  it("lists a record whose view is too large for KV metadata by reading it", async () => {
    const appId = uniqueAppId("AAAA");
    const long = (c: string) => Array.from({ length: 3 }, (_, i) => `${c}${i}`.padEnd(128, c));
    const policy = { issuer: long("i"), audience: long("a") };
    expect(
      (await admin(`/apps/${appId}`, { method: "PUT", body: JSON.stringify(enforcingRecord(policy)) })).status,
    ).toBe(201);
    const { metadata } = await env.APPS.getWithMetadata(`app:${appId}`);
    expect(metadata).toBeNull();
    const res = await admin("/apps?limit=1000");
    const page = (await res.json()) as { apps: { appId: string; issuer?: unknown }[] };
    expect(page.apps.find((view) => view.appId === appId)?.issuer).toEqual(policy.issuer);
  });

  it("treats a stored record with a broken policy as a fault: 503, never forwarded", async () => {
    const appId = uniqueAppId();
    await seedApp(appId, { jwtEnabled: true, secret: KEY_BASE64, tokensNotBefore: "soon" });
    const res = await gateway(`/app/${appId}/x`, withToken(await mintToken(claimsFor(appId))));
    await expectRejected(res, 503, { code: "CONFIG_UNAVAILABLE", status: "App configuration unavailable" });
  });

  it("keeps one KV read per app and period with a policy", async () => {
    const { call } = await appWith({ issuer: "x" });
    const get = vi.spyOn(env.APPS, "get");
    for (let i = 0; i < 3; i++) expect((await call({ iss: "x" })).status).toBe(200);
    expect(get).toHaveBeenCalledTimes(1);
    get.mockRestore();
  });
});
