// Challenge-bound tokens (requireNonce, the nonce endpoint, the client's challenge), per-user
// revocation, and timestamps in milliseconds, through the Worker.
import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkUserId } from "../../src/admin/schema.ts";
import { createClient } from "../../src/client/index.ts";
import { GatewayError } from "../../src/errors.ts";
import worker from "../../src/index.ts";
import type { AppNonces } from "../../src/nonces/app-nonces.ts";
import {
  admin,
  captureLogs,
  claimsFor,
  enforcingRecord,
  expectRejected,
  GATEWAY,
  gateway,
  gatewayWith,
  invalid,
  KEY_BYTES,
  mintToken,
  newApp,
  nowSeconds,
  originCalls,
  seedApp,
  signRaw,
  uniqueAppId,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

afterEach(() => {
  vi.useRealTimers();
});

function noncePath(appId: string): string {
  return `/.well-known/edge-authenticator/apps/${appId}/nonce`;
}

async function nonceFor(appId: string): Promise<string> {
  const res = await gateway(noncePath(appId), { method: "POST" });
  expect(res.status).toBe(200);
  return ((await res.json()) as { nonce: string }).nonce;
}

/** The detail of the one refusal `fn` logs. */
async function detailOf(fn: () => Promise<Response>): Promise<unknown> {
  const logs = captureLogs();
  try {
    await fn();
  } finally {
    logs.restore();
  }
  return logs.lines().find((line) => line.event === "rejected")?.detail;
}

describe("POST /.well-known/edge-authenticator/apps/{appId}/nonce", () => {
  it("issues a nonce for an app, no-store, readable by a page on another origin, never forwarded", async () => {
    const appId = await newApp(enforcingRecord({ requireNonce: true }));
    const res = await gateway(noncePath(appId), { method: "POST", headers: { origin: "https://web.example" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("access-control-allow-origin")).toBe("https://web.example");
    const body = (await res.json()) as { nonce: string; expiresIn: number; required: boolean };
    expect(body).toEqual({ nonce: expect.stringMatching(/^[\w-]{28}\.[\w-]{22}$/), expiresIn: 300, required: true });
    expect(await nonceFor(appId)).not.toBe(body.nonce);
    expect(originCalls).toHaveLength(0);
  });

  it("answers a browser's preflight, says required: false for an app that needs none", async () => {
    const appId = await newApp();
    const preflight = await gateway(noncePath(appId), {
      method: "OPTIONS",
      headers: { origin: "https://web.example", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-methods")).toBe("POST");
    expect(
      ((await (await gateway(noncePath(appId), { method: "POST" })).json()) as { required: boolean }).required,
    ).toBe(false);
  });

  it("answers 404 for an unknown app, 405 to GET, 400 to a bad appId; without NONCE_SECRET, required: false or 503", async () => {
    expect((await gateway(noncePath(uniqueAppId()), { method: "POST" })).status).toBe(404);
    const appId = await newApp();
    expect((await gateway(noncePath(appId))).status).toBe(405);
    expect((await gateway(noncePath("bad~id"), { method: "POST" })).status).toBe(400);
    expect((await gateway("/.well-known/edge-authenticator/other", { method: "POST" })).status).toBe(404);
    const res = await gatewayWith({ NONCE_SECRET: undefined }, noncePath(appId), { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ required: false });
    const requiring = await newApp(enforcingRecord({ requireNonce: true }));
    const refused = await gatewayWith({ NONCE_SECRET: undefined }, noncePath(requiring), { method: "POST" });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ code: "CONFIG_UNAVAILABLE" });
    expect(originCalls).toHaveLength(0);
  });
});

describe("requireNonce", () => {
  it("accepts a token carrying a nonce issued for the app, and the same token again and again", async () => {
    const appId = await newApp(enforcingRecord({ requireNonce: true }));
    const token = await mintToken(claimsFor(appId, { nonce: await nonceFor(appId) }));
    for (let i = 0; i < 3; i++) expect((await gateway(`/app/${appId}/x`, withToken(token))).status).toBe(200);
    // Another isolate (its own token cache) sees the same token: the nonce is bound to it already.
    expect((await gatewayWith({ METRICS_FLUSH_MS: "10" }, `/app/${appId}/x`, withToken(token))).status).toBe(200);
  });

  it("refuses another token with a nonce already used: 38 IDENTIFIER_MISMATCH, nonce_reused", async () => {
    const appId = await newApp(enforcingRecord({ requireNonce: true }));
    const nonce = await nonceFor(appId);
    expect((await gateway(`/app/${appId}/x`, withToken(await mintToken(claimsFor(appId, { nonce }))))).status).toBe(
      200,
    );
    const second = await mintToken(claimsFor(appId, { nonce, userId: "user-2" }));
    originCalls.length = 0;
    expect(await detailOf(() => gateway(`/app/${appId}/x`, withToken(second)))).toBe("nonce_reused");
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(second)), 401, invalid("IDENTIFIER_MISMATCH"));
  });

  it.each([
    ["no nonce", async () => ({}), "PAYLOAD_CONTENT_MISSING", "nonce_missing"],
    ["a nonce that is not a string", async () => ({ nonce: 42 }), "PAYLOAD_CONTENT_MISSING", "nonce_missing"],
    [
      "another app's nonce",
      async () => ({ nonce: await nonceFor(await newApp()) }),
      "IDENTIFIER_MISMATCH",
      "nonce_invalid",
    ],
    [
      "a made-up nonce",
      async () => ({ nonce: "AQAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA" }),
      "IDENTIFIER_MISMATCH",
      "nonce_invalid",
    ],
  ])("refuses %s (38 %s, %s), forwarding nothing", async (_, claims, reason, detail) => {
    const appId = await newApp(enforcingRecord({ requireNonce: true }));
    const token = await mintToken(claimsFor(appId, await claims()));
    expect(await detailOf(() => gateway(`/app/${appId}/x`, withToken(token)))).toBe(detail);
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(token)), 401, invalid(reason));
  });

  it("refuses a nonce that had expired when the token was issued, or a token without iat: nonce_expired", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const appId = await newApp(enforcingRecord({ requireNonce: true, clockToleranceSeconds: 0 }));
    const nonce = await nonceFor(appId);
    vi.setSystemTime(Date.now() + 301_000);
    const late = await mintToken(claimsFor(appId, { nonce, iat: nowSeconds() }));
    expect(await detailOf(() => gateway(`/app/${appId}/x`, withToken(late)))).toBe("nonce_expired");
    const fresh = await nonceFor(appId);
    const noIat = await mintToken(claimsFor(appId, { nonce: fresh, iat: undefined }));
    expect(await detailOf(() => gateway(`/app/${appId}/x`, withToken(noIat)))).toBe("nonce_expired");
  });

  it("keeps a nonce bound for as long as its token can pass: a second token never takes it over", async () => {
    const appId = await newApp(enforcingRecord({ requireNonce: true }));
    const nonce = await nonceFor(appId);
    const month = 30 * 86_400;
    const first = await mintToken(claimsFor(appId, { nonce, exp: nowSeconds() + month }));
    expect((await gateway(`/app/${appId}/x`, withToken(first))).status).toBe(200);
    const second = await mintToken(claimsFor(appId, { nonce, userId: "user-2", exp: nowSeconds() + month }));
    // The alarm's prune two days on: the nonce is long expired, the first token is not.
    const stub = env.NONCES.get(env.NONCES.idFromName(appId));
    await runInDurableObject(stub, (instance: AppNonces) => {
      expect(instance.prune(nowSeconds() + 2 * 86_400)).toBe(1);
    });
    originCalls.length = 0;
    expect(await detailOf(() => gateway(`/app/${appId}/x`, withToken(second)))).toBe("nonce_reused");
    expect(originCalls).toHaveLength(0);
    // The first token, checked afresh by another isolate, is still the nonce's.
    expect((await gatewayWith({ METRICS_FLUSH_MS: "10" }, `/app/${appId}/x`, withToken(first))).status).toBe(200);
    // Pruned only a day after the token's own end (exp + tolerance).
    await runInDurableObject(stub, (instance: AppNonces) => {
      expect(instance.prune(nowSeconds() + month + 60 + 86_400 - 10)).toBe(1);
      expect(instance.prune(nowSeconds() + month + 60 + 86_400 + 10)).toBe(0);
    });
  });

  it("refuses a nonce first used over a day after it expired, whatever the token's iat: nonce_expired", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const appId = await newApp(enforcingRecord({ requireNonce: true }));
    const issuedAt = nowSeconds();
    const nonce = await nonceFor(appId);
    const token = await mintToken(claimsFor(appId, { nonce, iat: issuedAt, exp: issuedAt + 3 * 86_400 }));
    vi.setSystemTime((issuedAt + 300 + 86_400 + 10) * 1000);
    originCalls.length = 0;
    expect(await detailOf(() => gateway(`/app/${appId}/x`, withToken(token)))).toBe("nonce_expired");
    expect(originCalls).toHaveLength(0);
    // Within the day, the same kind of token (issued while the nonce was valid, sent late) passes.
    const onTime = await nonceFor(appId);
    const late = await mintToken(claimsFor(appId, { nonce: onTime, exp: nowSeconds() + 3600 }));
    vi.setSystemTime(Date.now() + 3_600_000);
    expect((await gateway(`/app/${appId}/x`, withToken(late))).status).toBe(200);
  });

  it("answers 503 when nonces are not configured (no NONCE_SECRET), never forwarding", async () => {
    const appId = await newApp(enforcingRecord({ requireNonce: true }));
    const token = await mintToken(claimsFor(appId, { nonce: await nonceFor(appId) }));
    await expectRejected(await gatewayWith({ NONCE_SECRET: undefined }, `/app/${appId}/x`, withToken(token)), 503, {
      code: "CONFIG_UNAVAILABLE",
      status: "App configuration unavailable",
    });
  });

  it("the client asks the gateway for a nonce and hands it to getToken (the challenge), once per token", async () => {
    const appId = await newApp(enforcingRecord({ requireNonce: true }));
    const nonces: (string | undefined)[] = [];
    const client = createClient({
      baseUrl: GATEWAY,
      appId,
      getToken: async ({ nonce }) => {
        nonces.push(nonce);
        return mintToken(claimsFor(appId, { nonce, jti: String(nonces.length) }));
      },
      fetch: (url, init) => exports.default.fetch(new Request(url, init)),
    });
    expect((await client.fetch("/x")).status).toBe(200);
    expect((await client.fetch("/y")).status).toBe(200);
    client.reset();
    expect((await client.fetch("/z")).status).toBe(200);
    expect(nonces).toHaveLength(2);
    expect(nonces.every((nonce) => typeof nonce === "string")).toBe(true);
    expect(nonces[0]).not.toBe(nonces[1]);
  });

  it("the client does not ask again for an app that requires no nonce", async () => {
    const appId = await newApp();
    const asked: string[] = [];
    const client = createClient({
      baseUrl: GATEWAY,
      appId,
      getToken: async ({ nonce }) => mintToken(claimsFor(appId, nonce === undefined ? {} : { nonce })),
      fetch: (url, init) => {
        asked.push(new URL(url).pathname);
        return exports.default.fetch(new Request(url, init));
      },
    });
    expect((await client.fetch("/x")).status).toBe(200);
    client.setToken(await mintToken(claimsFor(appId, { exp: nowSeconds() + 30 })));
    expect((await client.fetch("/y")).status).toBe(200);
    expect(asked.filter((path) => path.endsWith("/nonce"))).toHaveLength(1);
  });
});

