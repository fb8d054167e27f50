// The README's quickstart, run as a reader would: `npm start` in a fresh copy of the project (no
// .dev.vars, no local KV yet, so the first-run path is what is tested, and the repository itself
// gets no new file), then every command between `<!-- quickstart -->` and `<!-- /quickstart -->`,
// in order, in one bash session against it. Asserts what the README says the reader will see.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../../scripts/lib/processes.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The gateway's address as the README writes it; the test's own port replaces it. */
const README_GATEWAY = "http://127.0.0.1:8787";
/** What `npm start` prints once the gateway answers and the demo app exists. */
const READY = /edge-authenticator is running on/;
const START_TIMEOUT_MS = 30_000;
const COMMANDS_TIMEOUT_MS = 20_000;
/** Not part of a fresh clone, or not needed to run `npm start`. */
const NOT_COPIED = new Set([".git", "node_modules", ".wrangler", ".dev.vars", ".keys", "bench", "test", "dist"]);

/** The shell commands of the README's quickstart: `sh` blocks between the markers, continuations joined. */
function quickstartCommands(readme: string): string[] {
  const start = readme.indexOf("<!-- quickstart -->");
  const end = readme.indexOf("<!-- /quickstart -->");
  assert.ok(
    start >= 0 && end > start,
    "README.md marks its quickstart with <!-- quickstart --> … <!-- /quickstart -->",
  );
  const section = readme.slice(start, end);
  const commands: string[] = [];
  for (const block of section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    let pending = "";
    for (const line of (block[1] as string).split("\n")) {
      const text = pending + line;
      if (text.endsWith("\\")) {
        pending = `${text}\n`;
        continue;
      }
      pending = "";
      if (text.trim() !== "" && !text.trimStart().startsWith("#")) commands.push(text);
    }
  }
  assert.ok(commands.length > 0, "the quickstart has at least one sh block");
  return commands;
}

interface CommandResult {
  readonly command: string;
  readonly exitCode: number;
  readonly output: string;
}

interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** A `curl -i` transcript: the last status line (curl may print `100 Continue` first) and the body. */
function httpAnswer(output: string): HttpAnswer {
  const heads = [...output.matchAll(/^HTTP\/[\d.]+ (\d{3})[^\n]*\n/gm)];
  const last = heads.at(-1);
  assert.ok(last?.index !== undefined, `an HTTP answer in:\n${output}`);
  const rest = output.slice(last.index);
  const split = rest.search(/\r?\n\r?\n/);
  return { status: Number(last[1]), body: split < 0 ? "" : rest.slice(split).trim() };
}

/** A copy of the project as a fresh clone after `npm install` has it: the sources, node_modules linked. */
function freshCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "docs-quickstart-"));
  for (const name of readdirSync(ROOT)) {
    if (!NOT_COPIED.has(name)) cpSync(join(ROOT, name), join(dir, name), { recursive: true });
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

/** `npm start`, spawned as the leader of its own process group, and everything it printed so far. */
interface Gateway {
  readonly child: ChildProcess;
  readonly log: () => string;
  /** Resolves once it prints that it is ready; rejects if it exits first or takes too long. */
  readonly ready: Promise<void>;
}

function startGateway(cwd: string, env: NodeJS.ProcessEnv): Gateway {
  const child = spawn("npm", ["start"], { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start was not ready within ${START_TIMEOUT_MS} ms:\n${log}`)),
      START_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      log += chunk.toString("utf8");
      if (READY.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}) before it was ready:\n${log}`));
    });
  });
  return { child, log: () => log, ready };
}

/**
 * Ends the process group `npm start` leads (npm, node, wrangler, workerd): SIGTERM, then SIGKILL
 * after 5 s. The group is signalled even when npm itself has exited, so nothing it started is left.
 */
async function stopGateway({ child }: Gateway): Promise<void> {
  if (child.pid === undefined) return;
  const group = -child.pid;
  const signal = (name: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(group, name);
      return true;
    } catch {
      return false; // The group is gone.
    }
  };
  const running = child.exitCode === null && child.signalCode === null;
  const exited = running ? new Promise((resolve) => child.once("exit", resolve)) : Promise.resolve();
  if (!signal("SIGTERM")) return;
  const timer = setTimeout(() => signal("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
  // npm may exit before the processes it started: make sure the whole group is gone.
  for (let attempt = 0; attempt < 50 && signal(0); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  signal("SIGKILL");
}

/** Runs the commands in one bash session; each one's output and exit code, separated by markers. */
function runCommands(commands: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<CommandResult[]> {
  const script = commands
    .map((command, i) => `printf '\\n@@begin ${i}\\n'\n${command}\nprintf '\\n@@end ${i} %d\\n' "$?"`)
    .join("\n");
  const bash = spawn("bash", ["-c", script], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  bash.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  bash.stderr.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      bash.kill("SIGKILL");
      reject(new Error(`the quickstart commands took over ${COMMANDS_TIMEOUT_MS} ms:\n${out}`));
    }, COMMANDS_TIMEOUT_MS);
    bash.once("exit", () => {
      clearTimeout(timer);
      resolve(
        commands.map((command, i) => {
          const match = new RegExp(`\\n@@begin ${i}\\n([\\s\\S]*?)\\n@@end ${i} (\\d+)\\n`).exec(out);
          return { command, exitCode: match ? Number(match[2]) : -1, output: match?.[1] ?? out };
        }),
      );
    });
  });
}

