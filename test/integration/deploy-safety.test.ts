import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index.ts";
import {
  ADMIN_TOKEN,
  admin,
  captureLogs,
  enforcingRecord,
  expectRejected,
  gateway,
  gatewayWith,
  KEY_BASE64,
  kvSnapshot,
  newApp,
  newSession,
  originCalls,
  setOriginResponder,
  testKeyBytes,
  testKeyPair,
  toBase64,
  uniqueAppId,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

const LOOP_DETECTED = {
  code: "LOOP_DETECTED",
  status: "Request already passed through this gateway: the origin points back at it",
};
const CONFIG_UNAVAILABLE = { code: "CONFIG_UNAVAILABLE", status: "App configuration unavailable" };

/** Calls the Worker at a full URL (another host than the tests' default) with changed variables. */
async function gatewayAt(url: string, vars: Record<string, unknown>, init?: RequestInit): Promise<Response> {
  const request = new Request(url, init) as Request<unknown, IncomingRequestCfProperties>;
  return await worker.fetch(request, { ...env, ...vars } as never, createExecutionContext());
}

const NO_ORIGIN = { ORIGIN_URL: undefined };

describe("the hop marker (CDN-Loop)", () => {
  it("marks every forwarded request, appended to a value the client sent", async () => {
    const { appId, token } = await newSession();
    expect((await gateway(`/app/${appId}/x`, withToken(token))).status).toBe(200);
    expect(
      (await gateway(`/app/${appId}/x`, withToken(token, { headers: { "cdn-loop": "cloudflare; loops=1" } }))).status,
    ).toBe(200);
    expect(originCalls.map((call) => call.headers["cdn-loop"])).toEqual([
      "edge-authenticator",
      "cloudflare; loops=1, edge-authenticator",
    ]);
  });

  it("marks requests forwarded without a check too (JWT off, preflight)", async () => {
    const appId = await newApp({ jwtEnabled: false });
    expect((await gateway(`/app/${appId}/x`)).status).toBe(200);
    expect(originCalls[0]?.headers["cdn-loop"]).toBe("edge-authenticator");
  });

  it.each([
    ["alone", "edge-authenticator"],
    ["after another CDN", "cloudflare; loops=1, edge-authenticator"],
    ["in another case, with a parameter", "Edge-Authenticator; hops=2"],
  ])("answers 508 LOOP_DETECTED to a request that carries it (%s), and forwards nothing", async (_, value) => {
    const { appId, token } = await newSession();
    const res = await gateway(`/app/${appId}/x`, withToken(token, { headers: { "cdn-loop": value } }));
    await expectRejected(res, 508, LOOP_DETECTED);
  });

  it("answers 508 for an app without JWT too: the loop is refused before the record is read", async () => {
    const appId = await newApp({ jwtEnabled: false });
    await expectRejected(await gateway(`/app/${appId}/x`, { headers: { "cdn-loop": "edge-authenticator" } }), 508, {
      ...LOOP_DETECTED,
    });
  });

  it("ends a loop through an origin that points back at the gateway after one hop", async () => {
    const { appId, token } = await newSession();
    // The "origin" is the gateway itself: it hands the forwarded request straight back.
    setOriginResponder((forwarded) => gateway(new URL(forwarded.url).pathname, { headers: forwarded.headers }));
    const res = await gateway(`/app/${appId}/x`, withToken(token));
    expect(res.status).toBe(508);
    expect(originCalls).toHaveLength(1);
  });

  it("logs the loop with its code, never the token", async () => {
    const { appId, token } = await newSession();
    const logs = captureLogs();
    try {
      await gateway(`/app/${appId}/x`, withToken(token, { headers: { "cdn-loop": "edge-authenticator" } }));
    } finally {
      logs.restore();
    }
    expect(logs.lines()).toContainEqual(expect.objectContaining({ event: "rejected", appId, code: "LOOP_DETECTED" }));
    expect(logs.text()).not.toContain(token);
  });
});

describe("no origin on a host that serves only the Worker", () => {
  it.each([
    "http://localhost:8787",
    "http://127.0.0.1:8787",
    "http://[::1]:8787",
    "https://edge-authenticator.someone.workers.dev",
  ])("answers 503 CONFIG_UNAVAILABLE on %s instead of forwarding to itself, and logs which setting", async (base) => {
    const { appId, token } = await newSession();
    const logs = captureLogs();
    let res: Response;
    try {
      res = await gatewayAt(`${base}/api/v1/app/${appId}/x`, NO_ORIGIN, withToken(token));
    } finally {
      logs.restore();
    }
    await expectRejected(res, 503, CONFIG_UNAVAILABLE);
    expect(logs.lines()).toContainEqual(
      expect.objectContaining({ level: "error", event: "config_invalid", variable: "ORIGIN_URL" }),
    );
    expect(logs.text()).not.toContain(token);
  });

  it("forwards to the request's own URL on any other host (a route in front of the origin)", async () => {
    const { appId, token } = await newSession();
    const url = `https://api.example.com/api/v1/app/${appId}/x?q=1`;
    const res = await gatewayAt(url, NO_ORIGIN, withToken(token));
    expect(res.status).toBe(200);
    expect(originCalls[0]?.url).toBe(url);
  });

  it("forwards from a dev host when ORIGIN_URL or an ORIGIN binding is set", async () => {
    const { appId, token } = await newSession();
    const viaUrl = await gatewayAt(`http://localhost:8787/app/${appId}/x`, {}, withToken(token));
    expect(viaUrl.status).toBe(200);
    expect(originCalls[0]?.url).toBe(`https://origin.test/base/app/${appId}/x`);
    const seen: string[] = [];
    const ORIGIN = {
      fetch: async (input: RequestInfo | URL) => {
        seen.push(String(input instanceof Request ? input.url : input));
        return new Response("bound");
      },
    };
    const viaBinding = await gatewayAt(
      `http://localhost:8787/app/${appId}/x`,
      { ...NO_ORIGIN, ORIGIN },
      withToken(token),
    );
    expect(await viaBinding.text()).toBe("bound");
    expect(seen).toEqual([`http://localhost:8787/app/${appId}/x`]);
  });

  it("/healthz answers 503 naming the missing setting, and no value of any setting", async () => {
    const res = await gatewayAt("http://localhost:8787/healthz", NO_ORIGIN);
    expect(res.status).toBe(503);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { status: string; problems: { setting: string }[] };
    expect(body).toEqual({
      status: "misconfigured",
      problems: [{ setting: "ORIGIN_URL", message: expect.stringContaining("ORIGIN_URL") }],
    });
    expect(JSON.stringify(body)).not.toContain(ADMIN_TOKEN);
  });

  it("/healthz is ok with an origin, or on a route", async () => {
    expect((await gatewayAt("http://localhost:8787/healthz", {})).status).toBe(200);
    expect(await (await gatewayAt("https://api.example.com/healthz", NO_ORIGIN)).json()).toEqual({ status: "ok" });
  });
});

describe("ORIGIN_SECRET", () => {
  const ORIGIN_SECRET = "origin-secret-0123456789abcdefghijklmnop";

  it("is sent on every forwarded request in X-Auth-Gateway-Secret, over a client's copy", async () => {
    const { appId, token } = await newSession();
    const off = await newApp({ jwtEnabled: false });
    const headers = { "x-auth-gateway-secret": "guess" };
    const logs = captureLogs();
    try {
      expect((await gatewayWith({ ORIGIN_SECRET }, `/app/${appId}/x`, withToken(token, { headers }))).status).toBe(200);
      expect((await gatewayWith({ ORIGIN_SECRET }, `/app/${off}/x`, { headers })).status).toBe(200);
    } finally {
      logs.restore();
    }
    expect(originCalls.map((call) => call.headers["x-auth-gateway-secret"])).toEqual([ORIGIN_SECRET, ORIGIN_SECRET]);
    expect(logs.text()).not.toContain(ORIGIN_SECRET);
  });

  it("is not sent when unset, and a client's copy is dropped", async () => {
    const { appId, token } = await newSession();
    const headers = { "x-auth-gateway-secret": "guess" };
    expect((await gateway(`/app/${appId}/x`, withToken(token, { headers }))).status).toBe(200);
    expect(originCalls[0]?.headers["x-auth-gateway-secret"]).toBeUndefined();
  });

  it("is never sent with a refused request", async () => {
    const appId = await newApp();
    await expectRejected(await gatewayWith({ ORIGIN_SECRET }, `/app/${appId}/x`), 401, {
      code: "39",
      status: "Token is required to access the requested resource.",
      reason: "TOKEN_NOT_AVAILABLE",
    });
  });

  it("makes every route answer 500 when it is too short, and logs the variable, not the value", async () => {
    const logs = captureLogs();
    let res: Response;
    try {
      res = await gatewayWith({ ORIGIN_SECRET: "short-secret" }, "/healthz");
    } finally {
      logs.restore();
    }
    await expectRejected(res, 500, { code: "INTERNAL_ERROR", status: "Internal error" });
    expect(logs.lines()).toContainEqual(
      expect.objectContaining({ event: "config_invalid", variable: "ORIGIN_SECRET" }),
    );
    expect(logs.text()).not.toContain("short-secret");
  });
});

describe("one trailing slash on health and admin routes", () => {
  it("accepts /healthz/", async () => {
    const res = await gateway("/healthz/");
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { status: "ok" } });
  });

  it("accepts /admin/apps/, /admin/apps/{appId}/ and …/keys/{kid}/", async () => {
    const appId = uniqueAppId();
    const put = await admin(`/apps/${appId}/`, { method: "PUT", body: JSON.stringify(enforcingRecord()) });
    expect(put.status).toBe(201);
    expect((await admin(`/apps/${appId}/`)).status).toBe(200);
    expect((await admin("/apps/?limit=1")).status).toBe(200);
    const key = { kid: "k2", alg: "HS256", secret: toBase64(testKeyBytes(32, 9)) };
    expect((await admin(`/apps/${appId}/keys/`, { method: "POST", body: JSON.stringify(key) })).status).toBe(201);
    expect((await admin(`/apps/${appId}/keys/k2/`, { method: "DELETE" })).status).toBe(200);
    expect((await admin(`/apps/${appId}/`, { method: "DELETE" })).status).toBe(204);
  });

  it("still answers 404 for two trailing slashes and 401 without the credential", async () => {
    expect((await admin("/apps//")).status).toBe(404);
    expect((await gateway("/admin/apps/")).status).toBe(401);
    expect((await gateway("/healthz//")).status).toBe(404);
  });
});

