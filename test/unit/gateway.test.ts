import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.ts";
import { type BindingOptions, checkRequestIdentities, readRequestIdentities } from "../../src/gateway/binding.ts";
import { bearerToken } from "../../src/gateway/credentials.ts";
import { encodeHeaderValue, forwardedHeaders, hasOwnHop, isWorkerOnlyHost } from "../../src/gateway/forward.ts";
import { checkPathHygiene, matchAppId } from "../../src/gateway/routes.ts";
import { rawTarget } from "../../src/lib/raw-target.ts";
import { DEFAULT_REQUEST_BINDINGS } from "../../src/token/policy.ts";
import { rejectionOf } from "../helpers.ts";

describe("rawTarget", () => {
  it("cuts the path and query from the URL text without resolving anything", () => {
    expect(rawTarget("http://h.test/a/../b/%2e%2e/c?x=1&y=%zz")).toEqual({
      path: "/a/../b/%2e%2e/c",
      query: "x=1&y=%zz",
      pathAndQuery: "/a/../b/%2e%2e/c?x=1&y=%zz",
    });
    expect(rawTarget("http://h.test")).toEqual({ path: "/", query: "", pathAndQuery: "/" });
    expect(rawTarget("http://h.test:8787/x?")).toEqual({ path: "/x", query: "", pathAndQuery: "/x?" });
  });
});

describe("matchAppId", () => {
  it("finds the appId after the first `app` segment by default (CONTRACT section 1)", () => {
    expect(matchAppId("/rtmsAPI/api/v1/app/TR21063826/setuserid", null)).toBe("TR21063826");
    expect(matchAppId("/api/v1/app/AP09092338/threads/7", null)).toBe("AP09092338");
    expect(matchAppId("/app/TR21063826", null)).toBe("TR21063826");
    expect(matchAppId("/app/TR21063826/", null)).toBe("TR21063826");
    expect(matchAppId("/app/app/X", null)).toBe("app");
    expect(matchAppId("/app//X", null)).toBe(undefined);
    expect(matchAppId("/app/", null)).toBe(undefined);
    expect(matchAppId("/apps/X", null)).toBe(undefined);
    expect(matchAppId("/App/X", null)).toBe(undefined);
    expect(matchAppId("/", null)).toBe(undefined);
  });

  it("uses APP_ROUTES patterns in order when set", () => {
    const routes = parseConfig({
      APPS: { get: async () => null } as unknown as KVNamespace,
      APP_ROUTES: "/v2/:appId/*, /tenants/:appId",
    }).appRoutes;
    expect(matchAppId("/v2/AP1/messages", routes)).toBe("AP1");
    expect(matchAppId("/tenants/AP2", routes)).toBe("AP2");
    expect(matchAppId("/app/AP3", routes)).toBe(undefined);
  });
});

describe("checkPathHygiene", () => {
  it.each([
    ["/app/A/x", "passed"],
    ["/app/A/", "passed"],
    ["/app/A/a%20b", "passed"],
    ["/app/A//x", "BAD_REQUEST"],
    ["//app/A", "BAD_REQUEST"],
    ["/app/A/x//", "BAD_REQUEST"],
    ["/app/A/../B", "BAD_REQUEST"],
    ["/app/A/./x", "BAD_REQUEST"],
    ["/app/A/%2e%2e/B", "BAD_REQUEST"],
    ["/app/A/%2E/x", "BAD_REQUEST"],
    ["/app/A/.%2e/x", "BAD_REQUEST"],
    ["/app/A/a%2Fb", "BAD_REQUEST"],
    ["/app/A/a%2fb", "BAD_REQUEST"],
    ["/app/A/a%5Cb", "BAD_REQUEST"],
    ["/app/A/a\\b", "BAD_REQUEST"],
    ["/app/A/%zz", "BAD_REQUEST"],
    ["/app/A/%4", "BAD_REQUEST"],
    ["/app/A/%FF", "BAD_REQUEST"],
  ])("%s → %s", async (path, expected) => {
    expect(await rejectionOf(() => checkPathHygiene(path))).toBe(expected);
  });
});

