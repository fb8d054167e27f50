/**
 * `edge-authenticator/client` (src/client) against the gateway itself, in workerd: the client's
 * `fetch` calls the Worker through its default export, so every answer it handles is one the
 * gateway really made. Tokens are named by labels in assertions: none is ever printed.
 */

import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  type AuthError,
  AuthSuspendedError,
  type ClientOptions,
  createClient,
  NonceUnavailableError,
  type TokenRequestReason,
} from "../../src/client/index.ts";
import {
  admin,
  claimsFor,
  enforcingRecord,
  GATEWAY,
  gatewayWith,
  KEY_BYTES,
  mintToken,
  newApp,
  nowSeconds,
  OTHER_KEY_BYTES,
  originCalls,
  setOriginResponder,
  useOriginRecorder,
} from "../helpers.ts";

useOriginRecorder();

const HOUR_MS = 3_600_000;

/** What reached the gateway: which token (by label) and what it answered. */
interface Sent {
  readonly token: string;
  readonly status: number;
  readonly code?: string;
}

/**
 * A fresh app behind the gateway, tokens for its `user-1` known by labels, the requests that
 * reached the gateway, and a client wired to it. `tokens` is what the app's `getToken` gives, in
 * order (the last one again once they run out), after `delayMs`.
 */
async function setup(options: Partial<ClientOptions> & { tokens?: () => string[]; delayMs?: number } = {}) {
  const appId = await newApp();
  const labels = new Map<string, string>();
  const sent: Sent[] = [];
  const reasons: TokenRequestReason[] = [];
  const authErrors: AuthError[] = [];
  const label = (token: string | undefined) => (token === undefined ? "none" : (labels.get(token) ?? "unknown"));

  /** A new token for `user-1` of the app (claims added or changed), signed with `key`, named `name`. */
  async function token(name: string, claims: Record<string, unknown> = {}, key = KEY_BYTES): Promise<string> {
    // A jti of its own: two tokens minted in the same second would otherwise be the same text.
    const minted = await mintToken(claimsFor(appId, { jti: `${name}-${labels.size}`, ...claims }), key);
    labels.set(minted, name);
    return minted;
  }

  async function gatewayFetch(url: string, init: RequestInit): Promise<Response> {
    const response = await exports.default.fetch(new Request(url, init));
    const bearer = new Headers(init.headers).get("authorization")?.replace(/^Bearer /, "");
    const code = response.status === 401 ? ((await response.clone().json()) as { code: string }).code : undefined;
    sent.push({ token: label(bearer), status: response.status, ...(code === undefined ? {} : { code }) });
    return response;
  }

  let given = 0;
  const client = createClient({
    baseUrl: `${GATEWAY}/api/v1`,
    appId,
    getToken: async ({ reason }) => {
      reasons.push(reason);
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      const list = options.tokens?.() ?? [];
      const next = list[Math.min(given++, list.length - 1)];
      if (next === undefined) throw new Error("the test's getToken has no token to give");
      return next;
    },
    onAuthError: (error) => authErrors.push(error),
    fetch: gatewayFetch,
    // These tests count what reaches the SDK routes; challenge nonces have tests of their own.
    nonce: "never",
    ...options,
  });
  return { appId, client, token, label, sent, reasons, authErrors };
}

/** Claims of a token that expired ten minutes ago by the gateway's clock (beyond its 60 s tolerance). */
function expiredClaims(): Record<string, unknown> {
  return { iat: nowSeconds() - 1500, exp: nowSeconds() - 600 };
}

