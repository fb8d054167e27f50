// Attacks through the rest of the request: identity binding, paths, headers, faults.
// Each rejection asserts the status, the exact body and that the origin received nothing.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import {
  captureLogs,
  claimsFor,
  enforcingRecord,
  expectRejected,
  gateway,
  gatewayWith,
  invalid,
  mintToken,
  newApp,
  newSession,
  originCalls,
  seedApp,
  setOriginResponder,
  TOKEN_REQUIRED,
  uniqueAppId,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

const BAD_REQUEST = (status: string) => ({ code: "BAD_REQUEST", status });

function post(token: string, contentType: string, body: BodyInit, headers: Record<string, string> = {}): RequestInit {
  return withToken(token, { method: "POST", headers: { "content-type": contentType, ...headers }, body });
}

describe("request binding", () => {
  it.each([
    ['{"userId":"user-1","userId":"user-2"}', "userId given more than once in the body"],
    ['{"userId":"user-2","userId":"user-1"}', "userId given more than once in the body"],
    ['{"userId":"user-1","USERID":"user-2"}', "userId given more than once in the body"],
    ['{"userId":"user-1","user\\u0049d":"user-2"}', "userId given more than once in the body"],
    ['{"userId":"user-1","u\u017ferId":"user-2"}', "userId given more than once in the body"],
    ['{"userId":"user-1"," userId":"user-2"}', "userId given more than once in the body"],
    ['{"userId":true}', "userId in the body must be a string or a number"],
    ['{"userId":null}', "userId in the body must be a string or a number"],
    ['{"userId":["user-1"]}', "userId in the body must be a string or a number"],
    ['{"userId":{"$ne":null}}', "userId in the body must be a string or a number"],
    ['{"userId":"user-1"', "Request body is not valid JSON"],
    ['\ufeff{"userId":"user-1"}', "Request body is not valid JSON"],
  ])("answers 400 to the JSON body %s", async (body, status) => {
    const { appId, token } = await newSession();
    await expectRejected(
      await gateway(`/app/${appId}/x`, post(token, "application/json", body)),
      400,
      BAD_REQUEST(status),
    );
  });

  it.each([
    ["another user", '{"userId":"user-2"}'],
    ["another user in an escaped name", '{"\\u0075serId":"user-2"}'],
    ["another user, name in another case", '{"UserID":"user-2"}'],
    ["a claim the token lacks", '{"customerId":"user-1"}'],
    ["a number whose text differs (1.23e2 for 123)", '{"userId":1.23e2}'],
    ["a number whose text differs (123.0 for 123)", '{"userId":123.0}'],
  ])("answers 38 IDENTIFIER_MISMATCH to a JSON body naming %s", async (_, body) => {
    const { appId, token } = await newSession({
      userId: body.includes("1.23e2") || body.includes("123.0") ? "123" : "user-1",
    });
    await expectRejected(
      await gateway(`/app/${appId}/x`, post(token, "application/json", body)),
      401,
      invalid("IDENTIFIER_MISMATCH"),
    );
  });

  it("accepts a JSON number whose text is the claim", async () => {
    const { appId, token } = await newSession({ userId: "123" });
    expect((await gateway(`/app/${appId}/x`, post(token, "application/json", '{"userId":123}'))).status).toBe(200);
    expect(originCalls[0]?.body).toBe('{"userId":123}');
  });

  it.each([
    ["Application/JSON; charset=UTF-8"],
    ["application/vnd.api+json"],
    ["application/merge-patch+json"],
    ["application/json ; charset=utf-8"],
  ])("inspects a JSON body typed %j", async (contentType) => {
    const { appId, token } = await newSession();
    await expectRejected(
      await gateway(`/app/${appId}/x`, post(token, contentType, '{"userId":"user-2"}')),
      401,
      invalid("IDENTIFIER_MISMATCH"),
    );
  });

  it.each([
    ["?userId=user-1&userId=user-2", 400],
    ["?userId=user-2&userId=user-1", 400],
    ["?userId=user-1&USERID=user-2", 400],
    ["?userId=user-1&user%49d=user-2", 400],
    ["?userId[]=user-2", 400],
    ["?userId%5B%5D=user-2", 400],
    ["?userId=user-2", 401],
    ["?x=1;userId=user-2", 401],
    ["?userId=user-1;userId=user-2", 400],
    ["?user%49d=user-2", 401],
    ["?userId=user%2D2", 401],
    ["?userId=user-1%00", 401],
    ["?appUserId=user-1", 401],
    ["?u%C5%BFerId=user-2", 401], // long s: Java's equalsIgnoreCase reads userId
    ["?user%C4%B1d=user-2", 401], // dotless i: upper-cases to I
    ["?customer%C4%B1d=user-2", 401],
    ["?%20userId=user-2", 401], // PHP drops leading spaces from names
    ["?userId%20=user-2", 401],
    ["?userId=user-1&%20userId=user-2", 400],
  ])("refuses the query %s", async (query, status) => {
    const { appId, token } = await newSession();
    const res = await gateway(`/app/${appId}/x${query}`, withToken(token));
    expect(res.status).toBe(status);
    expect(originCalls).toHaveLength(0);
  });

  it("still forwards a query whose values hold a ; when no identity hides behind it", async () => {
    const { appId, token } = await newSession();
    expect((await gateway(`/app/${appId}/x?q=a;b&userId=user-1`, withToken(token))).status).toBe(200);
    expect(originCalls[0]?.url).toBe(`https://origin.test/base/app/${appId}/x?q=a;b&userId=user-1`);
  });

  it.each([
    ["userId=user-2", 401],
    ["userId=user-1&userId=user-2", 400],
    ["x=1;userId=user-2", 401],
    ["USERID=user-2", 401],
    ["userId%5B0%5D=user-2", 400],
    ["userId=user+1", 401],
  ])("refuses the form body %s", async (body, status) => {
    const { appId, token } = await newSession();
    const res = await gateway(`/app/${appId}/x`, post(token, "application/x-www-form-urlencoded", body));
    expect(res.status).toBe(status);
    expect(originCalls).toHaveLength(0);
  });

  it("refuses a multipart body that names another user, or names the user twice", async () => {
    const { appId, token } = await newSession();
    for (const [fields, status] of [
      [[["userId", "user-2"]], 401],
      [
        [
          ["userId", "user-1"],
          ["UserId", "user-2"],
        ],
        400,
      ],
    ] as const) {
      const form = new FormData();
      for (const [name, value] of fields) form.append(name, value);
      const res = await gateway(`/app/${appId}/x`, withToken(token, { method: "POST", body: form }));
      expect(res.status).toBe(status);
    }
    const file = new FormData();
    file.append("userId", new File(["user-1"], "id.txt"));
    await expectRejected(
      await gateway(`/app/${appId}/x`, withToken(token, { method: "POST", body: file })),
      400,
      BAD_REQUEST("userId in the body is not a text field"),
    );
  });

  it.each(["gzip", "GZIP", "deflate", "br", "identity, gzip", "x-custom"])(
    "answers 415 to an inspected body with Content-Encoding %j",
    async (encoding) => {
      const { appId, token } = await newSession();
      const res = await gateway(
        `/app/${appId}/x`,
        post(token, "application/json", '{"userId":"user-1"}', { "content-encoding": encoding }),
      );
      await expectRejected(res, 415, {
        code: "UNSUPPORTED_MEDIA_TYPE",
        status: "Request body has a Content-Encoding the gateway cannot inspect",
      });
    },
  );

  it("answers 400 to two Content-Types, joined or listed", async () => {
    const { appId, token } = await newSession();
    const headers = new Headers({ "content-type": "text/plain" });
    headers.append("content-type", "application/json");
    const res = await gateway(
      `/app/${appId}/x`,
      withToken(token, { method: "POST", headers, body: '{"userId":"user-2"}' }),
    );
    await expectRejected(res, 400, BAD_REQUEST("More than one Content-Type"));
  });
});

