// The README and docs/ link to each other by file and heading; a renamed heading or a moved page
// must not leave a reader at a dead link. Checks every relative Markdown link and its `#anchor`
// (GitHub's heading slugs), and that the README stays an entry point: at most 200 lines, its two
// commands as they are.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PAGES = ["README.md", "bench/README.md", ...readdirSync(join(ROOT, "docs")).map((name) => `docs/${name}`)].filter(
  (path) => path.endsWith(".md"),
);

function read(path: string): string {
  return readFileSync(join(ROOT, path), "utf8");
}

/** Text outside fenced code blocks, where links and headings live. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```$/gm, "");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to `-`. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(path: string): Set<string> {
  return new Set([...prose(read(path)).matchAll(/^#{1,6} (.+)$/gm)].map((match) => slug(match[1] as string)));
}

describe("docs: links", () => {
  for (const page of PAGES) {
    it(`${page}: every relative link and anchor resolves`, () => {
      const broken: string[] = [];
      for (const match of prose(read(page)).matchAll(/\]\(([^)\s#]*)(#[^)\s]*)?\)/g)) {
        const [link, target = "", anchor] = match;
        if (/^[a-z]+:/.test(target)) continue;
        const path = target === "" ? page : relative(ROOT, normalize(join(ROOT, dirname(page), target)));
        if (!existsSync(join(ROOT, path))) broken.push(`${link}: no file ${path}`);
        else if (anchor !== undefined && path.endsWith(".md") && !anchors(path).has(anchor.slice(1))) {
          broken.push(`${link}: no heading for ${anchor} in ${path}`);
        }
      }
      assert.deepEqual(broken, []);
    });
  }
});

describe("docs: source paths", () => {
  it("every `src/…`, `scripts/…`, `test/…` or `bench/…` path the pages name exists", () => {
    const missing: string[] = [];
    for (const page of PAGES) {
      for (const match of read(page).matchAll(/`((?:src|scripts|test|bench)\/[\w./-]*[\w/])`/g)) {
        const path = match[1] as string;
        if (!/[*…]/.test(path) && !existsSync(join(ROOT, path))) missing.push(`${page}: ${path}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});

describe("README: an entry point", () => {
  const readme = read("README.md");

  it("is at most 200 lines", () => {
    assert.ok(readme.split("\n").length <= 200, `README.md has ${readme.split("\n").length} lines`);
  });

  it("shows the two commands: npm install && npm start, and npm test", () => {
    assert.match(readme, /^npm install && npm start(\s|$)/m);
    assert.match(readme, /^npm test(\s|$)/m);
  });
});
