// The token debugger: POST /admin/apps/{appId}/verify answers the gateway's verdict as JSON,
// forwards nothing and logs nothing of the token. (Its verdicts are held to the gateway's for
// every request of auth.test.ts by helpers.ts gatewayAndDebugger.)
import { describe, expect, it } from "vitest";
import {
  admin,
  captureLogs,
  claimsFor,
  enforcingRecord,
  expectRejected,
  gateway,
  KEY_BYTES,
  mintHmacToken,
  mintToken,
  newApp,
  nowSeconds,
  OTHER_KEY_BYTES,
  originCalls,
  testKeyBytes,
  toBase64,
  uniqueAppId,
  useOriginRecorder,
} from "../helpers.ts";

useOriginRecorder();

function verify(appId: string, body: unknown): Promise<Response> {
  return admin(`/apps/${appId}/verify`, { method: "POST", body: JSON.stringify(body) });
}

async function verdictOf(appId: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await verify(appId, body);
  expect(res.status).toBe(200);
  expect(res.headers.get("cache-control")).toBe("no-store");
  return (await res.json()) as Record<string, unknown>;
}

describe("POST /admin/apps/{appId}/verify", () => {
  it("answers Allowed with the identity the origin would get, the key that verified, and the time claims", async () => {
    const appId = await newApp();
    const exp = nowSeconds() + 600;
    const token = await mintToken(claimsFor(appId, { userId: "ana é", exp }));
    const view = (await (await admin(`/apps/${appId}`)).json()) as { secretFingerprint: string };
    const answer = await verdictOf(appId, { token });
    expect(answer).toEqual({
      appId,
      enforcement: "enforce",
      verdict: "allowed",
      httpStatus: 200,
      forwarded: true,
      headers: { "x-auth-app-id": appId, "x-auth-user-id": "ana%20%C3%A9", "x-auth-claims": token.split(".")[1] },
      token: {
        header: { alg: "HS256", typ: "JWT" },
        claims: { appId, userId: "ana é", iat: expect.any(Number), exp },
        key: { kid: null, alg: "HS256", fingerprint: view.secretFingerprint },
      },
      time: {
        serverTime: expect.any(Number),
        clockToleranceSeconds: 60,
        exp,
        nbf: null,
        iat: expect.any(Number),
        expiresInSeconds: expect.any(Number),
      },
    });
    expect(Math.abs((answer.time as { expiresInSeconds: number }).expiresInSeconds - 600)).toBeLessThanOrEqual(2);
    expect(originCalls).toHaveLength(0);
  });

  it("names the key that verified among several, by kid and fingerprint", async () => {
    const second = testKeyBytes(64, 3);
    const appId = await newApp({
      jwtEnabled: true,
      keys: [
        { kid: "a", alg: "HS256", secret: toBase64(KEY_BYTES) },
        { kid: "b", alg: "HS512", secret: toBase64(second) },
      ],
    });
    const view = (await (await admin(`/apps/${appId}`)).json()) as { keys: { fingerprint: string }[] };
    const answer = await verdictOf(appId, { token: await mintHmacToken(claimsFor(appId), second, "HS512", "b") });
    expect(answer.token).toMatchObject({ key: { kid: "b", alg: "HS512", fingerprint: view.keys[1]?.fingerprint } });
  });

  it("answers the refusal's code, reason, detail and cause, and still decodes what it can", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId), OTHER_KEY_BYTES);
    const answer = await verdictOf(appId, { token });
    expect(answer).toMatchObject({
      verdict: "refused",
      httpStatus: 401,
      code: "38",
      reason: "INVALID_SIGNATURE",
      detail: "signature_mismatch",
      cause: expect.stringContaining("no key of the app verifies"),
      forwarded: false,
      token: { header: { alg: "HS256" }, claims: { appId, userId: "user-1" }, key: null },
    });
    expect(answer).not.toHaveProperty("headers");
  });

  it("judges the request too: a body naming another user", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId));
    const answer = await verdictOf(appId, {
      token,
      path: `/api/v1/app/${appId}/messages`,
      query: "lang=en",
      contentType: "application/json",
      body: '{"userId":"user-2"}',
    });
    expect(answer).toMatchObject({ code: "38", reason: "IDENTIFIER_MISMATCH", detail: "user_mismatch_json" });
  });

  it("says what report mode would forward, and that an app with checks off forwards unchecked", async () => {
    const reporting = await newApp(enforcingRecord({ jwtEnabled: undefined, enforcement: "report" }));
    const expired = await mintToken(claimsFor(reporting, { exp: nowSeconds() - 3600 }));
    expect(await verdictOf(reporting, { token: expired })).toMatchObject({
      // Expired after its signature verified: the key is named all the same.
      token: { key: { kid: null, alg: "HS256", fingerprint: expect.stringMatching(/^sha256:/) } },
      enforcement: "report",
      verdict: "refused",
      httpStatus: 200,
      forwarded: true,
      code: "40",
      detail: "exp_passed",
      headers: { "x-auth-app-id": reporting, "x-auth-status": "40 TOKEN_EXPIRED" },
    });
    const off = await newApp({ jwtEnabled: false });
    expect(await verdictOf(off, { token: "anything" })).toMatchObject({
      enforcement: "off",
      verdict: "unchecked",
      why: "enforcement_off",
      httpStatus: 200,
    });
  });

  it("gives the same verdict as the gateway, for a token with no token at all", async () => {
    const appId = await newApp();
    expect(await verdictOf(appId, { token: "" })).toMatchObject({ code: "39", reason: "TOKEN_NOT_AVAILABLE" });
    expect((await gateway(`/app/${appId}/x`)).status).toBe(401);
  });

  it("logs nothing of the token, and forwards nothing", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId, { userId: "secret-user-name" }));
    const logs = captureLogs();
    try {
      await verify(appId, { token });
      await verify(appId, { token: `${token}x` });
    } finally {
      logs.restore();
    }
    expect(logs.text()).not.toContain(token.split(".")[1]);
    expect(logs.text()).not.toContain("secret-user-name");
    expect(originCalls).toHaveLength(0);
  });

  it("answers 400 to a path that names another app, a body without a token, or another field", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId));
    await expectRejected(await verify(appId, { token, path: "/app/OTHER/x" }), 400, {
      code: "BAD_REQUEST",
      status: "Invalid request",
      errors: [{ path: "path", message: "must be an SDK route that names this app" }],
    });
    expect((await verify(appId, {})).status).toBe(400);
    expect((await verify(appId, { token, method: "DELETE" })).status).toBe(400);
    expect((await verify(appId, { token, path: "no-slash" })).status).toBe(400);
  });

  it("answers 404 for an unknown app, 401 without the admin credential, 405 to GET", async () => {
    expect((await verify(uniqueAppId(), { token: "a.b.c" })).status).toBe(404);
    const appId = await newApp();
    const unauthorized = await gateway(`/admin/apps/${appId}/verify`, {
      method: "POST",
      body: JSON.stringify({ token: "a.b.c" }),
    });
    expect(unauthorized.status).toBe(401);
    expect((await admin(`/apps/${appId}/verify`)).status).toBe(405);
  });
});