describe("per-user revocation", () => {
  const revoke = (appId: string, userId: string, body?: unknown) =>
    admin(`/apps/${appId}/revocations/${encodeURIComponent(userId)}`, {
      method: "PUT",
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it("refuses the user's tokens issued before the revocation (38 TIME_CONSTRAINT_FAILURE, user_revoked); a new one passes", async () => {
    const appId = await newApp();
    const old = await mintToken(claimsFor(appId, { iat: nowSeconds() - 60 }));
    expect((await gateway(`/app/${appId}/x`, withToken(old))).status).toBe(200);
    const res = await revoke(appId, "user-1");
    expect(res.status).toBe(201);
    originCalls.length = 0;
    expect(await res.json()).toEqual({ appId, userId: "user-1", before: expect.any(String) });
    expect(await detailOf(() => gateway(`/app/${appId}/x`, withToken(old)))).toBe("user_revoked");
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(old)), 401, invalid("TIME_CONSTRAINT_FAILURE"));
    const fresh = await mintToken(claimsFor(appId, { iat: nowSeconds() + 1 }));
    expect((await gateway(`/app/${appId}/x`, withToken(fresh))).status).toBe(200);
    const otherUser = await mintToken(claimsFor(appId, { userId: "user-2", iat: nowSeconds() - 60 }));
    expect((await gateway(`/app/${appId}/x`, withToken(otherUser))).status).toBe(200);
  });

  it("refuses a revoked user's token without iat, and finds the user by any of the app's user claims", async () => {
    const appId = await newApp();
    await revoke(appId, "cust-9", { before: new Date(Date.now() + 3_600_000).toISOString() });
    const byCustomer = await mintToken(claimsFor(appId, { userId: "u", customerId: "cust-9" }));
    expect(await detailOf(() => gateway(`/app/${appId}/x`, withToken(byCustomer)))).toBe("user_revoked");
    await revoke(appId, "user-1");
    const noIat = await mintToken(claimsFor(appId, { iat: undefined }));
    expect(await detailOf(() => gateway(`/app/${appId}/x`, withToken(noIat)))).toBe("user_revoked");
  });

  it("lists revocations in pages, lifts one (its old tokens pass again), 404 for a user not revoked", async () => {
    const appId = await newApp();
    for (const user of ["a", "b", "c"]) expect((await revoke(appId, user)).status).toBe(201);
    expect((await revoke(appId, "b")).status).toBe(200);
    const first = (await (await admin(`/apps/${appId}/revocations?limit=2`)).json()) as {
      revocations: { userId: string }[];
      cursor: string;
    };
    expect(first.revocations.map((entry) => entry.userId)).toEqual(["a", "b"]);
    const second = (await (await admin(`/apps/${appId}/revocations?limit=2&cursor=${first.cursor}`)).json()) as {
      revocations: { userId: string }[];
      cursor: string | null;
    };
    expect(second).toEqual({ revocations: [{ userId: "c", before: expect.any(String) }], cursor: null });
    expect((await admin(`/apps/${appId}/revocations?cursor=${first.cursor}x`)).status).toBe(400);
    expect(await (await admin(`/apps/${appId}`)).json()).toMatchObject({ revokedUsers: 3 });
    expect((await admin(`/apps/${appId}/revocations/b`, { method: "DELETE" })).status).toBe(204);
    expect((await admin(`/apps/${appId}/revocations/b`, { method: "DELETE" })).status).toBe(404);
    const old = await mintToken(claimsFor(appId, { userId: "b", iat: nowSeconds() - 60 }));
    expect((await gateway(`/app/${appId}/x`, withToken(old))).status).toBe(200);
  });

  it("keeps revocations across PUT and PATCH of the record, and logs no user id", async () => {
    const appId = uniqueAppId();
    await admin(`/apps/${appId}`, { method: "PUT", body: JSON.stringify(enforcingRecord()) });
    const logs = captureLogs();
    try {
      await revoke(appId, "person@example.com");
    } finally {
      logs.restore();
    }
    expect(logs.text()).not.toContain("person@example.com");
    await admin(`/apps/${appId}`, {
      method: "PUT",
      body: JSON.stringify(enforcingRecord({ clockToleranceSeconds: 30 })),
    });
    await admin(`/apps/${appId}`, { method: "PATCH", body: JSON.stringify({ clockToleranceSeconds: 20 }) });
    const listed = (await (await admin(`/apps/${appId}/revocations`)).json()) as { revocations: { userId: string }[] };
    expect(listed.revocations.map((entry) => entry.userId)).toEqual(["person@example.com"]);
    // revocations is no writable field: a PUT that names it is refused.
    const res = await admin(`/apps/${appId}`, {
      method: "PUT",
      body: JSON.stringify(enforcingRecord({ revocations: {} })),
    });
    expect(res.status).toBe(400);
  });

  it("reaches another isolate within the record cache TTL (CONFIG_CACHE_TTL_SECONDS)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const appId = await newApp();
    const old = await mintToken(claimsFor(appId, { iat: nowSeconds() - 60 }));
    // Another isolate: one env object of its own, so its own record cache, which has read the record.
    const elsewhere = { ...env, CONFIG_CACHE_TTL_SECONDS: "60" };
    const call = async () => {
      const request = new Request(`${GATEWAY}/app/${appId}/x`, withToken(old));
      return (await worker.fetch(request as never, elsewhere as never, createExecutionContext())).status;
    };
    expect(await call()).toBe(200);
    await revoke(appId, "user-1");
    expect(await call()).toBe(200);
    vi.setSystemTime(Date.now() + 61_000);
    expect(await call()).toBe(401);
  });

  it("answers 409 past 10,000 revoked users, and drops revocations older than the longest token lifetime", async () => {
    const appId = uniqueAppId();
    const now = nowSeconds();
    const full = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`u${String(i).padStart(5, "0")}`, now]));
    await seedApp(appId, enforcingRecord({ revocations: full }));
    expect((await revoke(appId, "one-more")).status).toBe(409);
    expect((await revoke(appId, "u00001")).status).toBe(200);
    const aging = uniqueAppId();
    const old = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`u${i}`, now - 7200]));
    await seedApp(aging, enforcingRecord({ maxTokenLifetimeSeconds: 3600, revocations: old }));
    expect((await revoke(aging, "one-more")).status).toBe(201);
    expect(await (await admin(`/apps/${aging}`)).json()).toMatchObject({ revokedUsers: 1 });
  });

  it("revokes any user id, those an object's prototype names included (__proto__, constructor, toString)", async () => {
    const appId = await newApp();
    const users = ["constructor", "__proto__", "prototype", "toString", "hasOwnProperty"];
    for (const userId of users) {
      expect((await revoke(appId, userId)).status, userId).toBe(201);
      expect((await revoke(appId, userId)).status, userId).toBe(200);
    }
    const listed = (await (await admin(`/apps/${appId}/revocations`)).json()) as { revocations: { userId: string }[] };
    expect(listed.revocations.map((entry) => entry.userId)).toEqual([...users].sort());
    expect(await (await admin(`/apps/${appId}`)).json()).toMatchObject({ revokedUsers: users.length });
    originCalls.length = 0;
    for (const userId of users) {
      const old = await mintToken(claimsFor(appId, { userId, iat: nowSeconds() - 60 }));
      expect(await detailOf(() => gateway(`/app/${appId}/x`, withToken(old))), userId).toBe("user_revoked");
    }
    expect(originCalls).toHaveLength(0);
    // A user never revoked whose name an object inherits is not revoked.
    const inherited = await mintToken(claimsFor(appId, { userId: "valueOf", iat: nowSeconds() - 60 }));
    expect((await gateway(`/app/${appId}/x`, withToken(inherited))).status).toBe(200);
    expect((await admin(`/apps/${appId}/revocations/valueOf`, { method: "DELETE" })).status).toBe(404);
    expect((await admin(`/apps/${appId}/revocations/__proto__`, { method: "DELETE" })).status).toBe(204);
    const lifted = await mintToken(claimsFor(appId, { userId: "__proto__", iat: nowSeconds() - 60 }));
    expect((await gateway(`/app/${appId}/x`, withToken(lifted))).status).toBe(200);
  });

  it("pages through user ids in string order, integer-like ones included", async () => {
    const appId = await newApp();
    const users = ["9", "10", "a", "2", "B"];
    for (const userId of users) await revoke(appId, userId);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? "limit=1" : `limit=1&cursor=${cursor}`;
      const page = (await (await admin(`/apps/${appId}/revocations?${query}`)).json()) as {
        revocations: { userId: string }[];
        cursor: string | null;
      };
      seen.push(...page.revocations.map((entry) => entry.userId));
      cursor = page.cursor;
    } while (cursor !== null);
    expect(seen).toEqual(["10", "2", "9", "B", "a"]);
  });

  it("keeps a revocation while a token it refuses could still pass, clock tolerance included", async () => {
    const now = nowSeconds();
    const appId = uniqueAppId();
    await seedApp(appId, enforcingRecord({ maxTokenLifetimeSeconds: 3600, revocations: { "user-1": now - 3600 } }));
    // Issued before the revocation, expired a second ago: within the 60 s tolerance, so refused as revoked.
    const old = await mintToken(claimsFor(appId, { iat: now - 3601, exp: now - 1 }));
    expect(await detailOf(() => gateway(`/app/${appId}/x`, withToken(old)))).toBe("user_revoked");
    expect((await revoke(appId, "someone-else")).status).toBe(201);
    originCalls.length = 0;
    expect(await detailOf(() => gateway(`/app/${appId}/x`, withToken(old)))).toBe("user_revoked");
    expect(originCalls).toHaveLength(0);
    expect(await (await admin(`/apps/${appId}`)).json()).toMatchObject({ revokedUsers: 2 });
  });

  it("answers 404 for an unknown app and 400 for a bad before", async () => {
    expect((await revoke(uniqueAppId(), "u")).status).toBe(404);
    const appId = await newApp();
    expect((await revoke(appId, "u", { before: "yesterday" })).status).toBe(400);
    expect((await revoke(appId, "u", { when: "now" })).status).toBe(400);
  });

  it("refuses user ids no URL can name back: . and .. (raw %2e%2e reaching the Worker), empty, controls", () => {
    for (const raw of [".", "..", "%2e", "%2E%2e", "", "a%00b", "%ZZ"]) {
      expect(() => checkUserId(raw), raw).toThrow(GatewayError);
    }
    expect(checkUserId("a%2F..")).toBe("a/..");
    expect(checkUserId("...")).toBe("...");
  });
});