describe("client: sending", () => {
  it("sends the app's token: 200, and the origin receives the request and the verified user", async () => {
    let good = "";
    const { appId, client, token, sent, reasons } = await setup({ tokens: () => [good] });
    good = await token("good");
    const res = await client.fetch("/profile?userId=user-1");
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { ok: true } });
    expect(originCalls.map((call) => [call.url, call.headers["x-auth-user-id"]])).toEqual([
      [`https://origin.test/base/api/v1/app/${appId}/profile?userId=user-1`, "user-1"],
    ]);
    const post = await client.fetch("/setuserid", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: "user-1" }),
    });
    expect(post.status).toBe(200);
    expect(originCalls[1]?.body).toBe('{"userId":"user-1"}');
    expect(sent).toEqual([
      { token: "good", status: 200 },
      { token: "good", status: 200 },
    ]);
    expect(reasons).toEqual(["initial"]);
  });

  it("puts the appId in place of {appId} in baseUrl (for gateways with their own APP_ROUTES)", async () => {
    let good = "";
    const { appId, token, sent } = await setup();
    good = await token("good");
    const client = createClient({
      baseUrl: `${GATEWAY}/rtmsAPI/api/v1/app/{appId}/`,
      appId,
      getToken: () => good,
      fetch: (url, init) => exports.default.fetch(new Request(url, init)),
    });
    expect((await client.fetch("/setuserid")).status).toBe(200);
    expect(originCalls[0]?.url).toBe(`https://origin.test/base/rtmsAPI/api/v1/app/${appId}/setuserid`);
    expect(sent).toEqual([]);
  });

  it("passes on a 401 that is not the gateway's (the origin's own) without counting it or asking for a token", async () => {
    let good = "";
    const { client, token, reasons, authErrors } = await setup({ tokens: () => [good] });
    good = await token("good");
    setOriginResponder(() => Response.json({ error: "session_closed" }, { status: 401 }));
    const res = await client.fetch("/x");
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 401, body: { error: "session_closed" } });
    expect(reasons).toEqual(["initial"]);
    expect(authErrors).toEqual([]);
  });
});

describe("client: the gateway's clock", () => {
  it("refreshes, before sending, a token expired by the server's clock while the device clock is 2 h behind (learnt from Date)", async () => {
    const tokens: string[] = [];
    const { client, token, sent, reasons, authErrors } = await setup({
      tokens: () => tokens,
      now: () => Date.now() - 2 * HOUR_MS,
    });
    setOriginResponder(() => Response.json({ ok: true }, { headers: { date: new Date().toUTCString() } }));
    tokens.push(await token("fresh"));
    client.setToken(await token("first"));
    expect((await client.fetch("/x")).status).toBe(200);
    // By the device's clock this token has 1 h 50 min left; by the gateway's it expired 10 min ago.
    client.setToken(await token("expired", expiredClaims()));
    expect((await client.fetch("/x")).status).toBe(200);
    expect(sent).toEqual([
      { token: "first", status: 200 },
      { token: "fresh", status: 200 },
    ]);
    expect(reasons).toEqual(["expiring"]);
    expect(authErrors).toEqual([]);
  });

  it("learns the gateway's clock from a 40's serverTime: the next such token is refreshed before sending", async () => {
    const tokens: string[] = [];
    const { client, token, sent, reasons } = await setup({ tokens: () => tokens, now: () => Date.now() - 2 * HOUR_MS });
    tokens.push(await token("fresh-1"), await token("fresh-2"));
    // Nothing learnt yet: the device's clock says valid, so the token goes out and the gateway answers 40.
    client.setToken(await token("expired-1", expiredClaims()));
    expect((await client.fetch("/x")).status).toBe(200);
    client.setToken(await token("expired-2", expiredClaims()));
    expect((await client.fetch("/x")).status).toBe(200);
    expect(sent).toEqual([
      { token: "expired-1", status: 401, code: "40" },
      { token: "fresh-1", status: 200 },
      { token: "fresh-2", status: 200 },
    ]);
    expect(reasons).toEqual(["expired", "expiring"]);
  });

  it("refreshes a token that expires within refreshBeforeExpirySeconds, and keeps one that does not", async () => {
    const tokens: string[] = [];
    const { client, token, sent, reasons } = await setup({ tokens: () => tokens, refreshBeforeExpirySeconds: 120 });
    tokens.push(await token("fresh"));
    client.setToken(await token("longer", { iat: nowSeconds() - 600, exp: nowSeconds() + 150 }));
    await client.fetch("/x");
    client.setToken(await token("expiring", { iat: nowSeconds() - 600, exp: nowSeconds() + 90 }));
    await client.fetch("/x");
    expect(sent.map((entry) => entry.token)).toEqual(["longer", "fresh"]);
    expect(reasons).toEqual(["expiring"]);
  });

  it("reads exp and iat in milliseconds as milliseconds: a token 90 s from expiry is refreshed", async () => {
    const tokens: string[] = [];
    const { client, token, sent, reasons } = await setup({ tokens: () => tokens, refreshBeforeExpirySeconds: 120 });
    tokens.push(await token("fresh"));
    const nowMs = nowSeconds() * 1000;
    client.setToken(await token("expiring-ms", { iat: nowMs - 600_000, exp: nowMs + 90_000 }));
    await client.fetch("/x");
    expect(sent.map((entry) => entry.token)).toEqual(["fresh"]);
    expect(reasons).toEqual(["expiring"]);
  });

  it("refreshes a short-lived token at half its lifetime, not before every request", async () => {
    const tokens: string[] = [];
    const { client, token, sent, reasons } = await setup({ tokens: () => tokens });
    tokens.push(await token("short", { iat: nowSeconds(), exp: nowSeconds() + 60 }));
    await client.fetch("/x");
    await client.fetch("/x");
    expect(sent.map((entry) => entry.token)).toEqual(["short", "short"]);
    expect(reasons).toEqual(["initial"]);
  });
});