describe("paths", () => {
  it.each([
    ["an encoded slash in the appId", "/app/TA%2F..%2Fadmin/x"],
    ["an encoded slash later", "/app/{app}/a%2Fb"],
    ["an encoded backslash", "/app/{app}/a%5Cb"],
    ["an empty segment", "/app/{app}//x"],
    // Dot segments, raw `\` and raw controls never survive `new Request()`: test/raw covers them.
    ["an encoded NUL", "/app/{app}/x%00.json"],
    ["an encoded newline", "/app/{app}/x%0D%0AX-Auth-User-Id:%20admin"],
    ["an encoded DEL", "/app/{app}/x%7F"],
    ["invalid percent-encoding", "/app/{app}/x%G1"],
    ["percent-encoding of invalid UTF-8", "/app/{app}/x%C0%AF"],
    ["an appId of 129 characters", `/app/${"A".repeat(129)}/x`],
    ["an appId with a colon (the KV key separator)", "/app/app:TA1/x"],
    ["an appId with markup", "/app/%3Cscript%3E/x"],
    ["a percent-encoded appId", "/app/T%41/x"],
    ["a non-ASCII appId", "/app/T%C3%84/x"],
    ["an appId with a zero-width space", "/app/T%E2%80%8BA/x"],
  ])("answers 400 to %s", async (_, template) => {
    const { appId, token } = await newSession();
    const res = await gateway(template.replace("{app}", appId), withToken(token));
    expect(res.status).toBe(400);
    expect((await res.json()) as Record<string, unknown>).toMatchObject({ code: "BAD_REQUEST" });
    expect(originCalls).toHaveLength(0);
  });

  it.each(["/APP/{app}/x", "/App/{app}/x", "/%61pp/{app}/x", "/apps/{app}/x", "/app"])(
    "answers 404 NOT_FOUND to %s (no SDK route), never forwarding",
    async (template) => {
      const { appId, token } = await newSession();
      await expectRejected(await gateway(template.replace("{app}", appId), withToken(token)), 404, {
        code: "NOT_FOUND",
        status: "Not found",
      });
    },
  );

  it("takes the appId from the path, so a token cannot pick another app by naming two", async () => {
    const a = await newSession();
    const b = await newSession();
    // The first `app` segment names the app; the token must be that app's.
    await expectRejected(
      await gateway(`/app/${b.appId}/app/${a.appId}/x`, withToken(a.token)),
      401,
      invalid("IDENTIFIER_MISMATCH"),
    );
  });
});

