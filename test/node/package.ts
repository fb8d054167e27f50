// The packages app teams install, as they get them: `npm run build`, `npm pack`, and a scratch
// project that installs the tarball and imports `edge-authenticator/client` and
// `edge-authenticator/issuer` from Node (ESM and require), type-checks TypeScript against the
// shipped declarations, and holds the client to its size budget. The scratch project links the
// tarball's dependencies (jose, hono, valibot) to this project's node_modules, so the install runs
// offline, as every test here does.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { npm } from "../../scripts/lib/processes.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The client's budget (issue: "bundles to ≤ 4 KiB gzip"), minified as an app's bundler would. */
const CLIENT_GZIP_BUDGET_BYTES = 4096;

function node(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, args, { cwd });
}

const work = mkdtempSync(join(tmpdir(), "package-"));
const scratch = join(work, "scratch");
let packed: { filename: string; files: { path: string }[] };

before(async () => {
  await node([join(ROOT, "scripts/build.ts")], ROOT);
  const { stdout } = await npm(["pack", "--json", "--pack-destination", work], ROOT);
  [packed] = JSON.parse(stdout) as (typeof packed)[];
  mkdirSync(scratch);
  const linked = (name: string) => `file:${join(ROOT, "node_modules", name)}`;
  writeFileSync(
    join(scratch, "package.json"),
    JSON.stringify({
      name: "scratch-app",
      private: true,
      type: "module",
      dependencies: {
        "edge-authenticator": `file:${join(work, packed.filename)}`,
        jose: linked("jose"),
        hono: linked("hono"),
        valibot: linked("valibot"),
      },
    }),
  );
  await npm(["install", "--offline", "--ignore-scripts", "--cache", join(work, "npm-cache")], scratch);
});

after(() => rmSync(work, { recursive: true, force: true }));

