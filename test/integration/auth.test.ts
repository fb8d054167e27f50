import { env } from "cloudflare:workers";
import { base64url } from "jose";
import { describe, expect, it, vi } from "vitest";
import {
  claimsFor,
  enforcingRecord,
  expectRejected,
  gatewayAndDebugger as gateway,
  invalid,
  KEY_BASE64,
  mintToken,
  newApp,
  nowSeconds,
  OTHER_KEY_BYTES,
  originCalls,
  seedApp,
  signRaw,
  signSegments,
  TOKEN_REQUIRED,
  twinRuns,
  uniqueAppId,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

// Every request of these tests goes to the gateway and, where it can be expressed, to the token
// debugger too: its verdict must equal what the gateway did (helpers.ts, gatewayAndDebugger).
useOriginRecorder();

const REALM = 'Bearer realm="edge-authenticator"';
const INVALID_CHALLENGE = `${REALM}, error="invalid_token"`;

describe("step 1: the app record", () => {
  it("answers 404 APP_NOT_FOUND to an unknown app", async () => {
    const res = await gateway(`/app/${uniqueAppId("NONE")}/x`);
    await expectRejected(res, 404, { code: "APP_NOT_FOUND", status: "App not found" });
  });

  it("answers 503 CONFIG_UNAVAILABLE when KV fails, and never forwards", async () => {
    const appId = await newApp();
    const get = vi.spyOn(env.APPS, "get").mockRejectedValue(new Error("KV down"));
    const res = await gateway(`/app/${appId}/x`, withToken(await mintToken(claimsFor(appId))));
    get.mockRestore();
    await expectRejected(res, 503, { code: "CONFIG_UNAVAILABLE", status: "App configuration unavailable" });
  });

  it.each([
    ["not JSON", "{jwtEnabled: true"],
    ["JWT on without a secret", '{"jwtEnabled":true}'],
    ["a short key", JSON.stringify({ jwtEnabled: true, secret: btoa("too short") })],
    ["an unknown field", JSON.stringify({ ...enforcingRecord(), mode: "enforce" })],
    ["jwtEnabled as text", JSON.stringify({ ...enforcingRecord(), jwtEnabled: "false" })],
  ])("answers 503 to a stored record with %s, even with a token", async (_, text) => {
    const appId = uniqueAppId();
    await seedApp(appId, text);
    const res = await gateway(`/app/${appId}/x`, withToken(await mintToken(claimsFor(appId))));
    await expectRejected(res, 503, { code: "CONFIG_UNAVAILABLE", status: "App configuration unavailable" });
  });
});

describe("steps 2 and 3: no token check", () => {
  it("forwards without a token when jwtEnabled is false, with only X-Auth-App-Id", async () => {
    const appId = await newApp({ jwtEnabled: false });
    const res = await gateway(`/app/${appId}/x?userId=anyone`, {
      method: "POST",
      headers: { "x-auth-user-id": "spoofed", "content-type": "application/json" },
      body: '{"userId":"someone"}',
    });
    expect(res.status).toBe(200);
    expect(originCalls).toHaveLength(1);
    expect(originCalls[0]?.headers["x-auth-app-id"]).toBe(appId);
    expect(originCalls[0]?.headers["x-auth-user-id"]).toBeUndefined();
    expect(originCalls[0]?.body).toBe('{"userId":"someone"}');
  });

  it("forwards a CORS preflight without a token", async () => {
    const appId = await newApp();
    const res = await gateway(`/app/${appId}/x`, {
      method: "OPTIONS",
      headers: { origin: "https://web.example", "access-control-request-method": "POST" },
    });
    expect(res.status).toBe(200);
    expect(originCalls).toHaveLength(1);
    expect(originCalls[0]?.method).toBe("OPTIONS");
  });

  it("does not treat an OPTIONS request without preflight headers as a preflight", async () => {
    const appId = await newApp();
    const res = await gateway(`/app/${appId}/x`, { method: "OPTIONS", headers: { origin: "https://web.example" } });
    await expectRejected(res, 401, TOKEN_REQUIRED);
  });
});

describe("step 4: the bearer token", () => {
  it("answers 39 with a challenge without error when there is no token", async () => {
    const appId = await newApp();
    const res = await gateway(`/app/${appId}/x`);
    expect(res.headers.get("www-authenticate")).toBe(REALM);
    await expectRejected(res, 401, TOKEN_REQUIRED);
  });

  it.each([
    ["an empty header", { authorization: "" }],
    ["a bare Bearer", { authorization: "Bearer" }],
    ["another scheme", { authorization: "Basic dXNlcjpwYXNz" }],
  ])("answers 39 to %s", async (_, headers) => {
    const appId = await newApp();
    const res = await gateway(`/app/${appId}/x`, { headers });
    await expectRejected(res, 401, TOKEN_REQUIRED);
  });

  it("never takes a token from the query, a cookie or the body", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId));
    const attempts: (RequestInit & { path: string })[] = [
      { path: `/app/${appId}/x?access_token=${token}&token=${token}&jwt=${token}` },
      { path: `/app/${appId}/x`, headers: { cookie: `token=${token}; jwt=${token}` } },
      {
        path: `/app/${appId}/x`,
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `access_token=${token}`,
      },
    ];
    for (const init of attempts) {
      const res = await gateway(init.path, init);
      await expectRejected(res, 401, TOKEN_REQUIRED);
    }
  });

  it("accepts the scheme in any case", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId));
    const res = await gateway(`/app/${appId}/x`, { headers: { authorization: `bEaReR ${token}` } });
    expect(res.status).toBe(200);
  });

  it("answers 38 MALFORMED to two credentials, trailing text and an oversized token", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId));
    const two = new Headers();
    two.append("authorization", `Bearer ${token}`);
    two.append("authorization", `Bearer ${token}`);
    for (const headers of [
      two,
      { authorization: `Bearer ${token} extra` },
      { authorization: `Bearer ${token}, Basic x` },
      { authorization: `Bearer ${token}.${"A".repeat(8192)}` },
    ]) {
      const res = await gateway(`/app/${appId}/x`, { headers });
      expect(res.headers.get("www-authenticate")).toBe(INVALID_CHALLENGE);
      await expectRejected(res, 401, invalid("MALFORMED"));
    }
  });
});