describe("list cursors", () => {
  it.each([
    ["garbage", "garbage"],
    ["a KV-shaped cursor", "bm90LWEtY3Vyc29y"],
    ["a sealed cursor with its MAC changed", null],
  ])("answers 400 to %s, and reads nothing", async (_, given) => {
    await newApp();
    await newApp();
    const { cursor } = (await (await admin("/apps?limit=1")).json()) as { cursor: string };
    const tampered = `${cursor.slice(0, -1)}${cursor.endsWith("A") ? "B" : "A"}`;
    const list = vi.spyOn(env.APPS, "list");
    const res = await admin(`/apps?cursor=${encodeURIComponent(given ?? tampered)}`);
    expect(list).not.toHaveBeenCalled();
    list.mockRestore();
    await expectRejected(res, 400, {
      code: "BAD_REQUEST",
      status: "Invalid request",
      errors: [{ path: "cursor", message: "is not a cursor from this list" }],
    });
  });

  it("issues cursors that only work under the admin token that issued them", async () => {
    await newApp();
    await newApp();
    const { cursor } = (await (await admin("/apps?limit=1")).json()) as { cursor: string };
    expect((await admin(`/apps?limit=1&cursor=${cursor}`)).status).toBe(200);
    const other = "another-admin-token-0123456789abcdefghij";
    const res = await gatewayWith({ ADMIN_TOKEN: other }, `/admin/apps?cursor=${cursor}`, {
      headers: { authorization: `Bearer ${other}` },
    });
    expect(res.status).toBe(400);
  });
});