describe("npm pack", () => {
  it("ships dist/ (bundles and declarations), package.json and the README; no source, tests or scripts", () => {
    const paths = packed.files.map((file) => file.path).sort();
    assert.deepEqual(
      paths.filter((path) => !path.startsWith("dist/types/")),
      ["README.md", "dist/client.js", "dist/issuer.js", "package.json"],
    );
    assert.ok(paths.includes("dist/types/client/index.d.ts") && paths.includes("dist/types/issuer/index.d.ts"));
    assert.deepEqual(
      paths.filter((path) => path.startsWith("dist/types/") && !path.endsWith(".d.ts")),
      [],
    );
  });

  it("the client imports nothing and bundles, minified, to at most 4 KiB gzip", async () => {
    const result = await build({
      entryPoints: [join(ROOT, "dist/client.js")],
      bundle: true,
      minify: true,
      format: "esm",
      platform: "neutral",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    assert.deepEqual(Object.keys(result.metafile.inputs), ["dist/client.js"]);
    const [output] = Object.values(result.metafile.outputs);
    assert.deepEqual(output?.imports, []);
    const gzipped = gzipSync(result.outputFiles[0]?.contents ?? new Uint8Array()).length;
    assert.ok(gzipped <= CLIENT_GZIP_BUDGET_BYTES, `client: ${gzipped} bytes gzip`);
    // Shipped unminified (readable in a debugger); even so it stays within the budget.
    assert.ok(gzipSync(readFileSync(join(ROOT, "dist/client.js"))).length <= CLIENT_GZIP_BUDGET_BYTES);
  });

  it("installs in a scratch project that imports both subpaths: mint, verify with jose, send through the client", async () => {
    writeFileSync(
      join(scratch, "main.js"),
      `import { AuthSuspendedError, createClient } from "edge-authenticator/client";
import { IssuerError, generateAppKey, mintToken } from "edge-authenticator/issuer";
import { importSPKI, jwtVerify } from "jose";

const generated = await generateAppKey("ES256", { kid: "k1" });
const token = await mintToken({ appId: "AP1", userId: "u-1", alg: "ES256", kid: "k1", key: generated.signingKey });
const { payload, protectedHeader } = await jwtVerify(token, await importSPKI(generated.registration.publicKey, "ES256"));
const sent = [];
const client = createClient({
  baseUrl: "https://gw.example/api/v1",
  appId: "AP1",
  getToken: async () => token,
  fetch: async (url, init) => {
    sent.push({ url, bearer: new Headers(init.headers).get("authorization") === "Bearer " + token });
    return new Response("{}", { status: 200 });
  },
});
const response = await client.fetch("/threads/7?limit=5");
const refused = await mintToken({ appId: "AP1", userId: "u-1", key: "short" }).catch((error) => error);
console.log(JSON.stringify({
  user: payload.userId,
  kid: protectedHeader.kid,
  status: response.status,
  sent,
  suspendedError: new AuthSuspendedError(10, undefined) instanceof Error,
  issuerError: refused instanceof IssuerError && refused.code,
}));
`,
    );
    const { stdout } = await node(["main.js"], scratch);
    assert.deepEqual(JSON.parse(stdout), {
      user: "u-1",
      kid: "k1",
      status: 200,
      // "auto" nonce mode asks the gateway once whether the app requires a nonce, without the token.
      sent: [
        { url: "https://gw.example/.well-known/edge-authenticator/apps/AP1/nonce", bearer: false },
        { url: "https://gw.example/api/v1/app/AP1/threads/7?limit=5", bearer: true },
      ],
      suspendedError: true,
      issuerError: "INVALID_KEY",
    });
  });

  it("loads with require() too (Node's require of ES modules), and exports no root entry", async () => {
    writeFileSync(
      join(scratch, "main.cjs"),
      `const client = require("edge-authenticator/client");
const issuer = require("edge-authenticator/issuer");
let root = "exported";
try { require("edge-authenticator"); } catch (error) { root = error.code; }
console.log(JSON.stringify([typeof client.createClient, typeof issuer.mintToken, root]));
`,
    );
    const { stdout } = await node(["main.cjs"], scratch);
    assert.deepEqual(JSON.parse(stdout), ["function", "function", "ERR_PACKAGE_PATH_NOT_EXPORTED"]);
  });

  for (const resolution of ["nodenext", "bundler"] as const) {
    it(`type-checks a TypeScript app against the shipped declarations (moduleResolution ${resolution})`, async () => {
      writeFileSync(
        join(scratch, "app.ts"),
        `import { type AuthError, AuthSuspendedError, type Client, createClient } from "edge-authenticator/client";
import { type GeneratedAppKey, generateAppKey, mintToken, type MintTokenOptions } from "edge-authenticator/issuer";

const key: GeneratedAppKey<"HS256"> = await generateAppKey("HS256");
const secret: string = key.registration.secret;
const options: MintTokenOptions = { appId: "AP1", customerId: "c-1", key: secret, expiresIn: "-5m" };
const token: string = await mintToken(options);
const client: Client = createClient({
  baseUrl: "https://gw.example/api/v1",
  appId: "AP1",
  getToken: async ({ reason }) => (reason === "initial" ? token : token),
  onAuthError: (error: AuthError) => void error.reason,
});
try {
  await client.fetch("/x", { method: "POST", body: "{}" });
} catch (error) {
  if (error instanceof AuthSuspendedError) void error.lastError?.code;
}
// @ts-expect-error: a token names its user
await mintToken({ appId: "AP1", key: secret });
`,
      );
      writeFileSync(
        join(scratch, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "es2022",
            lib: ["es2022", "dom"],
            module: resolution === "nodenext" ? "nodenext" : "esnext",
            moduleResolution: resolution,
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: [],
          },
          files: ["app.ts"],
        }),
      );
      await node([join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], scratch).catch(
        (error: { stdout?: string }) => assert.fail(error.stdout),
      );
    });
  }
});