describe("bearerToken", () => {
  it.each([
    ["Bearer abc.def.ghi", "abc.def.ghi"],
    ["bearer abc.def.ghi", "abc.def.ghi"],
    ["BEARER   abc", "abc"],
  ])("reads %j", (value, token) => {
    expect(bearerToken(value)).toBe(token);
  });

  it.each([
    [null, "TOKEN_NOT_AVAILABLE"],
    ["", "TOKEN_NOT_AVAILABLE"],
    ["Bearer", "TOKEN_NOT_AVAILABLE"],
    ["Bearer   ", "TOKEN_NOT_AVAILABLE"],
    ["Basic dXNlcjpwYXNz", "TOKEN_NOT_AVAILABLE"],
    ["Token abc", "TOKEN_NOT_AVAILABLE"],
    ["abc.def.ghi", "TOKEN_NOT_AVAILABLE"],
    ["Bearer a.b.c, Bearer d.e.f", "MALFORMED"],
    ["Bearer a.b.c, Basic x", "MALFORMED"],
    ["Bearer a.b.c extra", "MALFORMED"],
    [`Bearer ${"a".repeat(8193)}`, "MALFORMED"],
  ])("%j → %s", async (value, expected) => {
    expect(await rejectionOf(() => bearerToken(value))).toBe(expected);
  });
});

describe("encodeHeaderValue", () => {
  it("keeps visible ASCII but %, and percent-encodes the rest as UTF-8", () => {
    expect(encodeHeaderValue("user-1_A.b@c")).toBe("user-1_A.b@c");
    expect(encodeHeaderValue("a b%c")).toBe("a%20b%25c");
    expect(encodeHeaderValue("é\r\nX-Evil: 1")).toBe("%C3%A9%0D%0AX-Evil:%201");
    expect(encodeHeaderValue("日本")).toBe("%E6%97%A5%E6%9C%AC");
    expect(decodeURIComponent(encodeHeaderValue("ü x%"))).toBe("ü x%");
  });
});

describe("forwardedHeaders", () => {
  it("drops every client x-auth-* header and sets the verified identity", () => {
    const incoming = new Headers([
      ["X-Auth-User-Id", "victim"],
      ["x-auth-app-id", "other"],
      ["X-AUTH-CLAIMS", "forged"],
      ["x-auth-anything", "1"],
      ["authorization", "Bearer t"],
      ["x-other", "kept"],
    ]);
    const headers = forwardedHeaders(
      incoming,
      { appId: "A", userId: "u 1", claimsSegment: "e30" },
      { forwardAuthorization: true, originSecret: null },
    );
    expect(Object.fromEntries(headers)).toEqual({
      authorization: "Bearer t",
      "x-other": "kept",
      "x-auth-app-id": "A",
      "x-auth-user-id": "u%201",
      "x-auth-claims": "e30",
      "cdn-loop": "edge-authenticator",
    });
    const bare = forwardedHeaders(incoming, { appId: "A" }, { forwardAuthorization: false, originSecret: null });
    expect(bare.has("authorization")).toBe(false);
    expect(bare.has("x-auth-user-id")).toBe(false);
  });

  it("appends the hop marker to CDN-Loop and sets ORIGIN_SECRET over a client's copy", () => {
    const incoming = new Headers([
      ["cdn-loop", "cloudflare; loops=1"],
      ["x-auth-gateway-secret", "guessed"],
    ]);
    const headers = forwardedHeaders(
      incoming,
      { appId: "A" },
      { forwardAuthorization: true, originSecret: "s".repeat(40) },
    );
    expect(headers.get("cdn-loop")).toBe("cloudflare; loops=1, edge-authenticator");
    expect(headers.get("x-auth-gateway-secret")).toBe("s".repeat(40));
  });
});

describe("hasOwnHop", () => {
  it.each([
    ["edge-authenticator", true],
    ["cloudflare; loops=1, Edge-Authenticator", true],
    ["edge-authenticator;p=1", true],
    ["  edge-authenticator  ", true],
    [null, false],
    ["cloudflare", false],
    ["edge-authenticator-2, x", false],
    ["cloudflare; note=edge-authenticator", false],
  ] as const)("%s → %s", (value, expected) => {
    expect(hasOwnHop(value)).toBe(expected);
  });
});

describe("isWorkerOnlyHost", () => {
  it.each([
    ["http://localhost:8787/app/A", true],
    ["http://127.0.0.1/app/A", true],
    ["http://[::1]:8787/app/A", true],
    ["https://edge-authenticator.someone.workers.dev/app/A", true],
    ["https://LOCALHOST/app/A", true],
    ["https://api.example.com/app/A", false],
    ["https://workers.dev.example.com/app/A", false],
    ["https://localhost.example.com/app/A", false],
    ["http://127.0.0.2/app/A", true],
    ["http://0.0.0.0:8787/app/A", true],
    ["http://localhost.:8787/app/A", true],
    ["https://x.workers.dev./app/A", true],
    ["http://128.0.0.1/app/A", false],
    ["http://127.0.0.1.example.com/app/A", false],
  ] as const)("%s → %s", (url, expected) => {
    expect(isWorkerOnlyHost(url)).toBe(expected);
  });
});