describe("client: refusals", () => {
  it("after a 40 asks for a new token and retries once, with the same body: 200", async () => {
    const tokens: string[] = [];
    const { client, token, sent, reasons, authErrors } = await setup({
      tokens: () => tokens,
      now: () => Date.now() - 20 * 60_000,
    });
    tokens.push(await token("fresh"));
    client.setToken(await token("expired", expiredClaims()));
    const before = nowSeconds();
    const res = await client.fetch("/setuserid", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: "user-1" }),
    });
    expect(res.status).toBe(200);
    expect(sent).toEqual([
      { token: "expired", status: 401, code: "40" },
      { token: "fresh", status: 200 },
    ]);
    expect(originCalls.map((call) => call.body)).toEqual(['{"userId":"user-1"}']);
    expect(reasons).toEqual(["expired"]);
    const [error] = authErrors;
    expect(error).toEqual({
      code: "40",
      reason: "TOKEN_EXPIRED",
      status: "Token expired",
      httpStatus: 401,
      serverTime: expect.any(Number),
      consecutiveFailures: 1,
      suspended: false,
    });
    expect(Math.abs((error?.serverTime ?? 0) - before)).toBeLessThanOrEqual(2);
  });

  it("retries only once: a second 40 is the answer", async () => {
    const tokens: string[] = [];
    const { client, token, sent, reasons } = await setup({ tokens: () => tokens, now: () => Date.now() - HOUR_MS });
    tokens.push(await token("expired-2", expiredClaims()), await token("fresh"));
    client.setToken(await token("expired-1", expiredClaims()));
    const res = await client.fetch("/x");
    expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 401, body: { code: "40" } });
    expect(sent.map((entry) => `${entry.token}:${entry.status}`)).toEqual(["expired-1:401", "expired-2:401"]);
    // The refusal of the retry fetched the next token, for the next request.
    expect(reasons).toEqual(["expired", "expired"]);
    expect((await client.fetch("/x")).status).toBe(200);
  });

  it("after a 38 retries once only when getToken gives another token", async () => {
    const tokens: string[] = [];
    const { client, token, sent, reasons, authErrors } = await setup({ tokens: () => tokens });
    const forged = await token("forged", {}, OTHER_KEY_BYTES);
    tokens.push(forged);
    expect((await client.fetch("/x")).status).toBe(401);
    expect(sent).toEqual([{ token: "forged", status: 401, code: "38" }]);
    expect(reasons).toEqual(["initial", "rejected"]);

    tokens.push(await token("good"));
    client.setToken(forged);
    expect((await client.fetch("/x")).status).toBe(200);
    expect(sent.slice(1)).toEqual([
      { token: "forged", status: 401, code: "38" },
      { token: "good", status: 200 },
    ]);
    expect(authErrors.map((error) => [error.code, error.reason, error.status])).toEqual([
      ["38", "INVALID_SIGNATURE", "Invalid token"],
      ["38", "INVALID_SIGNATURE", "Invalid token"],
    ]);
  });

  it("onAuthError receives the code, the reason, the gateway's status text and the count", async () => {
    let good = "";
    const { client, token, authErrors } = await setup({ tokens: () => [good] });
    good = await token("good");
    expect((await client.fetch("/x?userId=someone-else")).status).toBe(401);
    expect(authErrors).toEqual([
      {
        code: "38",
        reason: "IDENTIFIER_MISMATCH",
        status: "Invalid token",
        httpStatus: 401,
        consecutiveFailures: 1,
        suspended: false,
      },
    ]);
  });

  it("does not retry a request whose body is a stream (it cannot be sent twice), but has the next token ready", async () => {
    const tokens: string[] = [];
    const { client, token, sent, reasons } = await setup({ tokens: () => tokens, now: () => Date.now() - HOUR_MS });
    tokens.push(await token("fresh"));
    client.setToken(await token("expired", expiredClaims()));
    const body = new Blob(["log line"]).stream();
    const res = await client.fetch("/logs", { method: "POST", headers: { "content-type": "text/plain" }, body });
    expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 401, body: { code: "40" } });
    expect((await client.fetch("/x")).status).toBe(200);
    expect(sent.map((entry) => `${entry.token}:${entry.status}`)).toEqual(["expired:401", "fresh:200"]);
    expect(reasons).toEqual(["expired"]);
  });
});

