import { describe, expect, it } from "vitest";
import {
  captureLogs,
  expectRejected,
  gateway,
  gatewayWith,
  newSession,
  originCalls,
  setOriginResponder,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

describe("the forwarded request", () => {
  it("keeps method, path, query and body, and adds the verified identity", async () => {
    const { appId, token } = await newSession({ userId: "José 100%" });
    const path = `/api/v1/app/${appId}/threads/a%20b?q=x%20y&q=z&other=%zz&userId=Jos%C3%A9%20100%25`;
    const res = await gateway(
      path,
      withToken(token, { method: "PUT", body: "raw body", headers: { "x-custom": "1" } }),
    );
    expect(res.status).toBe(200);
    const call = originCalls[0];
    expect(call?.url).toBe(`https://origin.test/base${path}`);
    expect(call?.method).toBe("PUT");
    expect(call?.body).toBe("raw body");
    expect(call?.headers["x-custom"]).toBe("1");
    expect(call?.headers.authorization).toBe(`Bearer ${token}`);
    expect(call?.headers["x-auth-app-id"]).toBe(appId);
    expect(call?.headers["x-auth-user-id"]).toBe("Jos%C3%A9%20100%25");
    expect(call?.headers["x-auth-claims"]).toBe(token.split(".")[1]);
  });

  it("removes every client x-auth-* header, in any case", async () => {
    const { appId, token } = await newSession();
    const headers = new Headers({
      "X-Auth-User-Id": "victim",
      "x-AUTH-app-id": "OTHER",
      "X-Auth-Claims": "e30",
      "x-auth-role": "admin",
    });
    headers.append("x-auth-user-id", "victim2");
    const res = await gateway(`/app/${appId}/x`, withToken(token, { headers }));
    expect(res.status).toBe(200);
    const forwarded = Object.keys(originCalls[0]?.headers ?? {}).filter((name) => name.startsWith("x-auth-"));
    expect(forwarded.sort()).toEqual(["x-auth-app-id", "x-auth-claims", "x-auth-user-id"]);
    expect(originCalls[0]?.headers["x-auth-user-id"]).toBe("user-1");
    expect(originCalls[0]?.headers["x-auth-app-id"]).toBe(appId);
  });

  it("drops Authorization when FORWARD_AUTHORIZATION is false", async () => {
    const { appId, token } = await newSession();
    const res = await gatewayWith({ FORWARD_AUTHORIZATION: "false" }, `/app/${appId}/x`, withToken(token));
    expect(res.status).toBe(200);
    expect(originCalls[0]?.headers.authorization).toBeUndefined();
    expect(originCalls[0]?.headers["x-auth-user-id"]).toBe("user-1");
  });

  it("goes to the ORIGIN service binding first", async () => {
    const { appId, token } = await newSession();
    const seen: string[] = [];
    const ORIGIN = {
      // A Fetcher takes what fetch() takes: a Request, or a URL and an init.
      fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
        const request = new Request(input, init);
        seen.push(`${request.url} ${request.headers.get("x-auth-user-id")}`);
        return new Response("from binding");
      },
    };
    const res = await gatewayWith({ ORIGIN }, `/app/${appId}/x?a=1`, withToken(token));
    expect(await res.text()).toBe("from binding");
    expect(seen).toEqual([`http://gw.test/app/${appId}/x?a=1 user-1`]);
    expect(originCalls).toHaveLength(0);
  });

  it("goes to the request's own URL without ORIGIN or ORIGIN_URL (a route in front of the origin)", async () => {
    const { appId, token } = await newSession();
    const res = await gatewayWith({ ORIGIN_URL: undefined }, `/app/${appId}/x?a=1`, withToken(token));
    expect(res.status).toBe(200);
    expect(originCalls[0]?.url).toBe(`http://gw.test/app/${appId}/x?a=1`);
  });
});

