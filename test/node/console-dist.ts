// console/dist is committed (the Worker serves it as static assets; a deploy runs no build), so it
// must be exactly what `npm run build:console` makes of console/src today: rebuilt into a
// temporary folder and compared file by file. Run by `npm test` (`node --test test/node/console-dist.ts`).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DIST = join(ROOT, "console/dist");
const fresh = mkdtempSync(join(tmpdir(), "console-dist-"));
after(() => rmSync(fresh, { recursive: true, force: true }));

describe("console/dist", () => {
  it("is the build of console/src: run `npm run build:console` and commit console/dist", async () => {
    await promisify(execFile)(process.execPath, [join(ROOT, "scripts/build-console.ts"), "--outdir", fresh], {
      cwd: ROOT,
    });
    const files = readdirSync(fresh).sort();
    assert.deepEqual(files, ["console.css", "console.js", "index.html", "openapi.json"]);
    assert.deepEqual(readdirSync(DIST).sort(), files, "console/dist holds exactly the built files");
    for (const file of files) {
      assert.ok(
        readFileSync(join(DIST, file)).equals(readFileSync(join(fresh, file))),
        `console/dist/${file} is stale: run npm run build:console`,
      );
    }
  });
});