describe("steps 5–7: shape, header, signature", () => {
  const header = base64url.encode('{"alg":"HS256","typ":"JWT"}');

  it.each([
    ["two segments", (t: string) => t.split(".").slice(0, 2).join(".")],
    ["four segments", (t: string) => `${t}.AAAA`],
    ["a padded signature", (t: string) => `${t}=`],
    ["a standard-alphabet signature", (t: string) => t.replace(/[-_]/g, (c) => (c === "-" ? "+" : "/")).concat("+")],
    ["whitespace inside", (t: string) => t.replace(".", ". ")],
  ])("answers 38 MALFORMED to %s", async (_, change) => {
    const appId = await newApp();
    const token = change(await mintToken(claimsFor(appId)));
    const res = await gateway(`/app/${appId}/x`, withToken(token));
    await expectRejected(res, 401, invalid("MALFORMED"));
  });

  it("answers 38 MALFORMED to a payload with a member named twice", async () => {
    const appId = await newApp();
    const payload = `{"appId":"${appId}","userId":"user-1","userId":"admin"}`;
    const res = await gateway(`/app/${appId}/x`, withToken(await signRaw('{"alg":"HS256"}', payload)));
    await expectRejected(res, 401, invalid("MALFORMED"));
  });

  it.each([
    ['{"alg":"none"}'],
    ['{"alg":"HS512","typ":"JWT"}'],
    ['{"typ":"JWT"}'],
    ['{"alg":"HS256","typ":"JOSE+JSON"}'],
    ['{"alg":"HS256","crit":["exp"]}'],
    ['{"alg":"HS256","b64":true}'],
  ])("answers 38 HEADER_TYPE_INCOMPATIBLE to the header %s", async (headerJson) => {
    const appId = await newApp();
    const token = await signRaw(headerJson, JSON.stringify(claimsFor(appId)));
    const res = await gateway(`/app/${appId}/x`, withToken(token));
    await expectRejected(res, 401, invalid("HEADER_TYPE_INCOMPATIBLE"));
  });

  it("takes no key from the token: jwk, jku, x5u and kid select nothing", async () => {
    const appId = await newApp();
    const attackerKey = base64url.encode(OTHER_KEY_BYTES);
    const headerJson = JSON.stringify({
      alg: "HS256",
      kid: "../../../../dev/null",
      jwk: { kty: "oct", k: attackerKey },
      jku: "https://attacker.example/jwks",
      x5u: "https://attacker.example/cert",
    });
    const forged = await signRaw(headerJson, JSON.stringify(claimsFor(appId)), OTHER_KEY_BYTES);
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(forged)), 401, invalid("INVALID_SIGNATURE"));
    const genuine = await signRaw(headerJson, JSON.stringify(claimsFor(appId)));
    expect((await gateway(`/app/${appId}/x`, withToken(genuine))).status).toBe(200);
  });

  it("answers 38 INVALID_SIGNATURE, never 40, to an expired token with a bad signature", async () => {
    const appId = await newApp();
    const expired = claimsFor(appId, { exp: nowSeconds() - 3600 });
    const token = await mintToken(expired, OTHER_KEY_BYTES);
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(token)), 401, invalid("INVALID_SIGNATURE"));
  });

  it("answers 38 INVALID_SIGNATURE to a signature copied from another token", async () => {
    const appId = await newApp();
    const mine = await mintToken(claimsFor(appId));
    const other = await mintToken(claimsFor(appId, { userId: "admin" }));
    const spliced = `${other.slice(0, other.lastIndexOf("."))}${mine.slice(mine.lastIndexOf("."))}`;
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(spliced)), 401, invalid("INVALID_SIGNATURE"));
  });

  it("answers 38 INVALID_SIGNATURE to an empty or truncated signature", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId));
    const body = token.slice(0, token.lastIndexOf(".") + 1);
    for (const bad of [body, `${body}${token.slice(-43, -3)}`]) {
      await expectRejected(await gateway(`/app/${appId}/x`, withToken(bad)), 401, invalid("INVALID_SIGNATURE"));
    }
  });

  it("verifies with a utf8-encoded secret's bytes", async () => {
    const appId = await newApp({ jwtEnabled: true, secret: KEY_BASE64, secretEncoding: "utf8" });
    const token = await mintToken(claimsFor(appId), new TextEncoder().encode(KEY_BASE64));
    expect((await gateway(`/app/${appId}/x`, withToken(token))).status).toBe(200);
    originCalls.length = 0;
    const wrong = await mintToken(claimsFor(appId));
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(wrong)), 401, invalid("INVALID_SIGNATURE"));
  });

  it("answers 40 to the RFC 7515 A.1 example JWS under its key (its exp is in 2011)", async () => {
    const appId = await newApp({
      jwtEnabled: true,
      secret: "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ+EstJQLr/T+1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow==",
    });
    const token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const res = await gateway(`/app/${appId}/x`, withToken(token));
    const body = (await res.clone().json()) as { serverTime: number };
    expect(Math.abs(body.serverTime - nowSeconds())).toBeLessThanOrEqual(2);
    await expectRejected(res, 401, {
      code: "40",
      status: "Token expired",
      reason: "TOKEN_EXPIRED",
      serverTime: body.serverTime,
    });
  });

  it("answers 38 MALFORMED to RFC 7520 section 4.4 (valid MAC, prose payload), ignoring its kid", async () => {
    const appId = await newApp({ jwtEnabled: true, secret: "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG+Onbc6mxCcYg=" });
    const token =
      "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0";
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(token)), 401, invalid("MALFORMED"));
  });

  it("keeps the header segment as received when it verifies (no re-serialisation)", async () => {
    const appId = await newApp();
    const token = await signSegments(header, base64url.encode(JSON.stringify(claimsFor(appId))));
    expect((await gateway(`/app/${appId}/x`, withToken(token))).status).toBe(200);
  });
});

