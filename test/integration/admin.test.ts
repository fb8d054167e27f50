import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import {
  ADMIN_TOKEN,
  admin,
  captureLogs,
  claimsFor,
  expectRejected,
  gateway,
  gatewayWith,
  invalid,
  KEY_BASE64,
  KEY_BYTES,
  kvSnapshot,
  mintToken,
  newApp,
  OTHER_KEY_BYTES,
  originCalls,
  seedApp,
  TOKEN_REQUIRED,
  uniqueAppId,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

const OTHER_KEY_BASE64 = btoa(String.fromCharCode(...OTHER_KEY_BYTES));
const UNAUTHORIZED = { code: "UNAUTHORIZED", status: "Admin credential missing or wrong" };

async function fingerprintOf(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `sha256:${[...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function put(appId: string, body: unknown): Promise<Response> {
  return admin(`/apps/${appId}`, { method: "PUT", body: typeof body === "string" ? body : JSON.stringify(body) });
}

function patch(appId: string, body: unknown): Promise<Response> {
  return admin(`/apps/${appId}`, { method: "PATCH", body: JSON.stringify(body) });
}

describe("admin credential", () => {
  it("answers 503 ADMIN_DISABLED when ADMIN_TOKEN is unset or shorter than 32 characters", async () => {
    for (const value of [undefined, "short-token", "x".repeat(31)]) {
      const res = await gatewayWith({ ADMIN_TOKEN: value }, "/admin/apps", {
        headers: { authorization: `Bearer ${value ?? ""}` },
      });
      await expectRejected(res, 503, { code: "ADMIN_DISABLED", status: "Admin API disabled" });
    }
  });

  it.each([
    ["no credential", {}],
    ["a wrong credential of the same length", { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}X` }],
    ["a prefix of the credential", { authorization: `Bearer ${ADMIN_TOKEN.slice(0, 10)}` }],
    ["the credential with more after it", { authorization: `Bearer ${ADMIN_TOKEN}x` }],
    ["another scheme", { authorization: `Basic ${ADMIN_TOKEN}` }],
    ["two credentials", { authorization: `Bearer ${ADMIN_TOKEN}, Bearer ${ADMIN_TOKEN}` }],
  ])("answers 401 UNAUTHORIZED with the admin challenge to %s", async (_, headers) => {
    const res = await gateway("/admin/apps", { headers });
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="edge-authenticator-admin"');
    await expectRejected(res, 401, UNAUTHORIZED);
  });

  it("answers 401 to a credential in the query or a cookie", async () => {
    await expectRejected(await gateway(`/admin/apps?token=${ADMIN_TOKEN}`), 401, UNAUTHORIZED);
    await expectRejected(
      await gateway("/admin/apps", { headers: { cookie: `token=${ADMIN_TOKEN}` } }),
      401,
      UNAUTHORIZED,
    );
  });

  it("answers 401 to an app token", async () => {
    const appId = uniqueAppId();
    await put(appId, { jwtEnabled: true, secret: KEY_BASE64 });
    const token = await mintToken(claimsFor(appId));
    await expectRejected(await gateway(`/admin/apps/${appId}`, withToken(token)), 401, UNAUTHORIZED);
  });

  it("checks the credential before routing: unknown admin paths are 401, then 404", async () => {
    await expectRejected(await gateway("/admin/nothing/here"), 401, UNAUTHORIZED);
    await expectRejected(await admin("/nothing/here"), 404, { code: "NOT_FOUND", status: "Not found" });
    // The prefix itself is the console's address: it redirects to the page (console.test.ts).
    expect((await admin("", { redirect: "manual" })).status).toBe(308);
    await expectRejected(await admin("/apps", { method: "POST", body: "{}" }), 405, {
      code: "METHOD_NOT_ALLOWED",
      status: "Method not allowed",
    });
  });

  it("never forwards an admin path that looks like an SDK route, even with valid tokens", async () => {
    const appId = uniqueAppId();
    await put(appId, { jwtEnabled: false });
    const res = await admin(`/app/${appId}/x`);
    await expectRejected(res, 404, { code: "NOT_FOUND", status: "Not found" });
  });

  it.each(["/Admin/apps", "/%61dmin/apps", "//admin/apps", "/ADMIN/apps/X"])(
    "does not open the admin API to %s, and never forwards it",
    async (path) => {
      const res = await gateway(path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ code: "NOT_FOUND", status: "Not found" });
      expect(originCalls).toHaveLength(0);
    },
  );

  it("does not let the admin token open an SDK route", async () => {
    const appId = uniqueAppId();
    await put(appId, { jwtEnabled: true, secret: KEY_BASE64 });
    const res = await gateway(`/app/${appId}/x`, withToken(ADMIN_TOKEN));
    await expectRejected(res, 401, invalid("MALFORMED"));
  });
});