/** The binding step of the pipeline: the identities the request names, held to the token's claims. */
async function bindRequestIdentity(
  request: Request,
  query: string,
  claims: Record<string, unknown>,
  options: BindingOptions,
) {
  const named = await readRequestIdentities(request, query, options);
  checkRequestIdentities(named, claims);
  return named;
}

describe("readRequestIdentities and checkRequestIdentities", () => {
  const claims = { appId: "A", userId: "u1", customerId: "123" };
  const bind = (query: string, init?: RequestInit, max = 1024) =>
    rejectionOf(() =>
      bindRequestIdentity(new Request("http://h.test/app/A", init), query, claims, {
        maxBodyBytes: max,
        requestBindings: DEFAULT_REQUEST_BINDINGS,
      }),
    );
  const json = (body: string, type = "application/json") => ({
    method: "POST",
    headers: { "content-type": type },
    body,
  });

  it.each([
    ["", "passed"],
    ["q=1&userId=u1", "passed"],
    ["UserID=u1", "passed"],
    ["userid=u2", "IDENTIFIER_MISMATCH"],
    ["customerId=123", "passed"],
    ["appUserId=u1", "IDENTIFIER_MISMATCH"],
    ["userId=u1&userId=u1", "BAD_REQUEST"],
    ["userId=u1&USERID=u1", "BAD_REQUEST"],
    ["userId[]=u1", "BAD_REQUEST"],
    ["userId[0]=u1", "BAD_REQUEST"],
    ["%75serId=u2", "IDENTIFIER_MISMATCH"],
    ["user%49d=u1", "passed"],
    ["userId=u%31", "passed"],
    ["userId=%zz", "BAD_REQUEST"],
    ["other=%zz", "passed"],
    ["userId", "IDENTIFIER_MISMATCH"],
  ])("query %j → %s", async (query, expected) => {
    expect(await bind(query)).toBe(expected);
  });

  it.each([
    ['{"userId":"u1","x":{"userId":"other"}}', "passed"],
    ['{"userId":"u2"}', "IDENTIFIER_MISMATCH"],
    ['{"USERID":"u2"}', "IDENTIFIER_MISMATCH"],
    ['{"customerId":123}', "passed"],
    ['{"customerId":123.0}', "IDENTIFIER_MISMATCH"],
    ['{"customerId":1.23e2}', "IDENTIFIER_MISMATCH"],
    ['{"userId":true}', "BAD_REQUEST"],
    ['{"userId":null}', "BAD_REQUEST"],
    ['{"userId":["u1"]}', "BAD_REQUEST"],
    ['{"userId":"u1","userId":"u1"}', "BAD_REQUEST"],
    ['{"userId":"u1","UserId":"u1"}', "BAD_REQUEST"],
    ['{"userId":"u1"', "BAD_REQUEST"],
    ['["userId"]', "passed"],
    ["", "passed"],
  ])("JSON body %j → %s", async (body, expected) => {
    expect(await bind("", json(body))).toBe(expected);
  });

  it("inspects */*+json, form and multipart bodies", async () => {
    expect(await bind("", json('{"userId":"u2"}', "application/vnd.api+json; charset=utf-8"))).toBe(
      "IDENTIFIER_MISMATCH",
    );
    expect(await bind("", json("userId=u2", "application/x-www-form-urlencoded"))).toBe("IDENTIFIER_MISMATCH");
    expect(await bind("", json("a=1&userId=u1", "application/x-www-form-urlencoded"))).toBe("passed");
    const form = new FormData();
    form.append("userId", "u2");
    expect(await bind("", { method: "POST", body: form })).toBe("IDENTIFIER_MISMATCH");
    const upload = new FormData();
    upload.append("userId", new File(["u1"], "u1.txt"));
    expect(await bind("", { method: "POST", body: upload })).toBe("BAD_REQUEST");
    expect(await bind("", json("--x\r\nbroken", "multipart/form-data; boundary=zzz"))).toBe("BAD_REQUEST");
  });

  it("forwards other media types uninspected", async () => {
    expect(await bind("", json('{"userId":"u2"}', "text/plain"))).toBe("passed");
    expect(await bind("", { method: "POST", body: '{"userId":"u2"}' })).toBe("passed");
  });

  it("refuses two content types, encoded bodies and bodies over the limit", async () => {
    expect(await bind("", json("{}", "application/json, text/plain"))).toBe("BAD_REQUEST");
    expect(await bind("", json("{}", 'multipart/form-data; boundary="a,b"'))).toBe("BAD_REQUEST");
    const gzip = {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: "x",
    };
    expect(await bind("", gzip)).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect(await bind("", json(`{"a":"${"x".repeat(100)}"}`), 100)).toBe("PAYLOAD_TOO_LARGE");
    expect(await bind("", json(`{"a":"${"x".repeat(90)}"}`), 100)).toBe("passed");
  });

  it("returns the read body byte for byte", async () => {
    const body = '{ "userId" : "u1", "note": "é" }';
    const result = await bindRequestIdentity(new Request("http://h.test/", json(body)), "", claims, {
      maxBodyBytes: 1024,
      requestBindings: DEFAULT_REQUEST_BINDINGS,
    });
    expect(new TextDecoder().decode(result.body as Uint8Array)).toBe(body);
  });
});