describe("one key given twice", () => {
  it("answers 409 CONFLICT to POST …/keys of a key the app has under another kid (PEM beside JWK)", async () => {
    const pair = await testKeyPair("ES256");
    const appId = uniqueAppId();
    const created = await admin(`/apps/${appId}`, {
      method: "PUT",
      body: JSON.stringify({ jwtEnabled: true, keys: [{ kid: "a", alg: "ES256", publicKey: pair.jwk }] }),
    });
    expect(created.status).toBe(201);
    const before = await kvSnapshot();
    const res = await admin(`/apps/${appId}/keys`, {
      method: "POST",
      body: JSON.stringify({ kid: "b", alg: "ES256", publicKey: pair.spki }),
    });
    await expectRejected(res, 409, { code: "CONFLICT", status: "The app has this key already (same fingerprint)" });
    expect(await kvSnapshot()).toEqual(before);
  });

  it("answers 409 to an HMAC key with the v1 secret's bytes", async () => {
    const appId = uniqueAppId();
    expect((await admin(`/apps/${appId}`, { method: "PUT", body: JSON.stringify(enforcingRecord()) })).status).toBe(
      201,
    );
    const res = await admin(`/apps/${appId}/keys`, {
      method: "POST",
      body: JSON.stringify({ kid: "same", alg: "HS256", secret: KEY_BASE64 }),
    });
    expect(res.status).toBe(409);
  });

  it("answers 400 to a PUT that lists one key twice, naming the later one", async () => {
    const pair = await testKeyPair("EdDSA");
    const before = await kvSnapshot();
    const res = await admin(`/apps/${uniqueAppId()}`, {
      method: "PUT",
      body: JSON.stringify({
        jwtEnabled: true,
        keys: [
          { kid: "a", alg: "EdDSA", publicKey: pair.spki },
          { kid: "b", alg: "EdDSA", publicKey: pair.jwk },
        ],
      }),
    });
    await expectRejected(res, 400, {
      code: "BAD_REQUEST",
      status: "Invalid request",
      errors: [{ path: "keys.1", message: "is the same key as keys.0" }],
    });
    expect(await kvSnapshot()).toEqual(before);
  });
});

