/**
 * Load generators: wrk when it is installed (a C client costs little of the 2 cores the Worker
 * also needs), else autocannon. Both send the same request list in a cycle, for a bounded time.
 */

import { execFile } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const LUA = fileURLToPath(new URL("./requests.lua", import.meta.url));

export interface BenchRequest {
  readonly path: string;
  readonly authorization?: string;
}

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** Responses outside 2xx/3xx (wrk's count) or with another status than expected. */
  readonly non2xx: number;
  readonly errors: number;
}

export interface LoadOptions {
  readonly url: string;
  readonly requests: readonly BenchRequest[];
  readonly connections: number;
  readonly durationSeconds: number;
  /** A CPU list for `taskset` to run the load generator on (wrk only). */
  readonly loadCpu?: string;
}

export async function hasWrk(): Promise<boolean> {
  try {
    await run("wrk", ["--version"]).catch((error: { stdout?: string }) => {
      if (!error.stdout?.includes("wrk")) throw error;
    });
    return true;
  } catch {
    return false;
  }
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  if (unit === "us") return n / 1000;
  if (unit === "s") return n * 1000;
  if (unit === "m") return n * 60_000;
  return n;
}

let fileCounter = 0;
/** wrk's request file for each request list, written once (a list of 60,000 tokens is 20 MB). */
const requestFiles = new WeakMap<readonly BenchRequest[], string>();

function requestFile(requests: readonly BenchRequest[]): string {
  let file = requestFiles.get(requests);
  if (file === undefined) {
    fileCounter += 1;
    file = join(tmpdir(), `edge-auth-bench-${process.pid}-${fileCounter}.txt`);
    writeFileSync(file, `${requests.map((r) => `${r.path}\t${r.authorization ?? ""}`).join("\n")}\n`);
    requestFiles.set(requests, file);
    const written = file;
    process.once("exit", () => rmSync(written, { force: true }));
  }
  return file;
}

export async function runWrk(options: LoadOptions): Promise<LoadResult> {
  const file = requestFile(options.requests);
  const args = [
    "-t1",
    `-c${options.connections}`,
    `-d${options.durationSeconds}s`,
    "--latency",
    "-s",
    LUA,
    options.url,
  ];
  // With --pin, the load generator has a core of its own (the Workers run on the other).
  const [command, commandArgs] =
    options.loadCpu === undefined ? ["wrk", args] : ["taskset", ["-c", options.loadCpu, "wrk", ...args]];
  const { stdout } = await run(command, commandArgs, {
    env: { ...process.env, BENCH_REQUESTS: file },
    maxBuffer: 1 << 20,
  });
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const p50 = /\s50%\s+([\d.]+)(us|ms|s|m)/.exec(stdout);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s|m)/.exec(stdout);
  const total = /(\d+) requests in/.exec(stdout);
  if (!rps || !p50 || !p99 || !total) throw new Error(`could not read wrk's output:\n${stdout}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const errors = socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requestsPerSecond: Number(rps[1]),
    p50Ms: toMs(p50[1] as string, p50[2] as string),
    p99Ms: toMs(p99[1] as string, p99[2] as string),
    requests: Number(total[1]),
    non2xx,
    errors,
  };
}

export async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  const { default: autocannon } = await import("autocannon");
  let index = 0;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    requests: [
      {
        setupRequest: (request) => {
          const next = options.requests[index++ % options.requests.length] as BenchRequest;
          return {
            ...request,
            path: next.path,
            headers: next.authorization ? { authorization: next.authorization } : {},
          } as typeof request;
        },
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/**
 * Sends `count` requests of the cycle starting at `offset`, `concurrency` at a time on kept-alive
 * connections (node:http: exact counts, no wrk needed, and about twice as fast as fetch), and
 * returns every status in order of completion.
 */
export async function sendEach(
  url: string,
  requests: readonly BenchRequest[],
  options: { readonly offset?: number; readonly count: number; readonly concurrency?: number },
): Promise<number[]> {
  const { offset = 0, count, concurrency = 4 } = options;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses: number[] = [];
  let next = 0;
  const one = (request: BenchRequest) =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${url}${request.path}`,
        { agent, headers: request.authorization ? { authorization: request.authorization } : {} },
        (res) => {
          res.resume();
          res.once("end", () => resolve(res.statusCode ?? 0));
          res.once("error", reject);
        },
      );
      req.once("error", reject);
      req.end();
    });
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) statuses.push(await one(requests[(offset + next++) % requests.length] as BenchRequest));
      }),
    );
  } finally {
    agent.destroy();
  }
  return statuses;
}