describe("step 8: time", () => {
  it("answers 40 TOKEN_EXPIRED with serverTime and the invalid_token challenge", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId, { exp: nowSeconds() - 61 }));
    const res = await gateway(`/app/${appId}/x`, withToken(token));
    expect(res.headers.get("www-authenticate")).toBe(INVALID_CHALLENGE);
    const { serverTime } = (await res.clone().json()) as { serverTime: number };
    // The gateway's clock in Unix seconds: now, give or take the test's own run time.
    expect(Math.abs(serverTime - nowSeconds())).toBeLessThanOrEqual(2);
    expect(Number.isInteger(serverTime)).toBe(true);
    await expectRejected(res, 401, { code: "40", status: "Token expired", reason: "TOKEN_EXPIRED", serverTime });
  });

  it("allows the app's clock tolerance, 60 s by default", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId, { exp: nowSeconds() - 30, iat: nowSeconds() + 30 }));
    expect((await gateway(`/app/${appId}/x`, withToken(token))).status).toBe(200);
    const strict = await newApp(enforcingRecord({ clockToleranceSeconds: 0 }));
    const late = await mintToken(claimsFor(strict, { exp: nowSeconds() - 2 }));
    expect((await gateway(`/app/${strict}/x`, withToken(late))).status).toBe(401);
  });

  it("accepts a token without exp", async () => {
    const appId = await newApp();
    const token = await mintToken({ appId, userId: "u" });
    expect((await gateway(`/app/${appId}/x`, withToken(token))).status).toBe(200);
  });

  it.each([['"9999999999"'], ["null"], ["true"], ["1e999"], ["-1e999"], ["[1]"]])(
    "answers 38 MALFORMED to exp %s",
    async (raw) => {
      const appId = await newApp();
      const token = await signRaw('{"alg":"HS256"}', `{"appId":"${appId}","userId":"u","exp":${raw}}`);
      await expectRejected(await gateway(`/app/${appId}/x`, withToken(token)), 401, invalid("MALFORMED"));
    },
  );

  it("answers 38 TIME_CONSTRAINT_FAILURE to nbf or iat in the future", async () => {
    const appId = await newApp();
    for (const claim of ["nbf", "iat"]) {
      const token = await mintToken(claimsFor(appId, { [claim]: nowSeconds() + 120 }));
      const res = await gateway(`/app/${appId}/x`, withToken(token));
      await expectRejected(res, 401, invalid("TIME_CONSTRAINT_FAILURE"));
    }
  });
});