describe("PUT, GET, PATCH, DELETE /admin/apps/{appId}", () => {
  it("creates (201) then replaces (200), keeping createdAt and moving updatedAt", async () => {
    const appId = uniqueAppId();
    const created = await put(appId, { jwtEnabled: true, secret: KEY_BASE64 });
    expect(created.status).toBe(201);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const view = (await created.json()) as Record<string, unknown>;
    expect(view).toEqual({
      appId,
      jwtEnabled: true,
      // The view shows the mode jwtEnabled maps to.
      enforcement: "enforce",
      secretEncoding: "base64",
      secretFingerprint: await fingerprintOf(KEY_BYTES),
      clockToleranceSeconds: 60,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: view.createdAt,
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const replaced = await put(appId, { jwtEnabled: true, secret: OTHER_KEY_BASE64, clockToleranceSeconds: 5 });
    expect(replaced.status).toBe(200);
    const after = (await replaced.json()) as Record<string, unknown>;
    expect(after.createdAt).toBe(view.createdAt);
    expect(after.updatedAt).not.toBe(view.updatedAt);
    expect(after.secretFingerprint).toBe(await fingerprintOf(OTHER_KEY_BYTES));
    expect(after.clockToleranceSeconds).toBe(5);
    const read = await admin(`/apps/${appId}`);
    expect(await read.json()).toEqual(after);
  });

  it("never shows the secret, and fingerprints a utf8 secret over its UTF-8 bytes", async () => {
    const appId = uniqueAppId();
    const res = await put(appId, { jwtEnabled: true, secret: KEY_BASE64, secretEncoding: "utf8" });
    const text = await res.text();
    expect(text).not.toContain(KEY_BASE64);
    expect(JSON.parse(text).secretFingerprint).toBe(await fingerprintOf(new TextEncoder().encode(KEY_BASE64)));
    expect(await (await admin(`/apps/${appId}`)).text()).not.toContain(KEY_BASE64);
  });

  it("shows a null fingerprint for an app without a secret", async () => {
    const appId = uniqueAppId();
    const res = await put(appId, { jwtEnabled: false });
    expect(await res.json()).toMatchObject({ jwtEnabled: false, secretFingerprint: null });
  });

  it("patches some fields and validates the merged record", async () => {
    const appId = uniqueAppId();
    await put(appId, { jwtEnabled: true, secret: KEY_BASE64 });
    const res = await patch(appId, { clockToleranceSeconds: 0 });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ jwtEnabled: true, clockToleranceSeconds: 0 });
    const before = await kvSnapshot();
    // The stored base64 secret is 44 characters of text: as utf8 it is a valid key too, so
    // switching the encoding alone is accepted; dropping JWT's secret is not possible by PATCH.
    const bad = await patch(appId, { secretEncoding: "hex" });
    await expectRejected(bad, 400, {
      code: "BAD_REQUEST",
      status: "Invalid request",
      errors: [{ path: "secretEncoding", message: 'must be "base64" or "utf8"' }],
    });
    expect(await kvSnapshot()).toEqual(before);
  });

  it("validates the merged record: PATCH cannot turn JWT on for an app without a secret", async () => {
    const appId = uniqueAppId();
    await put(appId, { jwtEnabled: false });
    const before = await kvSnapshot();
    await expectRejected(await patch(appId, { jwtEnabled: true }), 400, {
      code: "BAD_REQUEST",
      status: "Invalid request",
      errors: [{ path: "secret", message: "is required when jwtEnabled is true (or give keys or jwksUri)" }],
    });
    expect(await kvSnapshot()).toEqual(before);
  });

  it("answers 413 to a body over 64 KiB and 400 to one that is not UTF-8, writing nothing", async () => {
    const appId = uniqueAppId();
    const before = await kvSnapshot();
    const big = JSON.stringify({ jwtEnabled: false, pad: "x".repeat(70_000) });
    await expectRejected(await put(appId, big), 413, {
      code: "PAYLOAD_TOO_LARGE",
      status: "Request body too large to inspect",
    });
    const latin1 = admin(`/apps/${appId}`, { method: "PUT", body: Uint8Array.of(0x7b, 0xff, 0x7d) });
    await expectRejected(await latin1, 400, {
      code: "BAD_REQUEST",
      status: "Invalid request",
      errors: [{ path: "", message: "must be valid JSON" }],
    });
    expect(await kvSnapshot()).toEqual(before);
  });

  it("answers 404 APP_NOT_FOUND to PATCH, GET and DELETE of an unknown app", async () => {
    const appId = uniqueAppId("NONE");
    const body = { code: "APP_NOT_FOUND", status: "App not found" };
    await expectRejected(await patch(appId, { jwtEnabled: false }), 404, body);
    await expectRejected(await admin(`/apps/${appId}`), 404, body);
    await expectRejected(await admin(`/apps/${appId}`, { method: "DELETE" }), 404, body);
    expect(await env.APPS.get(`app:${appId}`)).toBeNull();
  });

  it("deletes (204): then GET is 404 and the app's SDK requests are 404 APP_NOT_FOUND", async () => {
    const appId = uniqueAppId();
    await put(appId, { jwtEnabled: true, secret: KEY_BASE64 });
    const token = await mintToken(claimsFor(appId));
    expect((await gateway(`/app/${appId}/x`, withToken(token))).status).toBe(200);
    originCalls.length = 0;
    const deleted = await admin(`/apps/${appId}`, { method: "DELETE" });
    expect(deleted.status).toBe(204);
    expect(deleted.headers.get("cache-control")).toBe("no-store");
    expect((await admin(`/apps/${appId}`)).status).toBe(404);
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(token)), 404, {
      code: "APP_NOT_FOUND",
      status: "App not found",
    });
  });

  it("answers 405 to another method on an app", async () => {
    const res = await admin(`/apps/${uniqueAppId()}`, { method: "POST", body: "{}" });
    await expectRejected(res, 405, { code: "METHOD_NOT_ALLOWED", status: "Method not allowed" });
  });
});