describe("client: suspension after consecutive failures (the MoEngage rule)", () => {
  it("10 consecutive 38s suspend it: the 11th request never reaches the gateway; setToken resumes", async () => {
    let forged = "";
    const { client, token, sent, authErrors } = await setup({ tokens: () => [forged] });
    forged = await token("forged", {}, OTHER_KEY_BYTES);
    for (let i = 0; i < 10; i++) expect((await client.fetch("/x")).status).toBe(401);
    expect(sent).toHaveLength(10);
    expect(authErrors.map((error) => [error.consecutiveFailures, error.suspended])).toEqual([
      ...Array.from({ length: 9 }, (_, i) => [i + 1, false]),
      [10, true],
    ]);
    expect(client.suspended).toBe(true);

    const eleventh = await client.fetch("/x").then(
      () => null,
      (error: unknown) => error,
    );
    expect(eleventh).toBeInstanceOf(AuthSuspendedError);
    expect(eleventh).toMatchObject({
      name: "AuthSuspendedError",
      code: "AUTH_SUSPENDED",
      consecutiveFailures: 10,
      lastError: { code: "38", reason: "INVALID_SIGNATURE", suspended: true },
    });
    expect(sent).toHaveLength(10);
    expect(originCalls).toHaveLength(0);

    client.setToken(await token("good"));
    expect(client.suspended).toBe(false);
    expect((await client.fetch("/x")).status).toBe(200);
    expect(sent.at(-1)).toEqual({ token: "good", status: 200 });
  });

  it("reset() resumes too, and the next request asks getToken for a first token", async () => {
    const tokens: string[] = [];
    const { client, token, reasons } = await setup({ tokens: () => tokens, maxConsecutiveFailures: 2 });
    tokens.push(await token("forged", {}, OTHER_KEY_BYTES));
    await client.fetch("/x");
    await client.fetch("/x");
    await expect(client.fetch("/x")).rejects.toBeInstanceOf(AuthSuspendedError);
    tokens.push(await token("good"));
    client.reset();
    expect((await client.fetch("/x")).status).toBe(200);
    expect(reasons).toEqual(["initial", "rejected", "initial"]);
  });

  it("a success in between starts the count again", async () => {
    let good = "";
    const { client, token, sent, authErrors } = await setup({ tokens: () => [good] });
    good = await token("good");
    for (let i = 0; i < 9; i++) await client.fetch("/x?userId=someone-else");
    expect((await client.fetch("/x?userId=user-1")).status).toBe(200);
    for (let i = 0; i < 9; i++) await client.fetch("/x?userId=someone-else");
    expect(client.suspended).toBe(false);
    expect(sent).toHaveLength(19);
    expect(authErrors.at(-1)?.consecutiveFailures).toBe(9);
  });
});

