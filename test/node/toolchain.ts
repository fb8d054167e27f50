// The toolchain: a lockfile that `npm ci` installs on every platform and that `npm install` leaves
// as it is, and one wrangler, miniflare and workerd, so the tests run on the workerd that
// `wrangler dev` and `wrangler deploy` use.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { npm } from "../../scripts/lib/processes.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TOOLCHAIN = ["wrangler", "miniflare", "workerd"] as const;

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, LockEntry>;
};

/** The lockfile key `name` resolves to from the package at `from`, as Node looks up node_modules. */
function resolveInLock(from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const key = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (key in lock.packages) return key;
    if (!base) return undefined;
    const up = base.lastIndexOf("/node_modules/");
    base = up < 0 ? "" : base.slice(0, up);
  }
}

/** The directory of package `name` as Node resolves it from `fromDir`. */
function packageDir(fromDir: string, name: string): string {
  return realpathSync(dirname(createRequire(join(fromDir, "noop.js")).resolve(`${name}/package.json`)));
}

describe("package-lock.json", () => {
  it("lists every dependency of every package, the optional platform packages of every platform included", () => {
    const missing: string[] = [];
    for (const [key, entry] of Object.entries(lock.packages)) {
      const names = [
        ...Object.keys(entry.dependencies ?? {}),
        ...Object.keys(entry.optionalDependencies ?? {}),
        ...Object.keys(entry.peerDependencies ?? {}).filter((name) => !entry.peerDependenciesMeta?.[name]?.optional),
        ...(key === "" ? Object.keys(entry.devDependencies ?? {}) : []),
      ];
      for (const name of names) if (!resolveInLock(key, name)) missing.push(`${key || "(root)"} → ${name}`);
    }
    assert.deepEqual(missing, [], "run `npm install` and commit package-lock.json");
  });

  it("is accepted by npm ci, and npm install leaves it (and package.json) as it is", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lockfile-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    for (const file of ["package.json", "package-lock.json"]) copyFileSync(join(ROOT, file), join(dir, file));
    await npm(["ci", "--dry-run", "--ignore-scripts"], dir);
    await npm(["install", "--package-lock-only", "--ignore-scripts"], dir);
    for (const file of ["package.json", "package-lock.json"]) {
      assert.equal(
        readFileSync(join(dir, file), "utf8"),
        readFileSync(join(ROOT, file), "utf8"),
        `npm install rewrote ${file}`,
      );
    }
  });

  it("holds one version of wrangler, miniflare and workerd", () => {
    for (const name of TOOLCHAIN) {
      const copies = Object.keys(lock.packages).filter((key) => key.endsWith(`node_modules/${name}`));
      assert.deepEqual(copies, [`node_modules/${name}`], `${name}: one copy, at the top (package.json overrides)`);
    }
  });
});

describe("node_modules", () => {
  it("npm ls finds one version of wrangler, miniflare and workerd, and nothing invalid", async () => {
    const { stdout } = await npm(["ls", ...TOOLCHAIN, "--all", "--json"], ROOT);
    const versions = new Map<string, Set<string>>(TOOLCHAIN.map((name) => [name, new Set()]));
    type Node = { version?: string; dependencies?: Record<string, Node> };
    const walk = (node: Node) => {
      for (const [name, child] of Object.entries(node.dependencies ?? {})) {
        if (child.version) versions.get(name)?.add(child.version);
        walk(child);
      }
    };
    walk(JSON.parse(stdout) as Node);
    for (const name of TOOLCHAIN)
      assert.equal(versions.get(name)?.size, 1, `${name}: ${[...(versions.get(name) ?? [])]}`);
  });

  it("the vitest plugin runs the wrangler, miniflare and workerd that wrangler dev and deploy use", () => {
    const wrangler = packageDir(ROOT, "wrangler");
    const miniflare = packageDir(wrangler, "miniflare");
    const workerd = packageDir(wrangler, "workerd");
    const plugin = dirname(fileURLToPath(import.meta.resolve("@cloudflare/vitest-plugin")));
    assert.equal(packageDir(plugin, "wrangler"), wrangler);
    assert.equal(packageDir(plugin, "miniflare"), miniflare);
    assert.equal(packageDir(packageDir(plugin, "miniflare"), "workerd"), workerd);
    assert.equal(packageDir(miniflare, "workerd"), workerd);
    assert.equal(packageDir(ROOT, "miniflare"), miniflare);
  });
});
