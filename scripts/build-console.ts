/**
 * npm run build:console: the admin console from console/src into console/dist, which is committed
 * (the Worker serves it as static assets, `[assets]` in wrangler.toml, so a deploy needs no build
 * step). `npm test` rebuilds into a temporary folder and fails when console/dist differs
 * (test/node/console-dist.ts), so the committed files are always these sources' build.
 *
 *   console/dist/index.html   the page, as written
 *   console/dist/console.js   console/src/console.ts and what it imports, one minified ES module
 *   console/dist/console.css  console/src/console.css, minified
 *   console/dist/openapi.json the admin API's OpenAPI 3.1 document (scripts/lib/openapi.ts),
 *                             served at {ADMIN_PREFIX}/openapi.json with the admin credential
 *
 * Usage: node scripts/build-console.ts [--outdir <dir>] (default console/dist).
 */

import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { openApiDocument } from "./lib/openapi.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SRC = join(ROOT, "console/src");

/** Browsers the console supports: those with `<dialog>`, ES2022 and `:focus-visible` (2022 on). */
const TARGET = ["chrome111", "firefox111", "safari16.4", "edge111"];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { outdir: { type: "string" } } });
  const outdir = resolve(values.outdir ?? join(ROOT, "console/dist"));
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [
      { in: join(SRC, "console.ts"), out: "console" },
      { in: join(SRC, "console.css"), out: "console" },
    ],
    outdir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: TARGET,
    minify: true,
    legalComments: "none",
    charset: "utf8",
    logLevel: "warning",
  });
  copyFileSync(join(SRC, "index.html"), join(outdir, "index.html"));
  writeFileSync(join(outdir, "openapi.json"), `${JSON.stringify(openApiDocument(), null, 2)}\n`);
}

main().catch((error: unknown) => {
  console.error(`build-console: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
