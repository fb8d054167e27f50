// wrangler.toml and worker-configuration.d.ts: every environment bundles offline (`wrangler deploy
// --dry-run`), as committed and with every commented example switched on; the top level binds APPS,
// the console's ASSETS and the metrics bindings and nothing else, every environment binds its own
// and inherits the assets; production
// answers only on its routes; the generated types are fresh and do not depend on a local .dev.vars.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify, stripVTControlCharacters } from "node:util";
import { unstable_readConfig } from "wrangler";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const CONFIG = join(ROOT, "wrangler.toml");
const dir = mkdtempSync(join(tmpdir(), "wrangler-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function wrangler(args: string[]): Promise<string> {
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "true" };
  try {
    const { stdout, stderr } = await run(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env, maxBuffer: 1 << 26 });
    return stripVTControlCharacters(`${stdout}${stderr}`);
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    assert.fail(`wrangler ${args.join(" ")} failed:\n${stripVTControlCharacters(`${stdout}${stderr}`)}`);
  }
}

/** The bindings `wrangler deploy --dry-run` lists for `env` ("" is the top level). */
async function dryRunBindings(config: string, env: string): Promise<string[]> {
  const outdir = mkdtempSync(join(dir, "out-"));
  const output = await wrangler(["deploy", "--dry-run", "--config", config, "--env", env, "--outdir", outdir]);
  assert.match(output, /Total Upload: /);
  assert.doesNotMatch(output, /WARNING/);
  assert.ok(readFileSync(join(outdir, "index.js")).length > 0);
  return [...output.matchAll(/^env\.(\w+)/gm)].map((match) => match[1] as string).sort();
}

/** wrangler.toml with every commented example setting switched on (main and the assets directory made absolute). */
const EVERY_EXAMPLE_ON = join(dir, "wrangler.toml");
writeFileSync(
  EVERY_EXAMPLE_ON,
  readFileSync(CONFIG, "utf8")
    .replace(/^# ((?:routes|services|[A-Z][A-Z_]*) = | {2}\{ pattern = |\]$)/gm, "$1")
    .replace(/^main = "(.*)"$/m, (_, main: string) => `main = ${JSON.stringify(join(ROOT, main))}`)
    .replace(/^directory = "(.*)"$/m, (_, directory: string) => `directory = ${JSON.stringify(join(ROOT, directory))}`),
);

/** What every deployment binds: the records, the console, and the decision counts, analytics and throttling. */
const BINDINGS = ["APPS", "ASSETS", "DECISIONS", "FAILURE_LIMITER", "METRICS", "NONCES"];

const SETTINGS = [
  ...BINDINGS,
  "ADMIN_PREFIX",
  "ALLOW_HTTP_JWKS",
  "APP_ROUTES",
  "CONFIG_CACHE_TTL_SECONDS",
  "FORWARD_AUTHORIZATION",
  "MAX_BODY_BYTES",
  "METRICS_FLUSH_MS",
  "ORIGIN",
  "ORIGIN_TIMEOUT_MS",
  "ORIGIN_URL",
].sort();

describe("wrangler deploy --dry-run", { concurrency: true }, () => {
  it("the top level binds APPS, the console's ASSETS and the metrics bindings, nothing else (CONTRACT section 7)", async () => {
    assert.deepEqual(await dryRunBindings(CONFIG, ""), BINDINGS);
  });

  for (const env of ["staging", "production"]) {
    it(`--env ${env} binds its own APPS and metrics bindings and inherits the console's ASSETS`, async () => {
      assert.deepEqual(await dryRunBindings(CONFIG, env), BINDINGS);
    });

    it(`--env ${env} with every commented example on binds the origin and every variable`, async () => {
      assert.deepEqual(await dryRunBindings(EVERY_EXAMPLE_ON, env), SETTINGS);
    });
  }
});

describe("environments", () => {
  const read = (env: string, config = CONFIG) => unstable_readConfig({ config, env }, { hideWarnings: true });

  it("production answers only on its routes: no workers.dev URL, no preview URLs", () => {
    const production = read("production");
    assert.equal(production.workers_dev, false);
    assert.equal(production.preview_urls, false);
  });

  it("each environment has its own APPS binding, vars and secrets table (none is inherited)", () => {
    for (const env of ["staging", "production"]) {
      const config = read(env);
      assert.deepEqual(
        config.kv_namespaces.map((namespace) => namespace.binding),
        ["APPS"],
      );
      assert.ok(config.secrets, `[env.${env}.secrets] keeps wrangler types from reading .dev.vars`);
    }
  });

  it("every environment serves the console from console/dist, the Worker first on every request", () => {
    for (const env of ["", "staging", "production"]) {
      const { assets } = read(env);
      assert.equal(assets?.binding, "ASSETS");
      assert.equal(assets?.directory, "./console/dist");
      assert.equal(assets?.run_worker_first, true, "no asset may be answered outside the admin prefix");
    }
  });

  it("the commented routes, switched on, are the SDK route and the admin route", () => {
    for (const env of ["staging", "production"]) {
      const routes = read(env, EVERY_EXAMPLE_ON).routes as { pattern: string }[];
      assert.deepEqual(
        routes.map((route) => route.pattern.replace(/^[^/]*/, "")),
        ["/api/v1/app/*", "/admin/*"],
      );
    }
  });
});

describe("worker-configuration.d.ts", () => {
  it("is what `npm run cf-typegen` generates, whatever local secret files hold", async () => {
    const secrets = join(dir, "secrets.env");
    writeFileSync(secrets, "ADMIN_TOKEN=local-admin-token\nORIGIN_SECRET=local-origin-secret\n");
    const output = await wrangler(["types", "--check", "--env-file", secrets]);
    assert.match(output, /are up to date/);
  });
});
