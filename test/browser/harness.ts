/**
 * What the browser tests and `npm run screenshots` share: the gateway under `wrangler dev` (the
 * committed wrangler.toml, so the console's files come from console/dist through the ASSETS
 * binding) in front of a tiny local origin, which also publishes a JWKS of one ES256 key (an
 * identity provider's keys, allowed over plain http by `ALLOW_HTTP_JWKS`), with a local KV in a
 * temporary folder; Debian's Chromium driven by playwright-core with a fresh profile; tokens
 * minted by `npm run token`'s script, or signed here with any claims; and axe-core run inside the
 * page.
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, createHmac, generateKeyPairSync, type JsonWebKey } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { freePort } from "../../scripts/lib/processes.ts";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
/** Debian's `chromium` package (`.ci/run` installs it): `npx playwright install` cannot download here. */
export const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Where the origin publishes its JWKS. */
const JWKS_PATH = "/.well-known/jwks.json";

/** The JWKS the origin publishes: one ES256 public key, made for this run. */
export interface TestJwks {
  /** `{origin}/.well-known/jwks.json`. */
  readonly url: string;
  readonly kid: string;
  /** The key's fingerprint as the admin API shows it: `sha256:` and 16 hex digits over its SPKI DER. */
  readonly fingerprint: string;
}

function makeJwk(kid: string): { jwk: JsonWebKey; fingerprint: string } {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const der = publicKey.export({ type: "spki", format: "der" });
  const fingerprint = `sha256:${createHash("sha256").update(der).digest("hex").slice(0, 16)}`;
  return { jwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" }, fingerprint };
}

/**
 * An origin that answers every request with JSON of what it received (as `npm start`'s demo origin
 * does), except `GET /.well-known/jwks.json`: a JWKS of `jwk`.
 */
async function startOrigin(jwk: JsonWebKey): Promise<{ url: string; server: Server }> {
  const server = createHttpServer((req, res) => {
    if (req.method === "GET" && req.url === JWKS_PATH) {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=600" });
      res.end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const [path, query = ""] = (req.url ?? "/").split("?", 2);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          method: req.method,
          path,
          query,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, server };
}

export interface Stack {
  /** `http://127.0.0.1:<port>`. */
  readonly base: string;
  /** The console's address: `{base}{adminPrefix}/`. */
  readonly consoleUrl: string;
  readonly adminPrefix: string;
  readonly adminToken: string;
  /** The JWKS the local origin publishes, for an app's `jwksUri`. */
  readonly jwks: TestJwks;
  /** What wrangler dev printed, for a failing test's message. */
  output(): string;
  close(): Promise<void>;
}

/** The gateway under `wrangler dev` with `ADMIN_PREFIX` (default `/admin`), in front of a local origin. */
export async function startStack(options: { adminPrefix?: string } = {}): Promise<Stack> {
  const adminPrefix = options.adminPrefix ?? "/admin";
  const adminToken = `browser-test-admin-token-${crypto.randomUUID()}`;
  const kid = "test-es256";
  const { jwk, fingerprint } = makeJwk(kid);
  const origin = await startOrigin(jwk);
  const jwks: TestJwks = { url: `${origin.url}${JWKS_PATH}`, kid, fingerprint };
  const persistTo = mkdtempSync(join(tmpdir(), "console-test-"));
  const port = await freePort();
  // Decisions reach their app's counts 50 ms after they are made (default 5 s), so a test can
  // read them at once; an app's jwksUri may be the origin's plain-http JWKS.
  const vars: Record<string, string> = {
    ADMIN_TOKEN: adminToken,
    ORIGIN_URL: origin.url,
    METRICS_FLUSH_MS: "50",
    ALLOW_HTTP_JWKS: "true",
  };
  if (options.adminPrefix !== undefined) vars.ADMIN_PREFIX = adminPrefix;
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persistTo];
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  args.push("--show-interactive-dev-session=false");
  const child: ChildProcess = spawn(WRANGLER, args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const close = async () => {
    if (child.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-child.pid, "SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    }
    await new Promise((resolve) => origin.server.close(resolve));
    rmSync(persistTo, { recursive: true, force: true });
  };
  const base = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 240; attempt++) {
    if (child.exitCode !== null) {
      await close();
      throw new Error(`wrangler dev exited:\n${output}`);
    }
    try {
      await fetch(`${base}/healthz`);
      return { base, consoleUrl: `${base}${adminPrefix}/`, adminPrefix, adminToken, jwks, output: () => output, close };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  await close();
  throw new Error(`wrangler dev did not start within 60 s:\n${output}`);
}

/** Chromium with a fresh profile (its own temporary user-data-dir), and a way to close both. */
export async function launchBrowser(
  options: { viewport?: { width: number; height: number } } = {},
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does)`);
  }
  const profile = mkdtempSync(join(tmpdir(), "console-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: options.viewport ?? { width: 1200, height: 900 },
    colorScheme: "light",
    reducedMotion: "reduce",
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A token for `user` of `appId`, signed with a base64 secret: `npm run -s token -- … --encoding base64`. */
export async function mintToken(appId: string, user: string, secret: string, extra: string[] = []): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      join(ROOT, "scripts/token.ts"),
      "--app",
      appId,
      "--user",
      user,
      "--secret",
      secret,
      "--encoding",
      "base64",
      "--exp",
      "15m",
      ...extra,
    ],
    { cwd: ROOT },
  );
  return stdout.trim();
}

/** An HS256 token of exactly `claims` (an `iat` in the past, say), signed with a base64 secret. */
export function signToken(claims: Record<string, unknown>, secret: string): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
  const signature = createHmac("sha256", Buffer.from(secret, "base64")).update(input).digest("base64url");
  return `${input}.${signature}`;
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * axe-core's serious and critical violations on the page as it is, one line each. axe is
 * evaluated through the DevTools protocol, which the page's CSP does not govern, so the page keeps
 * its policy while it is checked.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe;
    return (await axe.run()).violations;
  })) as AxeViolation[];
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map(
      (violation) =>
        `${violation.impact} ${violation.id} (${violation.help}): ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`,
    );
}