describe("parseConfig", () => {
  const APPS = { get: async () => null } as unknown as KVNamespace;

  it("applies the defaults of CONTRACT section 7", () => {
    expect(parseConfig({ APPS })).toEqual({
      origin: { kind: "route" },
      originSecret: null,
      nonceSecret: null,
      appRoutes: null,
      adminPrefix: "/admin",
      forwardAuthorization: true,
      maxBodyBytes: 1_048_576,
      configCacheTtlMs: 60_000,
      originTimeoutMs: 30_000,
      metricsFlushMs: 5_000,
      allowHttpJwks: false,
    });
  });

  it("reads every variable, as text or as a JSON value", () => {
    const config = parseConfig({
      APPS,
      ORIGIN_URL: "https://api.example.com/v1/",
      ADMIN_PREFIX: "/ops/admin",
      FORWARD_AUTHORIZATION: false,
      MAX_BODY_BYTES: "2048",
      CONFIG_CACHE_TTL_SECONDS: 0,
      ORIGIN_TIMEOUT_MS: "1500",
    });
    expect(config).toMatchObject({
      origin: { kind: "url", origin: "https://api.example.com", pathPrefix: "/v1" },
      adminPrefix: "/ops/admin",
      forwardAuthorization: false,
      maxBodyBytes: 2048,
      configCacheTtlMs: 0,
      originTimeoutMs: 1500,
    });
  });

  it.each([
    ["APPS", { APPS: undefined }],
    ["ORIGIN", { ORIGIN: "https://x" }],
    ["ORIGIN_URL", { ORIGIN_URL: "not a url" }],
    ["ORIGIN_URL", { ORIGIN_URL: "ftp://x.test" }],
    ["ORIGIN_URL", { ORIGIN_URL: "https://x.test/?q=1" }],
    ["ORIGIN_URL", { ORIGIN_URL: "https://user:pw@x.test" }],
    ["APP_ROUTES", { APP_ROUTES: "/v2/:id" }],
    ["APP_ROUTES", { APP_ROUTES: "/v2/:appIdX" }],
    ["APP_ROUTES", { APP_ROUTES: "/v2/:appId," }],
    ["APP_ROUTES", { APP_ROUTES: "v2/:appId" }],
    ["APP_ROUTES", { APP_ROUTES: "/v2/:appId/(" }],
    ["ADMIN_PREFIX", { ADMIN_PREFIX: "admin" }],
    ["ADMIN_PREFIX", { ADMIN_PREFIX: "/admin/" }],
    ["ADMIN_PREFIX", { ADMIN_PREFIX: "/:x" }],
    ["ADMIN_PREFIX", { ADMIN_PREFIX: "/a/../b" }],
    ["ADMIN_PREFIX", { ADMIN_PREFIX: "/healthz" }],
    ["FORWARD_AUTHORIZATION", { FORWARD_AUTHORIZATION: "yes" }],
    ["ORIGIN_SECRET", { ORIGIN_SECRET: "short" }],
    ["ORIGIN_SECRET", { ORIGIN_SECRET: "a secret with spaces that is long enough to pass" }],
    ["ORIGIN_SECRET", { ORIGIN_SECRET: 12345 }],
    ["MAX_BODY_BYTES", { MAX_BODY_BYTES: "1MB" }],
    ["MAX_BODY_BYTES", { MAX_BODY_BYTES: "0" }],
    ["MAX_BODY_BYTES", { MAX_BODY_BYTES: -1 }],
    ["CONFIG_CACHE_TTL_SECONDS", { CONFIG_CACHE_TTL_SECONDS: "1.5" }],
    ["CONFIG_CACHE_TTL_SECONDS", { CONFIG_CACHE_TTL_SECONDS: "86401" }],
    ["ORIGIN_TIMEOUT_MS", { ORIGIN_TIMEOUT_MS: "" }],
    ["ORIGIN_TIMEOUT_MS", { ORIGIN_TIMEOUT_MS: "0" }],
  ])("refuses a bad %s", (variable, vars) => {
    expect(() => parseConfig({ APPS, ...vars } as never)).toThrow(expect.objectContaining({ variable }));
  });
});