describe("headers", () => {
  it.each([
    ["X-Auth-User-Id", "admin"],
    ["x-auth-user-id", "admin"],
    ["X-AUTH-APP-ID", "OTHER"],
    ["X-Auth-Claims", "eyJ1c2VySWQiOiJhZG1pbiJ9"],
    ["X-Auth-Role", "admin"],
    ["X_Auth_User_Id", "admin"],
    ["x_auth-user_id", "admin"],
    ["X-Auth_Role", "admin"],
  ])("replaces a spoofed %s with what the gateway verified", async (name, value) => {
    const { appId, token } = await newSession();
    const headers = new Headers({ authorization: `Bearer ${token}` });
    headers.append(name, value);
    headers.append(name, `${value}-again`);
    expect((await gateway(`/app/${appId}/x`, { headers })).status).toBe(200);
    const received = originCalls[0]?.headers ?? {};
    expect(
      Object.keys(received)
        .filter((key) => /^x[-_]auth[-_]/.test(key))
        .sort(),
    ).toEqual(["x-auth-app-id", "x-auth-claims", "x-auth-user-id"]);
    expect(received["x-auth-user-id"]).toBe("user-1");
    expect(received["x-auth-app-id"]).toBe(appId);
  });

  it("removes spoofed identity headers for an app without JWT too", async () => {
    const appId = await newApp({ jwtEnabled: false });
    const res = await gateway(`/app/${appId}/x`, { headers: { "x-auth-user-id": "admin", x_auth_user_id: "admin" } });
    expect(res.status).toBe(200);
    expect(originCalls[0]?.headers).not.toHaveProperty("x-auth-user-id");
    expect(originCalls[0]?.headers).not.toHaveProperty("x_auth_user_id");
  });

  it("refuses two Authorization headers, even when both are valid", async () => {
    const { appId, token } = await newSession();
    const headers = new Headers();
    headers.append("authorization", `Bearer ${token}`);
    headers.append("authorization", `Bearer ${token}`);
    await expectRejected(await gateway(`/app/${appId}/x`, { headers }), 401, invalid("MALFORMED"));
  });

  it.each([
    ["the query", (t: string) => ({ path: `?token=${t}&access_token=${t}`, init: {} })],
    ["a cookie", (t: string) => ({ path: "", init: { headers: { cookie: `token=${t}; access_token=${t}` } } })],
    ["another header", (t: string) => ({ path: "", init: { headers: { "x-access-token": t, "x-auth-token": t } } })],
    [
      "a Basic credential",
      (t: string) => ({ path: "", init: { headers: { authorization: `Basic ${btoa(`u:${t}`)}` } } }),
    ],
    ["a Token scheme", (t: string) => ({ path: "", init: { headers: { authorization: `Token ${t}` } } })],
  ])("answers 39 to a token only in %s", async (_, place) => {
    const { appId, token } = await newSession();
    const { path, init } = place(token);
    await expectRejected(await gateway(`/app/${appId}/x${path}`, init), 401, TOKEN_REQUIRED);
  });

  it.each(["x-http-method-override", "X-HTTP-Method", "x-method-override"])(
    "does not let a preflight with %s through without a token",
    async (name) => {
      const appId = await newApp();
      const res = await gateway(`/app/${appId}/x`, {
        method: "OPTIONS",
        headers: { origin: "https://app.example", "access-control-request-method": "POST", [name]: "DELETE" },
      });
      await expectRejected(res, 401, TOKEN_REQUIRED);
    },
  );
});