describe("README quickstart", () => {
  let copy = "";
  let gateway: Gateway | undefined;
  let results: CommandResult[] = [];

  function result(pattern: RegExp): CommandResult {
    const found = results.find(({ command }) => pattern.test(command));
    assert.ok(found, `a quickstart command matching ${pattern}`);
    assert.equal(found.exitCode, 0, `\`${found.command}\` exited ${found.exitCode}:\n${found.output}`);
    return found;
  }

  before(async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const commands = quickstartCommands(readme);
    assert.ok(
      commands.some((command) => command.includes(README_GATEWAY)),
      `the quickstart calls ${README_GATEWAY}`,
    );
    copy = freshCopy();
    const [port, originPort] = [await freePort(), await freePort()];
    const env = { ...process.env, PORT: String(port), ORIGIN_PORT: String(originPort), WRANGLER_SEND_METRICS: "false" };
    gateway = startGateway(copy, env);
    await gateway.ready;
    const local = commands.map((command) => command.replaceAll(README_GATEWAY, `http://127.0.0.1:${port}`));
    results = await runCommands(local, copy, env);
  });

  after(async () => {
    if (gateway) await stopGateway(gateway);
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it("every command succeeds", () => {
    const failed = results.filter(({ exitCode }) => exitCode !== 0);
    assert.deepEqual(
      failed.map(({ command, exitCode, output }) => `${command}\n→ exit ${exitCode}\n${output}`),
      [],
      `npm start printed:\n${gateway?.log() ?? ""}`,
    );
  });

  it("creates the app: 201 and its view, without the secret", () => {
    const { status, body } = httpAnswer(result(/-X PUT .*\/admin\/apps\/my-app/).output);
    assert.equal(status, 201, body);
    const view = JSON.parse(body) as Record<string, unknown>;
    assert.equal(view.appId, "my-app");
    assert.equal(view.enforcement, "enforce");
    assert.match(String(view.secretFingerprint), /^sha256:[0-9a-f]{16}$/);
    assert.equal(view.secret, undefined);
    assert.equal(view.warnings, undefined);
  });

  it("the SDK call reaches the demo origin with the verified identity", () => {
    const { status, body } = httpAnswer(result(/userId=alice"/).output);
    assert.equal(status, 200, body);
    const echo = JSON.parse(body) as { path: string; query: string; headers: Record<string, string> };
    assert.equal(echo.path, "/api/v1/app/my-app/profile");
    assert.equal(echo.query, "userId=alice");
    assert.equal(echo.headers["x-auth-app-id"], "my-app");
    assert.equal(echo.headers["x-auth-user-id"], "alice");
    const claims = JSON.parse(Buffer.from(echo.headers["x-auth-claims"] ?? "", "base64url").toString("utf8"));
    assert.equal(claims.appId, "my-app");
    assert.equal(claims.userId, "alice");
  });

  it("the forwarded request carries the hop marker", () => {
    const echo = JSON.parse(httpAnswer(result(/userId=alice"/).output).body) as { headers: Record<string, string> };
    assert.match(echo.headers["cdn-loop"] ?? "", /(^|,\s*)edge-authenticator(\s*$|[;,])/);
  });

  it("a request naming another user is 401 38 IDENTIFIER_MISMATCH", () => {
    const { status, body } = httpAnswer(result(/userId=bob"/).output);
    assert.equal(status, 401, body);
    assert.deepEqual(JSON.parse(body), { code: "38", status: "Invalid token", reason: "IDENTIFIER_MISMATCH" });
  });

  it("an expired token (--exp -5m) is 401 40 TOKEN_EXPIRED with serverTime", () => {
    result(/--exp -5m/);
    const { status, body } = httpAnswer(result(/\$EXPIRED"/).output);
    assert.equal(status, 401, body);
    const answer = JSON.parse(body) as Record<string, unknown>;
    assert.equal(answer.code, "40");
    assert.equal(answer.reason, "TOKEN_EXPIRED");
    assert.ok(Math.abs(Number(answer.serverTime) - Date.now() / 1000) < 120, `serverTime near now: ${body}`);
  });
});
