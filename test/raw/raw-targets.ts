/**
 * Raw request-targets against plain workerd (paths): `..`, `%2e%2e`, `\` and control
 * characters written on the wire, byte for byte. In-Worker tests cannot send these: `new
 * Request()` resolves dot segments and turns `\` into `/`, and so does `wrangler dev`'s entry
 * Worker. Here the bundle runs on workerd through Miniflare with a direct socket (no entry
 * Worker), requests go over a plain TCP socket, and the origin is a Node function that records
 * what reached it. Run by `npm test` (`node --test test/raw/raw-targets.ts`).
 */

import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { mintHs256 } from "../../bench/lib/mint.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const APP_ID = "RAW-APP";
const SECRET = "raw-target-test-secret-0123456789abcdef";

let mf: Miniflare;
let port = 0;
let token = "";
const received: string[] = [];

before(async () => {
  const bundle = await build({
    entryPoints: [`${ROOT}src/index.ts`],
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    // The runtime's own modules (the metrics Durable Object's base class) stay imports.
    external: ["cloudflare:*"],
    write: false,
    logLevel: "error",
  });
  mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      handleStructuredLogs() {},
      workers: [
        {
          name: "gateway",
          modules: true,
          script: bundle.outputFiles[0]?.text ?? "",
          compatibilityDate: "2026-11-01",
          kvNamespaces: { APPS: "apps" },
          serviceBindings: {
            ORIGIN: (request: Request) => {
              received.push(new URL(request.url).pathname);
              return new Response("from origin");
            },
          },
          unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
        },
      ],
    }),
  );
  await mf.ready;
  port = Number((await mf.unsafeGetDirectURL("gateway")).port);
  const kv = await mf.getKVNamespace("APPS", "gateway");
  await kv.put(`app:${APP_ID}`, JSON.stringify({ jwtEnabled: true, secret: SECRET, secretEncoding: "utf8" }));
  const now = Math.floor(Date.now() / 1000);
  token = mintHs256(SECRET, { appId: APP_ID, userId: "user-1", iat: now, exp: now + 3600 });
});

after(async () => {
  await mf?.dispose();
});

/** Sends one request with `target` written as is, and returns the status and body. */
function raw(target: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf("\r\n\r\n") + 4) });
    });
    socket.write(
      Buffer.concat([
        Buffer.from("GET "),
        typeof target === "string" ? Buffer.from(target, "latin1") : target,
        Buffer.from(` HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`),
      ]),
    );
  });
}

describe("raw request-targets on plain workerd", () => {
  it("forwards a plain SDK path as received (the control case)", async () => {
    received.length = 0;
    const res = await raw(`/api/v1/app/${APP_ID}/threads?userId=user-1`);
    assert.equal(res.status, 200);
    assert.ok(res.body.includes("from origin"));
    assert.deepEqual(received, [`/api/v1/app/${APP_ID}/threads`]);
  });

  const refused: [string, string][] = [
    ["a raw .. after the appId", `/app/${APP_ID}/../OTHER/x`],
    ["a raw .. climbing out of the route", `/app/${APP_ID}/../../admin/apps`],
    ["a raw . segment", `/app/${APP_ID}/./x`],
    ["%2e%2e", `/app/${APP_ID}/%2e%2e/OTHER/x`],
    ["%2E%2E in upper case", `/app/${APP_ID}/%2E%2E/x`],
    [".%2e", `/app/${APP_ID}/.%2e/x`],
    ["%2e.", `/app/${APP_ID}/%2e./x`],
    ["%2e", `/app/${APP_ID}/%2e/x`],
    ["a raw backslash", `/app/${APP_ID}/x\\..\\admin`],
    ["an encoded backslash", `/app/${APP_ID}/x%5C..%5Cadmin`],
    ["an encoded slash", `/app/${APP_ID}/x%2F..%2Fadmin`],
    ["an encoded slash in the appId", `/app/${APP_ID}%2F..%2FOTHER/x`],
    ["a double slash", `/app/${APP_ID}//x`],
    ["a leading double slash", `//app/${APP_ID}/x`],
    ["an encoded NUL", `/app/${APP_ID}/x%00.json`],
    ["an encoded CR LF", `/app/${APP_ID}/x%0d%0aX-Auth-User-Id:%20admin`],
    ["an encoded C1 control (NEL)", `/app/${APP_ID}/x%C2%85`],
    ["an overlong encoded slash", `/app/${APP_ID}/x%C0%AF..%C0%AFadmin`],
    ["a bad percent triplet", `/app/${APP_ID}/x%zz`],
  ];
  for (const [name, target] of refused) {
    it(`answers 400 to ${name}, and the origin receives nothing`, async () => {
      received.length = 0;
      const res = await raw(target);
      assert.equal(res.status, 400, `${target} answered ${res.status}: ${res.body}`);
      assert.equal((JSON.parse(res.body) as { code: string }).code, "BAD_REQUEST");
      assert.deepEqual(received, []);
    });
  }

  const notRoutes: [string, string][] = [
    ["a path whose dots would climb into the route", `/x/../app/${APP_ID}/y`],
    ["an upper-case APP", `/APP/${APP_ID}/x`],
    ["an encoded app segment", `/%61pp/${APP_ID}/x`],
  ];
  for (const [name, target] of notRoutes) {
    it(`never forwards ${name}`, async () => {
      received.length = 0;
      const res = await raw(target);
      assert.ok(res.status >= 400, `${target} answered ${res.status}`);
      assert.deepEqual(received, []);
    });
  }

  it("never forwards raw control characters in the target", async () => {
    for (const byte of [0x00, 0x01, 0x09, 0x7f]) {
      received.length = 0;
      const target = Buffer.concat([Buffer.from(`/app/${APP_ID}/x`), Buffer.from([byte]), Buffer.from("y")]);
      const res = await raw(target);
      assert.ok(res.status === 0 || res.status >= 400, `byte ${byte} answered ${res.status}`);
      assert.deepEqual(received, []);
    }
  });
});
