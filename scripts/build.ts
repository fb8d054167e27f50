/**
 * npm run build: the packages app teams import, into dist/ (git-ignored, and all that `npm pack`
 * ships besides package.json and the README):
 *
 *   dist/client.js   edge-authenticator/client, one ESM file, no imports (es2020: React Native)
 *   dist/issuer.js   edge-authenticator/issuer, one ESM file that imports jose
 *   dist/types/      declarations by tsc (tsconfig.build.json), imports rewritten to `.js`
 *
 * package.json `exports` points each subpath at its file and its declarations.
 */

import { execFile } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST = join(ROOT, "dist");
const TSC = join(ROOT, "node_modules/.bin/tsc");

/** The entry points, what each may leave as an import, and the oldest JavaScript it must run on. */
const PACKAGES = [
  { name: "client", entry: "src/client/index.ts", external: [], target: "es2020" },
  { name: "issuer", entry: "src/issuer/index.ts", external: ["jose"], target: "es2022" },
] as const;

/**
 * Declarations keep the source's `./x.ts` specifiers; TypeScript before 5.x (and some tools)
 * resolve only `./x.js` to `./x.d.ts`, so they are rewritten.
 */
function rewriteSpecifiers(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".d.ts")) continue;
    const path = join(entry.parentPath, entry.name);
    const text = readFileSync(path, "utf8");
    writeFileSync(path, text.replace(/(["'])(\.{1,2}\/[^"']*?)\.ts\1/g, "$1$2.js$1"));
  }
}

async function main(): Promise<void> {
  rmSync(DIST, { recursive: true, force: true });
  for (const { name, entry, external, target } of PACKAGES) {
    await build({
      entryPoints: { [name]: join(ROOT, entry) },
      outdir: DIST,
      bundle: true,
      format: "esm",
      platform: "neutral",
      target,
      external: [...external],
      logLevel: "warning",
    });
  }
  await promisify(execFile)(TSC, ["-p", join(ROOT, "tsconfig.build.json")], { cwd: ROOT });
  rewriteSpecifiers(join(DIST, "types"));
}

main().catch((error: unknown) => {
  const output = error as { stdout?: string; stderr?: string };
  console.error(`build: ${output.stdout ?? ""}${output.stderr ?? ""}${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