describe("step 9: claims", () => {
  it.each([
    ["no appId", { appId: undefined }, "PAYLOAD_CONTENT_MISSING"],
    ["a numeric appId", { appId: 1 }, "PAYLOAD_CONTENT_MISSING"],
    ["no user claim", { userId: undefined }, "PAYLOAD_CONTENT_MISSING"],
    ["an empty userId", { userId: "" }, "PAYLOAD_CONTENT_MISSING"],
    ["a numeric userId", { userId: 42 }, "PAYLOAD_CONTENT_MISSING"],
    ["an array userId", { userId: ["u"] }, "PAYLOAD_CONTENT_MISSING"],
    ["an empty customerId beside a userId", { customerId: "" }, "PAYLOAD_CONTENT_MISSING"],
    ["another app's appId", { appId: "OTHERAPP" }, "IDENTIFIER_MISMATCH"],
  ])("answers 38 to %s", async (_, change, reason) => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId, change));
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(token)), 401, invalid(reason));
  });

  it("answers 38 IDENTIFIER_MISMATCH to the appId in another case", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId.toLowerCase()));
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(token)), 401, invalid("IDENTIFIER_MISMATCH"));
  });

  it("forwards the first present of userId, appUserId, customerId as X-Auth-User-Id", async () => {
    const appId = await newApp();
    const token = await mintToken({ appId, customerId: "c-9", appUserId: "au 7é", exp: nowSeconds() + 60 });
    const res = await gateway(`/app/${appId}/x`, withToken(token));
    expect(res.status).toBe(200);
    expect(originCalls[0]?.headers["x-auth-user-id"]).toBe("au%207%C3%A9");
  });
});

describe("the token debugger beside these tests", () => {
  it("judged the requests above as the gateway did", () => {
    // Runs last in this file: most requests above had a debugger twin.
    expect(twinRuns.count).toBeGreaterThan(40);
  });
});
