// docs/deploy.md, checked offline: every `npx wrangler …` command of its `sh` blocks (and every
// inline `npx wrangler …` in docs/ and the README) names a wrangler command that exists, with flags
// that command takes (`wrangler <command> --help`), and the Worker bundles with
// `wrangler deploy --dry-run` at the top level and in each environment the guide deploys, with
// the APPS namespace bound and no configuration warning. Commands that need an account are listed,
// never run.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
const ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" };
/** Wrangler commands that only work against a Cloudflare account: checked for existence, never run. */
const ACCOUNT_COMMANDS = new Set([
  "login",
  "whoami",
  "kv namespace create",
  "secret put",
  "deploy",
  "rollback",
  "deployments list",
  "tail",
]);
/** The commands the guide cannot do without; a rewrite that loses one fails here. */
const EXPECTED = ["login", "kv namespace create", "secret put", "deploy", "rollback", "deployments list"];
const ENVIRONMENTS = ["staging", "production"] as const;

interface WranglerCall {
  readonly source: string;
  /** The command words after `wrangler` (`kv namespace create`), found through wrangler's own help. */
  words: string[];
  readonly args: readonly string[];
}

interface Run {
  readonly code: number;
  readonly output: string;
}

function wrangler(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(WRANGLER, args, { cwd: ROOT, env: ENV, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** Shell words of one command, quotes removed; enough for the plain commands a guide shows. */
function shellWords(command: string): string[] {
  const words: string[] = [];
  for (const match of command.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) {
    words.push(match[1] ?? match[2] ?? match[3] ?? "");
  }
  return words;
}

/** `npx wrangler …` invocations in a line of shell: each segment of `|`, `&&`, `||`, `;`. */
function wranglerCalls(line: string, source: string): WranglerCall[] {
  const calls: WranglerCall[] = [];
  for (const segment of line.replace(/#.*$/, "").split(/\|\||&&|\||;/)) {
    const words = shellWords(segment.trim());
    const at = words.indexOf("wrangler");
    if (at >= 1 && words[at - 1] === "npx") calls.push({ source, words: [], args: words.slice(at + 1) });
  }
  return calls;
}

/** The `sh` blocks of a Markdown text as logical lines (`\` continuations joined). */
function shellLines(markdown: string): string[] {
  const lines: string[] = [];
  for (const block of markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    lines.push(...(block[1] as string).replace(/\\\n/g, " ").split("\n"));
  }
  return lines;
}

/** Inline code spans holding `npx wrangler …`. */
function inlineWranglerSpans(markdown: string): string[] {
  return [...markdown.matchAll(/`(npx wrangler [^`]+)`/g)].map((match) => match[1] as string);
}

const helps = new Map<string, Promise<Run>>();

function help(words: readonly string[]): Promise<Run> {
  const key = words.join(" ");
  let pending = helps.get(key);
  if (!pending) {
    pending = wrangler([...words, "--help"]);
    helps.set(key, pending);
  }
  return pending;
}

/**
 * The subcommands a help text lists, as full command paths (`wrangler kv namespace`): its indented
 * `wrangler …` entries, under COMMANDS or, at the top level, under ACCOUNT, STORAGE & DATABASES….
 */
function listedCommands(helpText: string): Set<string> {
  const listed = new Set<string>();
  for (const line of helpText.split("\n")) {
    if (!/^\s+wrangler /.test(line)) continue;
    const entry = line.trim().split(/\s{2,}/)[0] ?? "";
    listed.add(
      entry
        .split(" ")
        .filter((word) => !/^[[<]/.test(word))
        .join(" "),
    );
  }
  return listed;
}

/** Walks the command words down wrangler's help tree; what is left is positionals and flags. */
async function resolveWords(call: WranglerCall): Promise<void> {
  const words: string[] = [];
  for (const arg of call.args) {
    if (arg.startsWith("-")) break;
    const listed = listedCommands((await help(words)).output);
    if (!listed.has(["wrangler", ...words, arg].join(" "))) break;
    words.push(arg);
  }
  call.words = words;
}

function flagsOf(call: WranglerCall): string[] {
  return call.args.filter((arg) => arg.startsWith("-")).map((arg) => arg.split("=")[0] as string);
}

function takesFlag(helpText: string, flag: string): boolean {
  const escaped = flag.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[\\s,])${escaped}(?=[\\s,]|$)`, "m").test(helpText);
}

function isDryRun(call: WranglerCall): boolean {
  return call.words.join(" ") === "deploy" && call.args.includes("--dry-run");
}

const guide = readFileSync(join(ROOT, "docs/deploy.md"), "utf8");
const guideCalls = shellLines(guide).flatMap((line) => wranglerCalls(line, "docs/deploy.md"));
const inlineCalls = ["README.md", ...readdirSync(join(ROOT, "docs")).map((name) => `docs/${name}`)]
  .filter((path) => path.endsWith(".md"))
  .flatMap((path) =>
    inlineWranglerSpans(readFileSync(join(ROOT, path), "utf8")).flatMap((span) => wranglerCalls(span, path)),
  );
const outdir = mkdtempSync(join(tmpdir(), "docs-deploy-"));

after(() => rmSync(outdir, { recursive: true, force: true }));

describe("docs/deploy.md: wrangler commands", () => {
  it("the guide's sh blocks hold the commands a deploy needs", async () => {
    await Promise.all(guideCalls.map(resolveWords));
    const found = new Set(guideCalls.map((call) => call.words.join(" ")));
    for (const command of EXPECTED) assert.ok(found.has(command), `docs/deploy.md runs npx wrangler ${command}`);
  });

  it("every wrangler command and flag in the docs exists in this wrangler", async (t) => {
    const calls = [...guideCalls, ...inlineCalls];
    await Promise.all(calls.map(resolveWords));
    const problems: string[] = [];
    for (const call of calls) {
      const text = `npx wrangler ${call.args.join(" ")} (${call.source})`;
      if (call.words.length === 0) {
        problems.push(`${text}: no such command`);
        continue;
      }
      const { code, output } = await help(call.words);
      const usage = output.trimStart().split("\n", 1)[0] ?? "";
      if (code !== 0 || !usage.startsWith(`wrangler ${call.words.join(" ")}`)) {
        problems.push(`${text}: \`wrangler ${call.words.join(" ")} --help\` failed`);
        continue;
      }
      for (const flag of flagsOf(call)) {
        if (!takesFlag(output, flag)) problems.push(`${text}: wrangler ${call.words.join(" ")} has no ${flag}`);
      }
    }
    assert.deepEqual(problems, []);
    const needAccount = calls.filter((call) => ACCOUNT_COMMANDS.has(call.words.join(" ")) && !isDryRun(call));
    t.diagnostic(
      `need a Cloudflare account, not run: ${[...new Set(needAccount.map((call) => `npx wrangler ${call.args.join(" ")}`))].join(" | ")}`,
    );
  });

  it("deploys with --env for each environment it names, and dry-runs both first", async () => {
    await Promise.all(guideCalls.map(resolveWords));
    for (const environment of ENVIRONMENTS) {
      const withEnv = (words: string) =>
        guideCalls.some(
          (call) => call.words.join(" ") === words && call.args.join(" ").includes(`--env ${environment}`),
        );
      assert.ok(withEnv("deploy"), `npx wrangler deploy --env ${environment}`);
    }
    const dryRuns = guideCalls.filter(isDryRun).map((call) => call.args.join(" "));
    for (const environment of ENVIRONMENTS) {
      assert.ok(
        dryRuns.some((args) => args.includes(`--env ${environment}`)),
        `a dry run for ${environment}`,
      );
    }
  });
});

describe("wrangler deploy --dry-run bundles", () => {
  for (const environment of [undefined, ...ENVIRONMENTS]) {
    it(`${environment === undefined ? "the top level" : `--env ${environment}`}: bundles, binds APPS, no warning`, async () => {
      const args = ["deploy", "--dry-run", "--outdir", join(outdir, environment ?? "top")];
      // `--env ""` names the top level: with environments defined, wrangler warns without it.
      args.push("--env", environment ?? "");
      const { code, output } = await wrangler(args);
      assert.equal(code, 0, output);
      assert.match(output, /--dry-run: exiting now/, output);
      assert.match(output, /env\.APPS\s+KV Namespace/, output);
      assert.doesNotMatch(output, /WARNING/, output);
    });
  }
});

describe("wrangler.toml: what the guide says to keep", () => {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");

  /** The lines of `[env.<name>]` itself, up to the next table that is not one of its own. */
  function section(name: string): string {
    const start = toml.search(new RegExp(`^\\[env\\.${name}\\]\\s*$`, "m"));
    if (start < 0) return "";
    const rest = toml.slice(start).split("\n");
    const lines = [rest[0] as string];
    for (const line of rest.slice(1)) {
      if (/^\[/.test(line.trim())) break;
      lines.push(line);
    }
    return lines.join("\n");
  }

  for (const environment of ENVIRONMENTS) {
    it(`has an [env.${environment}] section`, () => {
      assert.notEqual(section(environment), "", `wrangler.toml has [env.${environment}]`);
    });
  }

  it("production serves no workers.dev or preview URL", () => {
    const production = section("production");
    assert.match(production, /^workers_dev\s*=\s*false\s*(#.*)?$/m, production);
    assert.match(production, /^preview_urls\s*=\s*false\s*(#.*)?$/m, production);
  });
});
