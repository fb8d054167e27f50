/**
 * The direction of imports in src/ (STYLE.md): nothing imports upward. `lib/` imports nothing of
 * the project; `token/` only `lib/` and `errors`; `apps/` adds `log`; `gateway/` adds `apps/` and
 * `config`; `admin/` may use `gateway/` (the token debugger runs its verdict); `app.ts` wires them
 * and `index.ts` is the entry. The packages app teams import, `client/` and `issuer/`, take nothing
 * from the Worker's side: `client/` imports nothing of the project, `issuer/` only `lib/`. Run by
 * `npm test` (`node --test test/node/layers.ts`).
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

/** What each unit of src/ may import (besides packages): its own folder and these. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  lib: ["lib"],
  errors: [],
  log: [],
  config: [],
  token: ["token", "lib", "errors"],
  apps: ["apps", "token", "lib", "errors", "log"],
  metrics: ["metrics", "lib", "errors", "log"],
  nonces: ["nonces", "lib"],
  gateway: ["gateway", "metrics", "nonces", "apps", "token", "lib", "errors", "log", "config"],
  admin: ["admin", "gateway", "metrics", "nonces", "apps", "token", "lib", "errors", "log", "config"],
  app: ["admin", "gateway", "metrics", "nonces", "apps", "token", "lib", "errors", "log", "config"],
  index: ["app", "admin", "gateway", "metrics", "nonces", "apps", "token", "lib", "errors", "log", "config"],
  client: ["client"],
  issuer: ["issuer", "lib"],
};

/** The unit a src/ file belongs to: its top folder, or its name for a top-level file. */
function unitOf(file: string): string {
  const [first, second] = relative(SRC, file).split("/");
  return second === undefined ? (first as string).replace(/\.ts$/, "") : (first as string);
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)|(?:^|\n)\s*import\s*"([^"]+)"/g;

/** Every relative import of one file's text, resolved to a path. */
function importsOf(file: string, text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (specifier?.startsWith(".")) found.push(resolve(dirname(file), specifier));
  }
  return found;
}

/** `from → to` for each import that breaks the direction, among `files` (path → text). */
function violations(files: ReadonlyMap<string, string>): string[] {
  const found: string[] = [];
  for (const [file, text] of files) {
    const unit = unitOf(file);
    const allowed = ALLOWED[unit];
    if (allowed === undefined) {
      found.push(`${relative(SRC, file)}: unit ${unit} has no rule in test/node/layers.ts`);
      continue;
    }
    for (const target of importsOf(file, text)) {
      if (!target.startsWith(SRC)) {
        found.push(`${relative(SRC, file)} → ${target}: outside src/`);
        continue;
      }
      const to = unitOf(target);
      if (!allowed.includes(to)) found.push(`${relative(SRC, file)} → ${relative(SRC, target)} (${unit} → ${to})`);
    }
  }
  return found;
}

function sourceFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(path, readFileSync(path, "utf8"));
  }
  return files;
}

describe("import direction in src/", () => {
  it("has no import against the layers", () => {
    assert.deepEqual(violations(sourceFiles(SRC)), []);
  });

  it("catches an upward import, and lib importing the project", () => {
    const fake = new Map([
      [join(SRC, "token/x.ts"), 'import { AppStore } from "../apps/store.ts";\n'],
      [join(SRC, "lib/y.ts"), 'import type { GatewayError } from "../errors.ts";\n'],
      [
        join(SRC, "gateway/z.ts"),
        'export { x } from "../lib/raw-target.ts";\nconst m = await import("../admin/routes.ts");\n',
      ],
      [join(SRC, "apps/w.ts"), 'import "../gateway/sdk.ts";\n'],
      [join(SRC, "issuer/v.ts"), 'import { deriveKeyBytes } from "../apps/secret.ts";\n'],
      [join(SRC, "client/u.ts"), 'import { decodeBase64url } from "../lib/base64url.ts";\n'],
    ]);
    assert.deepEqual(violations(fake), [
      "token/x.ts → apps/store.ts (token → apps)",
      "lib/y.ts → errors.ts (lib → errors)",
      "gateway/z.ts → admin/routes.ts (gateway → admin)",
      "apps/w.ts → gateway/sdk.ts (apps → gateway)",
      "issuer/v.ts → apps/secret.ts (issuer → apps)",
      "client/u.ts → lib/base64url.ts (client → lib)",
    ]);
  });
});