describe("client: one refresh at a time", () => {
  it("20 concurrent requests at expiry make one getToken() call, and all 20 pass with the new token", async () => {
    const tokens: string[] = [];
    const { client, token, sent, reasons } = await setup({ tokens: () => tokens, delayMs: 20 });
    tokens.push(await token("fresh"));
    client.setToken(await token("expiring", { iat: nowSeconds() - 870, exp: nowSeconds() + 30 }));
    const responses = await Promise.all(Array.from({ length: 20 }, () => client.fetch("/x")));
    expect(responses.map((res) => res.status)).toEqual(Array(20).fill(200));
    expect(reasons).toEqual(["expiring"]);
    expect(sent).toEqual(Array(20).fill({ token: "fresh", status: 200 }));
  });

  it("20 concurrent requests that all get 40 make one getToken() call, count one failure, and all pass on retry", async () => {
    const tokens: string[] = [];
    const { client, token, sent, reasons, authErrors } = await setup({
      tokens: () => tokens,
      delayMs: 20,
      now: () => Date.now() - HOUR_MS,
    });
    tokens.push(await token("fresh"));
    client.setToken(await token("expired", expiredClaims()));
    const responses = await Promise.all(Array.from({ length: 20 }, () => client.fetch("/x")));
    expect(responses.map((res) => res.status)).toEqual(Array(20).fill(200));
    expect(reasons).toEqual(["expired"]);
    expect(sent.filter((entry) => entry.token === "expired" && entry.code === "40")).toHaveLength(20);
    expect(sent.filter((entry) => entry.token === "fresh" && entry.status === 200)).toHaveLength(20);
    expect(authErrors).toHaveLength(20);
    expect(Math.max(...authErrors.map((error) => error.consecutiveFailures))).toBe(1);
    expect(client.suspended).toBe(false);
  });

  it("a getToken() that fails rejects the requests that waited for it; the next request asks again", async () => {
    let fail = true;
    let good = "";
    const { client, token, sent } = await setup({
      tokens: () => {
        if (fail) throw new Error("backend unreachable");
        return [good];
      },
    });
    good = await token("good");
    const results = await Promise.allSettled([client.fetch("/x"), client.fetch("/x")]);
    expect(results.map((result) => result.status === "rejected" && String(result.reason))).toEqual([
      "Error: backend unreachable",
      "Error: backend unreachable",
    ]);
    fail = false;
    expect((await client.fetch("/x")).status).toBe(200);
    expect(sent).toEqual([{ token: "good", status: 200 }]);
  });
});

/**
 * A client in nonce mode `"auto"` (the default) for an app stored with `record`, whose `getToken`
 * mints a token for `user-1` carrying the nonce it is given, if any. `injected` replaces the nonce
 * endpoint's next answers, in order: a `Response`, or an error thrown as a failed `fetch` throws.
 * `reach` sends to the Worker (`exports.default.fetch` unless a test changes its variables).
 */
async function nonceSetup(
  record: Record<string, unknown>,
  injected: (() => Response)[] = [],
  reach: (url: string, init: RequestInit) => Promise<Response> = (url, init) =>
    exports.default.fetch(new Request(url, init)),
) {
  const appId = await newApp(enforcingRecord(record));
  /** What getToken was given, call by call. */
  const nonces: (string | undefined)[] = [];
  /** The answers the client's fetch got: `nonce:200`, `sdk:401:38`, `nonce:thrown`, … */
  const calls: string[] = [];
  const authErrors: AuthError[] = [];
  const client = createClient({
    baseUrl: `${GATEWAY}/api/v1`,
    appId,
    getToken: async ({ nonce }) => {
      nonces.push(nonce);
      return mintToken(claimsFor(appId, { jti: `n${nonces.length}`, ...(nonce === undefined ? {} : { nonce }) }));
    },
    onAuthError: (error) => authErrors.push(error),
    fetch: async (url, init) => {
      const kind = new URL(url).pathname.endsWith("/nonce") ? "nonce" : "sdk";
      const inject = kind === "nonce" ? injected.shift() : undefined;
      let response: Response;
      try {
        response = inject ? inject() : await reach(url, init);
      } catch (error) {
        calls.push(`${kind}:thrown`);
        throw error;
      }
      const code = response.status === 401 ? `:${((await response.clone().json()) as { code: string }).code}` : "";
      calls.push(`${kind}:${response.status}${code}`);
      return response;
    },
  });
  return { appId, client, nonces, calls, authErrors };
}