describe("a write applies at once in this isolate", () => {
  it("rotating the secret: the old key's tokens fail with 38 INVALID_SIGNATURE, the new key's pass", async () => {
    const appId = uniqueAppId();
    await put(appId, { jwtEnabled: true, secret: KEY_BASE64 });
    const oldToken = await mintToken(claimsFor(appId));
    expect((await gateway(`/app/${appId}/x`, withToken(oldToken))).status).toBe(200); // now cached
    await put(appId, { jwtEnabled: true, secret: OTHER_KEY_BASE64 });
    originCalls.length = 0;
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(oldToken)), 401, invalid("INVALID_SIGNATURE"));
    const newToken = await mintToken(claimsFor(appId), OTHER_KEY_BYTES);
    expect((await gateway(`/app/${appId}/x`, withToken(newToken))).status).toBe(200);
  });

  it("switching jwtEnabled off lets requests through without a token, and on again stops them", async () => {
    const appId = uniqueAppId();
    await put(appId, { jwtEnabled: true, secret: KEY_BASE64 });
    expect((await gateway(`/app/${appId}/x`)).status).toBe(401);
    await patch(appId, { jwtEnabled: false });
    expect((await gateway(`/app/${appId}/x`)).status).toBe(200);
    await patch(appId, { jwtEnabled: true });
    originCalls.length = 0;
    await expectRejected(await gateway(`/app/${appId}/x`), 401, TOKEN_REQUIRED);
  });
});

