// Enforcement modes: off, report, enforce; jwtEnabled maps to enforce/off.
import { describe, expect, it } from "vitest";
import {
  admin,
  captureLogs,
  claimsFor,
  enforcingRecord,
  expectRejected,
  gateway,
  KEY_BASE64,
  kvSnapshot,
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

const reportingRecord = () => ({ enforcement: "report", secret: KEY_BASE64 });

/** The x-auth-* headers the origin received. */
function authHeaders(): Record<string, string> {
  const headers = originCalls[0]?.headers ?? {};
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith("x-auth-")));
}

describe("enforcement: report", () => {
  it("forwards a valid request with X-Auth-Status: ok and the verified identity", async () => {
    const appId = await newApp(reportingRecord());
    const token = await mintToken(claimsFor(appId));
    expect((await gateway(`/app/${appId}/x?userId=user-1`, withToken(token))).status).toBe(200);
    expect(authHeaders()).toEqual({
      "x-auth-app-id": appId,
      "x-auth-user-id": "user-1",
      "x-auth-claims": token.split(".")[1],
      "x-auth-status": "ok",
    });
  });

  it.each([
    ["no token", async () => ({}), "39 TOKEN_NOT_AVAILABLE", "authorization_missing", undefined],
    [
      "a bad signature",
      async (appId: string) => withToken(await mintToken(claimsFor(appId), OTHER_KEY_BYTES)),
      "38 INVALID_SIGNATURE",
      "signature_mismatch",
      "HS256",
    ],
    [
      "an expired token",
      async (appId: string) => withToken(await mintToken(claimsFor(appId, { exp: nowSeconds() - 3600 }))),
      "40 TOKEN_EXPIRED",
      "exp_passed",
      "HS256",
    ],
    [
      "another app's token",
      async () => withToken(await mintToken(claimsFor("SOMEONE-ELSE"))),
      "38 IDENTIFIER_MISMATCH",
      "app_id_mismatch",
      "HS256",
    ],
    [
      "a malformed token",
      async () => ({ headers: { authorization: "Bearer a.b" } }),
      "38 MALFORMED",
      "segment_count",
      undefined,
    ],
  ])(
    "forwards a request with %s, reporting why, with no user or claims header, and logs it",
    async (_, init, status, detail, alg) => {
      const appId = await newApp(reportingRecord());
      const logs = captureLogs();
      let res: Response;
      try {
        res = await gateway(`/app/${appId}/x`, await init(appId));
      } finally {
        logs.restore();
      }
      expect(res.status).toBe(200);
      expect(authHeaders()).toEqual({ "x-auth-app-id": appId, "x-auth-status": status });
      const [code, reason] = status.split(" ");
      // The token's alg is logged once it is the app's (not for a token that never got that far).
      expect(logs.lines()).toEqual([
        { level: "info", event: "reported", appId, method: "GET", httpStatus: 401, code, reason, detail, alg },
      ]);
    },
  );

  it("reports a request naming another user, forwarding its body byte for byte", async () => {
    const appId = await newApp(reportingRecord());
    const token = await mintToken(claimsFor(appId));
    const body = '{"userId":"user-2","text":"héllo"}';
    const res = await gateway(
      `/app/${appId}/x`,
      withToken(token, { method: "POST", headers: { "content-type": "application/json" }, body }),
    );
    expect(res.status).toBe(200);
    expect(authHeaders()).toEqual({ "x-auth-app-id": appId, "x-auth-status": "38 IDENTIFIER_MISMATCH" });
    expect(originCalls[0]?.body).toBe(body);
  });

  it("replaces a client's X-Auth-Status and identity headers", async () => {
    const appId = await newApp(reportingRecord());
    await gateway(`/app/${appId}/x`, {
      headers: { "x-auth-status": "ok", "x-auth-user-id": "admin", x_auth_status: "ok" },
    });
    expect(authHeaders()).toEqual({ "x-auth-app-id": appId, "x-auth-status": "39 TOKEN_NOT_AVAILABLE" });
    expect(originCalls[0]?.headers).not.toHaveProperty("x_auth_status");
  });

  it("still refuses what it cannot judge: an ambiguous body, a bad path", async () => {
    const appId = await newApp(reportingRecord());
    const token = await mintToken(claimsFor(appId));
    const twice = withToken(token, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"userId":"user-1","userId":"user-2"}',
    });
    await expectRejected(await gateway(`/app/${appId}/x`, twice), 400, {
      code: "BAD_REQUEST",
      status: "userId given more than once in the body",
    });
    const res = await gateway(`/app/${appId}/a%2Fb`, withToken(token));
    expect(res.status).toBe(400);
    expect(originCalls).toHaveLength(0);
  });
});