describe("faults", () => {
  it.each([
    ["KV get throws", () => vi.spyOn(env.APPS, "get").mockRejectedValue(new Error("KV down"))],
    ["KV get rejects with a non-Error", () => vi.spyOn(env.APPS, "get").mockRejectedValue("boom")],
  ])("answers 503 when %s, with a valid token", async (_, breakKv) => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId));
    const spy = breakKv();
    const res = await gateway(`/app/${appId}/x`, withToken(token));
    spy.mockRestore();
    await expectRejected(res, 503, { code: "CONFIG_UNAVAILABLE", status: "App configuration unavailable" });
  });

  it.each([
    ["truncated JSON", '{"jwtEnabled":true,"secret":"'],
    ["a short key", JSON.stringify({ jwtEnabled: true, secret: btoa("0123456789abcdef") })],
    ["one byte repeated", JSON.stringify({ jwtEnabled: true, secret: btoa("a".repeat(40)) })],
    ["an unknown encoding", JSON.stringify({ ...enforcingRecord(), secretEncoding: "hex" })],
    ["a tolerance out of range", JSON.stringify({ ...enforcingRecord(), clockToleranceSeconds: 1e9 })],
    ["an array", "[]"],
    ["null", "null"],
  ])("answers 503 to a stored record with %s, never forwarding", async (_, text) => {
    const appId = uniqueAppId();
    await seedApp(appId, text);
    const res = await gateway(`/app/${appId}/x`, withToken(await mintToken(claimsFor(appId))));
    await expectRejected(res, 503, { code: "CONFIG_UNAVAILABLE", status: "App configuration unavailable" });
  });

  it("answers 500 and forwards nothing when verification itself fails (a bug, not a bad token)", async () => {
    const { appId, token } = await newSession({ jti: "fault" });
    const verify = vi.spyOn(crypto.subtle, "verify").mockImplementation(() => {
      throw new TypeError("unexpected");
    });
    const logs = captureLogs();
    let res: Response;
    try {
      res = await gateway(`/app/${appId}/x`, withToken(token));
    } finally {
      logs.restore();
      verify.mockRestore();
    }
    await expectRejected(res, 500, { code: "INTERNAL_ERROR", status: "Internal error" });
    // Its one line names the app (never the token), so the fault can be traced.
    expect(logs.lines()).toContainEqual(expect.objectContaining({ event: "internal_error", appId }));
    expect(logs.text()).not.toContain(token);
  });

  it("answers 502 when the origin throws and 504 when it hangs, with nothing else sent", async () => {
    const { appId, token } = await newSession();
    setOriginResponder(() => {
      throw new Error("connection reset");
    });
    expect((await gateway(`/app/${appId}/x`, withToken(token))).status).toBe(502);
    setOriginResponder(() => new Promise<Response>(() => {}));
    const res = await gatewayWith({ ORIGIN_TIMEOUT_MS: "20" }, `/app/${appId}/x`, withToken(token));
    expect(res.status).toBe(504);
    expect(originCalls).toHaveLength(2);
  });
});