describe("client: challenge nonces (auto)", () => {
  it.each([
    [
      "a 503",
      503,
      () => Response.json({ code: "CONFIG_UNAVAILABLE", status: "App configuration unavailable" }, { status: 503 }),
    ],
    ["a 429", 429, () => new Response("slow down", { status: 429 })],
    [
      "a 200 that is not the endpoint's answer (a captive portal's page)",
      200,
      () => new Response("<html>Sign in to the Wi-Fi</html>", { headers: { "content-type": "text/html" } }),
    ],
    [
      "a network error",
      0,
      () => {
        throw new TypeError("fetch failed");
      },
    ],
  ])(
    "after %s from the nonce endpoint, that request rejects and the next one gets a nonce and passes (requireNonce)",
    async (_, httpStatus, answer) => {
      const { client, nonces, calls, authErrors } = await nonceSetup({ requireNonce: true }, [answer]);
      const failed = await client.fetch("/x").then(
        () => null,
        (error: unknown) => error,
      );
      expect(failed).toBeInstanceOf(NonceUnavailableError);
      expect(failed).toMatchObject({ name: "NonceUnavailableError", code: "NONCE_UNAVAILABLE", httpStatus });
      if (httpStatus === 0) expect((failed as Error).cause).toBeInstanceOf(TypeError);
      // No token was asked for, none sent.
      expect(nonces).toEqual([]);
      expect(calls).toEqual([httpStatus === 0 ? "nonce:thrown" : `nonce:${httpStatus}`]);

      expect((await client.fetch("/x")).status).toBe(200);
      expect((await client.fetch("/y")).status).toBe(200);
      expect(nonces).toEqual([expect.any(String)]);
      expect(calls.slice(1)).toEqual(["nonce:200", "sdk:200", "sdk:200"]);
      expect(authErrors).toEqual([]);
      expect(originCalls).toHaveLength(2);
    },
  );

  it("after required: false, a 38 PAYLOAD_CONTENT_MISSING (the app turned requireNonce on) makes the one retry fetch a nonce: 200", async () => {
    const { appId, client, nonces, calls, authErrors } = await nonceSetup({});
    expect((await client.fetch("/x")).status).toBe(200);
    expect(calls).toEqual(["nonce:200", "sdk:200"]);
    expect(nonces).toEqual([undefined]);

    const patch = await admin(`/apps/${appId}`, { method: "PATCH", body: JSON.stringify({ requireNonce: true }) });
    expect(patch.status).toBe(200);
    expect((await client.fetch("/y")).status).toBe(200);
    expect(calls.slice(2)).toEqual(["sdk:401:38", "nonce:200", "sdk:200"]);
    expect(nonces).toEqual([undefined, expect.any(String)]);
    expect(authErrors.map((error) => [error.code, error.reason])).toEqual([["38", "PAYLOAD_CONTENT_MISSING"]]);
    // The token with the nonce is kept: no more asking.
    expect((await client.fetch("/z")).status).toBe(200);
    expect(calls.slice(5)).toEqual(["sdk:200"]);
  });

  it("on a gateway without NONCE_SECRET (its nonce endpoint answers required: false), asks once and sends tokens without a nonce", async () => {
    const { appId, client, nonces, calls } = await nonceSetup({}, [], (url, init) =>
      gatewayWith({ NONCE_SECRET: undefined }, url.slice(GATEWAY.length), init),
    );
    expect((await client.fetch("/x")).status).toBe(200);
    // A token about to expire: the next request asks getToken again, and not the nonce endpoint.
    client.setToken(await mintToken(claimsFor(appId, { iat: nowSeconds() - 870, exp: nowSeconds() + 30 })));
    expect((await client.fetch("/y")).status).toBe(200);
    expect(calls).toEqual(["nonce:200", "sdk:200", "sdk:200"]);
    expect(nonces).toEqual([undefined, undefined]);
  });
});

describe("client: what it refuses to do", () => {
  const base = { baseUrl: `${GATEWAY}/api/v1`, appId: "AP1", getToken: () => "t" };

  it("checks its options once, at createClient", () => {
    for (const bad of [
      { appId: "../admin" },
      { appId: "" },
      { baseUrl: "" },
      { baseUrl: "https://gw.example/api?x=1" },
      { getToken: undefined },
      { maxConsecutiveFailures: 0 },
      { maxConsecutiveFailures: 2.5 },
      { refreshBeforeExpirySeconds: -1 },
      { onAuthError: "log" },
    ]) {
      expect(() => createClient({ ...base, ...bad } as unknown as ClientOptions)).toThrow(TypeError);
    }
    expect(createClient({ ...base, maxConsecutiveFailures: Number.POSITIVE_INFINITY }).suspended).toBe(false);
  });

  it("never sends the token to a URL other than the app's: an absolute URL as path is refused", async () => {
    const { client, sent, reasons } = await setup({ tokens: () => ["t"] });
    await expect(client.fetch("https://elsewhere.example/steal")).rejects.toThrow(TypeError);
    await expect(client.fetch("x")).rejects.toThrow(TypeError);
    expect(sent).toEqual([]);
    expect(reasons).toEqual([]);
  });

  it("refuses a token that is not one (`Bearer …`, spaces, empty) from getToken or setToken, and sends nothing", async () => {
    const { client, sent } = await setup({ tokens: () => ["Bearer abc.def.ghi"] });
    await expect(client.fetch("/x")).rejects.toThrow(/getToken must give the token itself/);
    expect(() => client.setToken("")).toThrow(TypeError);
    expect(() => client.setToken("a b")).toThrow(TypeError);
    expect(sent).toEqual([]);
  });
});