describe("GET /admin/apps", () => {
  it("walks every page through KV's cursor, each app once, in appId order", async () => {
    const prefix = `LIST${Date.now().toString(36)}`;
    const ids = Array.from({ length: 25 }, (_, i) => `${prefix}-${String(i).padStart(2, "0")}`);
    for (const appId of ids) await put(appId, { jwtEnabled: false });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await admin(`/apps?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { apps: { appId: string }[]; cursor: string | null };
      expect(page.apps.length).toBeLessThanOrEqual(7);
      seen.push(...page.apps.map((view) => view.appId));
      cursor = page.cursor;
      pages += 1;
    } while (cursor !== null && pages < 1000);
    const ours = seen.filter((appId) => appId.startsWith(prefix));
    expect(ours).toEqual(ids);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort());
  });

  it("asks KV for 100 keys when no limit is given", async () => {
    const list = vi.spyOn(env.APPS, "list");
    expect((await admin("/apps")).status).toBe(200);
    expect(list).toHaveBeenCalledWith({ prefix: "app:", limit: 100 });
    list.mockRestore();
  });

  it("lists views from KV metadata with one list call and no reads", async () => {
    const appId = uniqueAppId("META");
    await put(appId, { jwtEnabled: true, secret: KEY_BASE64 });
    const get = vi.spyOn(env.APPS, "get");
    const list = vi.spyOn(env.APPS, "list");
    const res = await admin("/apps?limit=1000");
    const page = (await res.json()) as { apps: Record<string, unknown>[] };
    expect(page.apps.find((view) => view.appId === appId)).toMatchObject({
      jwtEnabled: true,
      secretFingerprint: await fingerprintOf(KEY_BYTES),
    });
    expect(list).toHaveBeenCalledTimes(1);
    expect(get).not.toHaveBeenCalled();
    expect(JSON.stringify(page)).not.toContain(KEY_BASE64);
    get.mockRestore();
    list.mockRestore();
  });

  it("answers 503 when KV fails, with a cursor it issued or without one", async () => {
    await newApp();
    await newApp();
    const { cursor } = (await (await admin("/apps?limit=1")).json()) as { cursor: string };
    const list = vi.spyOn(env.APPS, "list").mockRejectedValue(new Error("KV list failed: 400"));
    const bad = await admin(`/apps?cursor=${cursor}`);
    const down = await admin("/apps");
    list.mockRestore();
    // The cursor is sealed, so it is one this API issued: KV's failure is a fault, not a bad request.
    await expectRejected(bad, 503, { code: "CONFIG_UNAVAILABLE", status: "App configuration unavailable" });
    await expectRejected(down, 503, { code: "CONFIG_UNAVAILABLE", status: "App configuration unavailable" });
  });

  it.each([
    ["limit=0", "limit", "must be a whole number from 1 to 1000"],
    ["limit=1001", "limit", "must be a whole number from 1 to 1000"],
    ["limit=ten", "limit", "must be a whole number from 1 to 1000"],
    ["limit=1&limit=2", "limit", "must be given once"],
    ["cursor=", "cursor", "is not a cursor from this list"],
    ["cursor=%00", "cursor", "is not a cursor from this list"],
    ["page=2", "page", "is not a list parameter"],
  ])("answers 400 to %s", async (query, path, message) => {
    await expectRejected(await admin(`/apps?${query}`), 400, {
      code: "BAD_REQUEST",
      status: "Invalid request",
      errors: [{ path, message }],
    });
  });
});

describe("validation: a rejected write changes nothing", () => {
  const short = (n: number) => btoa(String.fromCharCode(...Array.from({ length: n }, (_, i) => i + 1)));

  it.each([
    ["a secret of 19 bytes", { jwtEnabled: true, secret: short(19) }, "secret", "key must be at least 32 bytes"],
    ["a secret of 31 bytes", { jwtEnabled: true, secret: short(31) }, "secret", "key must be at least 32 bytes"],
    [
      "one byte repeated",
      { jwtEnabled: true, secret: btoa("\u0007".repeat(32)) },
      "secret",
      "key must not be one byte repeated",
    ],
    [
      "a secret that is not base64",
      { jwtEnabled: true, secret: "not base64 at all, with spaces and more!" },
      "secret",
      'base64 secret must not contain whitespace or line breaks (if this is a passphrase or hex string, set secretEncoding: "utf8")',
    ],
    [
      "a PEM block",
      {
        jwtEnabled: true,
        secret: "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----",
        secretEncoding: "utf8",
      },
      "secret",
      "secret must be a shared secret, not a PEM block or JSON",
    ],
    [
      "JSON",
      { jwtEnabled: true, secret: '{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"}', secretEncoding: "utf8" },
      "secret",
      "secret must be a shared secret, not a PEM block or JSON",
    ],
    [
      "leading whitespace in a utf8 secret",
      { jwtEnabled: true, secret: ` ${KEY_BASE64}`, secretEncoding: "utf8" },
      "secret",
      "utf8 secret must not have leading or trailing whitespace",
    ],
    [
      "trailing whitespace in a utf8 secret",
      { jwtEnabled: true, secret: `${KEY_BASE64}\n`, secretEncoding: "utf8" },
      "secret",
      "utf8 secret must not have leading or trailing whitespace",
    ],
    [
      "no secret while JWT is on",
      { jwtEnabled: true },
      "secret",
      "is required when jwtEnabled is true (or give keys or jwksUri)",
    ],
    ["an unknown field", { jwtEnabled: false, mode: "enforce" }, "mode", "is not a writable field"],
    [
      "a read-only field",
      { jwtEnabled: false, createdAt: "2020-01-01T00:00:00Z" },
      "createdAt",
      "is not a writable field",
    ],
    ["null", { jwtEnabled: null }, "jwtEnabled", "must be a boolean"],
    ["jwtEnabled as text", { jwtEnabled: "true" }, "jwtEnabled", "must be a boolean"],
    ["no jwtEnabled", { secret: KEY_BASE64 }, "jwtEnabled", "is required"],
    ["a numeric secret", { jwtEnabled: true, secret: 42 }, "secret", "must be a string"],
    [
      "tolerance -1",
      { jwtEnabled: false, clockToleranceSeconds: -1 },
      "clockToleranceSeconds",
      "must be from 0 to 300",
    ],
    [
      "tolerance 301",
      { jwtEnabled: false, clockToleranceSeconds: 301 },
      "clockToleranceSeconds",
      "must be from 0 to 300",
    ],
    [
      "tolerance 1.5",
      { jwtEnabled: false, clockToleranceSeconds: 1.5 },
      "clockToleranceSeconds",
      "must be a whole number",
    ],
    ["an array body", [], "", "must be a JSON object of writable fields"],
  ])("answers 400 to %s", async (_, body, path, message) => {
    const appId = uniqueAppId();
    await put(appId, { jwtEnabled: true, secret: KEY_BASE64 });
    const before = await kvSnapshot();
    const res = await put(appId, body);
    await expectRejected(res, 400, { code: "BAD_REQUEST", status: "Invalid request", errors: [{ path, message }] });
    expect(await kvSnapshot()).toEqual(before);
    const secret = (body as { secret?: unknown }).secret;
    if (typeof secret === "string") expect(JSON.stringify(before)).not.toContain(`"${secret}"`);
  });

  it.each([
    ["not JSON", "{jwtEnabled:true}", "", "must be valid JSON"],
    ["a field named twice", '{"jwtEnabled":false,"jwtEnabled":true}', "", "must not name a field twice"],
  ])("answers 400 to a body that is %s", async (_, body, path, message) => {
    const appId = uniqueAppId();
    const before = await kvSnapshot();
    await expectRejected(await put(appId, body), 400, {
      code: "BAD_REQUEST",
      status: "Invalid request",
      errors: [{ path, message }],
    });
    expect(await kvSnapshot()).toEqual(before);
  });

  it.each(["-bad", "a".repeat(129), "bad~id", "a%2Fb", "%41P1"])("answers 400 to the appId %j", async (appId) => {
    const before = await kvSnapshot();
    await expectRejected(await put(appId, { jwtEnabled: false }), 400, {
      code: "BAD_REQUEST",
      status: "Invalid request",
      errors: [{ path: "appId", message: "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$" }],
    });
    expect(await kvSnapshot()).toEqual(before);
  });

  it("reports every field error at once", async () => {
    const res = await put(uniqueAppId(), { jwtEnabled: "yes", clockToleranceSeconds: 999, extra: true });
    const body = (await res.json()) as { errors: { path: string }[] };
    expect(body.errors.map((error) => error.path).sort()).toEqual(["clockToleranceSeconds", "extra", "jwtEnabled"]);
  });
});

describe("audit", () => {
  it("writes one line per write with action, appId and fingerprint, never the secret", async () => {
    const appId = uniqueAppId();
    const logs = captureLogs();
    try {
      await put(appId, { jwtEnabled: true, secret: KEY_BASE64 });
      await put(appId, { jwtEnabled: true, secret: OTHER_KEY_BASE64 });
      await patch(appId, { jwtEnabled: false });
      await admin(`/apps/${appId}`, { method: "DELETE" });
      await put(appId, { jwtEnabled: true, secret: "too-short" });
    } finally {
      logs.restore();
    }
    const audit = logs.lines().filter((line) => line.event === "admin_write");
    expect(audit).toEqual([
      {
        level: "info",
        event: "admin_write",
        action: "create",
        appId,
        secretFingerprint: await fingerprintOf(KEY_BYTES),
      },
      {
        level: "info",
        event: "admin_write",
        action: "replace",
        appId,
        secretFingerprint: await fingerprintOf(OTHER_KEY_BYTES),
      },
      {
        level: "info",
        event: "admin_write",
        action: "patch",
        appId,
        secretFingerprint: await fingerprintOf(OTHER_KEY_BYTES),
      },
      { level: "info", event: "admin_write", action: "delete", appId, secretFingerprint: null },
    ]);
    expect(logs.text()).not.toContain(KEY_BASE64);
    expect(logs.text()).not.toContain(OTHER_KEY_BASE64);
    expect(logs.text()).not.toContain("too-short");
  });
});

describe("a stored record that breaks the rules (written to KV by hand)", () => {
  it("reads as 200 with the view of what is valid and a problem per broken field; the gateway answers 503", async () => {
    const appId = uniqueAppId();
    await seedApp(appId, { jwtEnabled: true, secret: KEY_BASE64, clockToleranceSeconds: 999, colour: "blue" });
    const res = await admin(`/apps/${appId}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      appId,
      jwtEnabled: true,
      enforcement: "enforce",
      secretEncoding: "base64",
      secretFingerprint: await fingerprintOf(KEY_BYTES),
      clockToleranceSeconds: 60,
      createdAt: null,
      updatedAt: null,
      problems: [
        { path: "colour", message: "is not a field of an app record" },
        { path: "clockToleranceSeconds", message: "must be from 0 to 300" },
      ],
    });
    expect(text).not.toContain(KEY_BASE64);
    const token = await mintToken(claimsFor(appId));
    await expectRejected(await gateway(`/app/${appId}/x`, withToken(token)), 503, {
      code: "CONFIG_UNAVAILABLE",
      status: "App configuration unavailable",
    });
  });

  it("names a key that does not import, and a record that is not JSON", async () => {
    const keyApp = uniqueAppId();
    await seedApp(keyApp, { jwtEnabled: true, keys: [{ kid: "k", alg: "ES256", publicKey: "not a key" }] });
    expect(await (await admin(`/apps/${keyApp}`)).json()).toMatchObject({
      keys: [{ kid: "k", alg: "ES256", fingerprint: null }],
      problems: [{ path: "keys.0.publicKey", message: expect.stringContaining("SPKI public key") }],
    });
    const textApp = uniqueAppId();
    await seedApp(textApp, "{not json");
    expect(await (await admin(`/apps/${textApp}`)).json()).toMatchObject({
      appId: textApp,
      problems: [{ path: "", message: "is not JSON" }],
    });
  });

  it.each([
    ["an object", {}],
    ["a list with null", [null]],
    ["a number", 5],
    ["a string", "abc"],
  ])("answers 400 naming keys to a key change when the stored keys are %s, and writes nothing", async (_, keys) => {
    const appId = uniqueAppId();
    await seedApp(appId, { jwtEnabled: true, secret: KEY_BASE64, keys });
    const before = await kvSnapshot();
    const key = { kid: "n", alg: "HS256", secret: btoa(String.fromCharCode(...OTHER_KEY_BYTES)) };
    for (const res of [
      await admin(`/apps/${appId}/keys`, { method: "POST", body: JSON.stringify(key) }),
      await admin(`/apps/${appId}/keys/n`, { method: "DELETE" }),
    ]) {
      expect(res.status).toBe(400);
      const { errors } = (await res.json()) as { errors: { path: string }[] };
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((error) => error.path === "keys" || error.path.startsWith("keys."))).toBe(true);
    }
    expect(await kvSnapshot()).toEqual(before);
  });

  it("lists with its problems when it has no metadata", async () => {
    const appId = uniqueAppId();
    await seedApp(appId, { jwtEnabled: true, secret: KEY_BASE64, clockToleranceSeconds: 999 });
    const { apps } = (await (await admin("/apps?limit=1000")).json()) as { apps: { appId: string }[] };
    expect(apps.find((view) => view.appId === appId)).toMatchObject({
      problems: [{ path: "clockToleranceSeconds", message: "must be from 0 to 300" }],
    });
  });

  it("can be fixed with PATCH, which validates the merged record, or replaced with PUT", async () => {
    const appId = uniqueAppId();
    await seedApp(appId, { jwtEnabled: true, secret: KEY_BASE64, clockToleranceSeconds: 999 });
    const still = await patch(appId, { enforcement: "enforce" });
    expect(still.status).toBe(400);
    expect(await still.json()).toMatchObject({ errors: [{ path: "clockToleranceSeconds" }] });
    const fixed = await patch(appId, { clockToleranceSeconds: 30 });
    expect(fixed.status).toBe(200);
    expect(await (await admin(`/apps/${appId}`)).json()).not.toHaveProperty("problems");
    expect((await gateway(`/app/${appId}/x`, withToken(await mintToken(claimsFor(appId))))).status).toBe(200);
  });
});