describe("enforcement: off and enforce", () => {
  it("off forwards without a token and without X-Auth-Status", async () => {
    const appId = await newApp({ enforcement: "off" });
    expect((await gateway(`/app/${appId}/x`)).status).toBe(200);
    expect(authHeaders()).toEqual({ "x-auth-app-id": appId });
  });

  it("enforce refuses without a token and forwards a valid one without X-Auth-Status (as v1)", async () => {
    const appId = await newApp({ enforcement: "enforce", secret: KEY_BASE64 });
    expect((await gateway(`/app/${appId}/x`)).status).toBe(401);
    expect(originCalls).toHaveLength(0);
    expect((await gateway(`/app/${appId}/x`, withToken(await mintToken(claimsFor(appId))))).status).toBe(200);
    expect(authHeaders()).not.toHaveProperty("x-auth-status");
  });

  it("answers 503 to a stored record whose jwtEnabled contradicts its enforcement", async () => {
    const appId = uniqueAppId();
    await seedApp(appId, { jwtEnabled: false, enforcement: "enforce", secret: KEY_BASE64 });
    await expectRejected(await gateway(`/app/${appId}/x`), 503, {
      code: "CONFIG_UNAVAILABLE",
      status: "App configuration unavailable",
    });
  });
});

describe("the admin API and jwtEnabled", () => {
  const put = (appId: string, body: unknown) => admin(`/apps/${appId}`, { method: "PUT", body: JSON.stringify(body) });
  const patch = (appId: string, body: unknown) =>
    admin(`/apps/${appId}`, { method: "PATCH", body: JSON.stringify(body) });
  const modeOf = async (res: Response) => {
    const view = (await res.json()) as { jwtEnabled: boolean; enforcement: string };
    return { status: res.status, jwtEnabled: view.jwtEnabled, enforcement: view.enforcement };
  };

  it.each([
    [{ jwtEnabled: true, secret: KEY_BASE64 }, true, "enforce"],
    [{ jwtEnabled: false }, false, "off"],
    [{ enforcement: "report", secret: KEY_BASE64 }, true, "report"],
    [{ enforcement: "off" }, false, "off"],
    [{ enforcement: "enforce", jwtEnabled: true, secret: KEY_BASE64 }, true, "enforce"],
  ])("PUT %j shows jwtEnabled %s and enforcement %s", async (body, jwtEnabled, enforcement) => {
    expect(await modeOf(await put(uniqueAppId(), body))).toEqual({ status: 201, jwtEnabled, enforcement });
  });

  it.each([
    [{ jwtEnabled: false, enforcement: "report", secret: KEY_BASE64 }, "enforcement"],
    [{ jwtEnabled: true, enforcement: "off" }, "enforcement"],
    [{ enforcement: "report" }, "secret"],
    [{ enforcement: "strict", secret: KEY_BASE64 }, "enforcement"],
    [{ secret: KEY_BASE64 }, "jwtEnabled"],
  ])("answers 400 to PUT %j, naming %s, and writes nothing", async (body, path) => {
    const before = await kvSnapshot();
    const res = await put(uniqueAppId(), body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toContain(path);
    expect(await kvSnapshot()).toEqual(before);
  });

  it("lets a PATCH of either field set the mode: report, then a v1 client's jwtEnabled false, then enforce", async () => {
    const appId = uniqueAppId();
    await put(appId, enforcingRecord());
    expect(await modeOf(await patch(appId, { enforcement: "report" }))).toEqual({
      status: 200,
      jwtEnabled: true,
      enforcement: "report",
    });
    expect(await modeOf(await patch(appId, { jwtEnabled: false }))).toEqual({
      status: 200,
      jwtEnabled: false,
      enforcement: "off",
    });
    expect((await gateway(`/app/${appId}/x`)).status).toBe(200);
    expect(await modeOf(await patch(appId, { enforcement: "enforce" }))).toEqual({
      status: 200,
      jwtEnabled: true,
      enforcement: "enforce",
    });
    originCalls.length = 0;
    expect((await gateway(`/app/${appId}/x`)).status).toBe(401);
    expect(originCalls).toHaveLength(0);
  });
});