describe("timestamps in milliseconds", () => {
  const ms = () => Date.now();

  it("refuses iat or exp in milliseconds by default (38 TIME_CONSTRAINT_FAILURE, timestamp_in_milliseconds)", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId, { iat: ms(), exp: ms() + 3_600_000 }));
    expect(await detailOf(() => gateway(`/app/${appId}/x`, withToken(token)))).toBe("timestamp_in_milliseconds");
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(token)), 401, invalid("TIME_CONSTRAINT_FAILURE"));
    const expOnly = await mintToken(claimsFor(appId, { iat: undefined, exp: ms() + 3_600_000 }));
    expect(await detailOf(() => gateway(`/app/${appId}/x`, withToken(expOnly)))).toBe("timestamp_in_milliseconds");
  });

  it("reads them as milliseconds with acceptMillisecondTimestamps, expiry included", async () => {
    const appId = await newApp(enforcingRecord({ acceptMillisecondTimestamps: true }));
    const good = await mintToken(claimsFor(appId, { iat: ms(), exp: ms() + 3_600_000 }));
    expect((await gateway(`/app/${appId}/x`, withToken(good))).status).toBe(200);
    const expired = await mintToken(claimsFor(appId, { iat: ms() - 7_200_000, exp: ms() - 3_600_000 }));
    const res = await gateway(`/app/${appId}/x`, withToken(expired));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe("40");
  });

  it("accepts fractional seconds as they are", async () => {
    const appId = await newApp();
    const now = Date.now() / 1000;
    const token = await signRaw(
      '{"alg":"HS256","typ":"JWT"}',
      JSON.stringify(claimsFor(appId, { iat: now, exp: now + 600.5 })),
      KEY_BYTES,
    );
    expect((await gateway(`/app/${appId}/x`, withToken(token))).status).toBe(200);
  });
});