describe("the origin's response", () => {
  it("comes back unchanged: status, headers, body, and redirects not followed", async () => {
    const { appId, token } = await newSession();
    setOriginResponder(
      () => new Response(null, { status: 302, headers: { location: "https://elsewhere.test/", "set-cookie": "a=1" } }),
    );
    // The test's own fetch must not follow it either.
    const res = await gateway(`/app/${appId}/x`, withToken(token, { redirect: "manual" }));
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("https://elsewhere.test/");
    expect(res.headers.get("set-cookie")).toBe("a=1");
    expect(originCalls).toHaveLength(1);
    expect(originCalls[0]?.redirect).toBe("manual");
  });

  it("streams an error status from the origin as is", async () => {
    const { appId, token } = await newSession();
    setOriginResponder(() => new Response("teapot", { status: 418, headers: { "x-origin": "1" } }));
    const res = await gateway(`/app/${appId}/x`, withToken(token));
    expect(res.status).toBe(418);
    expect(await res.text()).toBe("teapot");
    expect(res.headers.get("x-origin")).toBe("1");
  });

  it("answers 502 ORIGIN_UNAVAILABLE when the origin cannot be reached", async () => {
    const { appId, token } = await newSession();
    setOriginResponder(() => {
      throw new TypeError("Network connection lost.");
    });
    const res = await gateway(`/app/${appId}/x`, withToken(token));
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ code: "ORIGIN_UNAVAILABLE", status: "Origin unavailable" });
  });

  it("answers 504 ORIGIN_TIMEOUT when the origin does not answer within ORIGIN_TIMEOUT_MS", async () => {
    const { appId, token } = await newSession();
    setOriginResponder(() => new Promise<Response>(() => {}));
    const started = Date.now();
    const res = await gatewayWith({ ORIGIN_TIMEOUT_MS: "50" }, `/app/${appId}/x`, withToken(token));
    expect(res.status).toBe(504);
    expect(await res.json()).toEqual({ code: "ORIGIN_TIMEOUT", status: "Origin did not answer in time" });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("configuration faults", () => {
  it.each([
    ["ORIGIN_URL", "not-a-url"],
    ["APP_ROUTES", "/v2/:tenant"],
    ["ADMIN_PREFIX", "admin"],
    ["FORWARD_AUTHORIZATION", "no"],
    ["MAX_BODY_BYTES", "big"],
    ["CONFIG_CACHE_TTL_SECONDS", "-5"],
    ["ORIGIN_TIMEOUT_MS", "0"],
    ["APPS", undefined],
  ])("a bad %s answers 500 INTERNAL_ERROR on every route, /healthz included, and logs why", async (name, value) => {
    const { appId, token } = await newSession();
    const logs = captureLogs();
    try {
      for (const path of ["/healthz", `/app/${appId}/x`, "/admin/apps"]) {
        const res = await gatewayWith({ [name]: value }, path, withToken(token));
        await expectRejected(res, 500, { code: "INTERNAL_ERROR", status: "Internal error" });
      }
    } finally {
      logs.restore();
    }
    expect(logs.lines()[0]).toMatchObject({ level: "error", event: "config_invalid", variable: name });
  });
});

describe("the gateway's own answers to a browser", () => {
  it("are readable by the page that sent the request (CORS), without credentials", async () => {
    const { appId } = await newSession();
    const res = await gateway(`/app/${appId}/x`, { headers: { origin: "https://app.example" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("vary")).toContain("Origin");
    expect(res.headers.get("access-control-expose-headers")).toContain("Date");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(originCalls).toHaveLength(0);
  });

  it("carry no CORS header without an Origin, and leave the origin's own answers alone", async () => {
    const { appId, token } = await newSession();
    expect((await gateway(`/app/${appId}/x`)).headers.get("access-control-allow-origin")).toBeNull();
    const forwarded = await gateway(
      `/app/${appId}/x`,
      withToken(token, { headers: { origin: "https://app.example" } }),
    );
    expect(forwarded.status).toBe(200);
    expect(forwarded.headers.get("access-control-allow-origin")).toBeNull();
  });
});