describe("secrets that are probably read the wrong way", () => {
  const HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  const HINT = 'if this is a passphrase or hex string, set secretEncoding: "utf8"';

  it("stores a hex secret read as base64, with a warning in the answer only", async () => {
    const appId = uniqueAppId();
    const res = await admin(`/apps/${appId}`, {
      method: "PUT",
      body: JSON.stringify({ jwtEnabled: true, secret: HEX }),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { warnings: unknown };
    expect(body.warnings).toEqual([{ path: "secret", message: `looks like hex but is read as base64; ${HINT}` }]);
    expect(JSON.stringify(body)).not.toContain(HEX);
    expect(await (await admin(`/apps/${appId}`)).json()).not.toHaveProperty("warnings");
    const listed = (await (await admin("/apps?limit=1000")).json()) as { apps: { appId: string }[] };
    expect(listed.apps.find((view) => view.appId === appId)).not.toHaveProperty("warnings");
  });

  it("warns for an HMAC key of keys too, and not for utf8 or real base64", async () => {
    const key = { kid: "hex", alg: "HS256", secret: HEX };
    const res = await admin(`/apps/${uniqueAppId()}`, {
      method: "PUT",
      body: JSON.stringify({ jwtEnabled: true, keys: [key] }),
    });
    expect(((await res.json()) as { warnings: { path: string }[] }).warnings.map((w) => w.path)).toEqual([
      "keys.0.secret",
    ]);
    const utf8 = await admin(`/apps/${uniqueAppId()}`, {
      method: "PUT",
      body: JSON.stringify({ jwtEnabled: true, secret: HEX, secretEncoding: "utf8" }),
    });
    expect(await utf8.json()).not.toHaveProperty("warnings");
    expect(
      await (await admin(`/apps/${uniqueAppId()}`, { method: "PUT", body: JSON.stringify(enforcingRecord()) })).json(),
    ).not.toHaveProperty("warnings");
  });

  it("hints at secretEncoding utf8 when a base64 secret does not decode", async () => {
    const res = await admin(`/apps/${uniqueAppId()}`, {
      method: "PUT",
      body: JSON.stringify({ jwtEnabled: true, secret: "my-passphrase-is-long-enough-to-be-a-key!" }),
    });
    expect(res.status).toBe(400);
    const { errors } = (await res.json()) as { errors: { path: string; message: string }[] };
    expect(errors[0]?.path).toBe("secret");
    expect(errors[0]?.message).toContain(HINT);
  });

  it("names keys beside secret when an enforcing record has no key", async () => {
    const res = await admin(`/apps/${uniqueAppId()}`, {
      method: "PUT",
      body: JSON.stringify({ enforcement: "enforce" }),
    });
    expect(await res.json()).toMatchObject({
      errors: [
        { path: "secret", message: "is required when enforcement is report or enforce (or give keys or jwksUri)" },
      ],
    });
  });
});

describe("listing by appId prefix (the console's search)", () => {
  it("lists only the apps whose appId starts with the prefix, paging within it", async () => {
    const stem = `PFX${Date.now().toString(36)}`;
    for (const suffix of ["a", "b", "c"]) {
      await admin(`/apps/${stem}-${suffix}`, { method: "PUT", body: JSON.stringify({ jwtEnabled: false }) });
    }
    await admin(`/apps/X${stem}`, { method: "PUT", body: JSON.stringify({ jwtEnabled: false }) });
    const first = (await (await admin(`/apps?prefix=${stem}&limit=2`)).json()) as {
      apps: { appId: string }[];
      cursor: string;
    };
    expect(first.apps.map((view) => view.appId)).toEqual([`${stem}-a`, `${stem}-b`]);
    const second = (await (await admin(`/apps?prefix=${stem}&limit=2&cursor=${first.cursor}`)).json()) as {
      apps: { appId: string }[];
      cursor: string | null;
    };
    expect(second).toEqual({ apps: [expect.objectContaining({ appId: `${stem}-c` })], cursor: null });
  });

  it("refuses a cursor from another prefix's listing, and a prefix no appId can start with", async () => {
    const stem = `PFY${Date.now().toString(36)}`;
    for (const suffix of ["a", "b"]) {
      await admin(`/apps/${stem}-${suffix}`, { method: "PUT", body: JSON.stringify({ jwtEnabled: false }) });
    }
    const { cursor } = (await (await admin(`/apps?prefix=${stem}&limit=1`)).json()) as { cursor: string };
    expect((await admin(`/apps?prefix=${stem}-&limit=1&cursor=${cursor}`)).status).toBe(400);
    expect((await admin(`/apps?limit=1&cursor=${cursor}`)).status).toBe(400);
    expect(await (await admin("/apps?prefix=-x")).json()).toMatchObject({
      errors: [{ path: "prefix", message: "must be the start of an appId: A-Z a-z 0-9 . _ -" }],
    });
  });
});
