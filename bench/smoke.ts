/**
 * node bench/smoke.ts [--features] [--direct]      (npm test runs it; so does `npm run bench -- --smoke`)
 *
 * The bench's gate, with no timing asserted: every variant answers every scenario with the
 * expected status (up to 50 distinct requests a cell), the verifying variants (floor, jose, the
 * gateway) forward the identity they verified and refuse what they must, the gateway reads KV
 * once per unknown appId, and the gateway's bundle is at most 60 KiB gzip. The origin here
 * answers with the identity headers it received. Exits non-zero on any problem.
 */

import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { kvReads } from "./lib/measure.ts";
import { APP_PATH, buildScenarios, mintAppToken, type Scenario } from "./lib/scenarios.ts";
import {
  APP_ID,
  buildVariants,
  disposeAll,
  type Instance,
  MAX_BUNDLE_GZIP_KIB,
  OPEN_APP_ID,
  startVariants,
  USER_ID,
  VARIANTS,
  type VariantName,
} from "./lib/variants.ts";

/** Requests sent a cell (the unknown-apps cell sends them twice). */
const PER_CELL = 50;

/** What the echo origin answers (bench/workers/origin-echo.js). */
interface Echo {
  readonly origin?: boolean;
  readonly appId?: string | null;
  readonly userId?: string | null;
}

/** The identity each variant must forward for a request it lets through, or `undefined` for "any". */
function expectedIdentity(variant: VariantName, scenario: Scenario): Echo | undefined {
  if (variant === "bare" || variant === "hono-jwt") return undefined;
  if (scenario.name === "jwt-off") return { appId: OPEN_APP_ID, userId: null };
  return { appId: APP_ID, userId: USER_ID };
}

interface Probe {
  readonly authorization?: string;
  readonly path?: string;
}

async function send(url: string, probe: Probe): Promise<{ status: number; echo: Echo | null }> {
  const res = await fetch(`${url}${probe.path ?? APP_PATH}`, {
    headers: probe.authorization ? { authorization: probe.authorization } : {},
  });
  const text = await res.text();
  let echo: Echo | null = null;
  try {
    echo = JSON.parse(text) as Echo;
  } catch {}
  return { status: res.status, echo };
}

/** Status, the headers an error answer sets, and body of one answer, as one line to compare. */
async function answer(url: string, probe: Probe): Promise<string> {
  const res = await fetch(`${url}${probe.path ?? APP_PATH}`, {
    headers: probe.authorization ? { authorization: probe.authorization } : {},
  });
  const headers = ["content-type", "cache-control", "www-authenticate"].map((name) => res.headers.get(name));
  return JSON.stringify([res.status, ...headers, await res.text()]);
}

/** Sends up to `PER_CELL` distinct requests of the scenario and checks each answer. */
async function checkCell(instance: Instance, scenario: Scenario): Promise<string[]> {
  const problems = new Map<string, number>();
  const problem = (text: string) => problems.set(text, (problems.get(text) ?? 0) + 1);
  const name = instance.variant.name;
  const identity = expectedIdentity(name, scenario);
  for (const request of scenario.requests.slice(0, PER_CELL)) {
    const { status, echo } = await send(instance.url, request);
    if (status !== scenario.expectedStatus) {
      problem(`${scenario.name}: ${request.path} answered ${status}, expected ${scenario.expectedStatus}`);
    } else if (status === 200) {
      if (echo?.origin !== true) problem(`${scenario.name}: a 200 that did not come from the origin`);
      else if (identity && (echo.appId !== identity.appId || echo.userId !== identity.userId)) {
        problem(
          `${scenario.name}: the origin saw X-Auth-App-Id ${echo.appId} and X-Auth-User-Id ${echo.userId}, expected ${identity.appId} and ${identity.userId}`,
        );
      }
    }
  }
  return [...problems].map(([text, n]) => (n > 1 ? `${text} (× ${n})` : text));
}

interface Case {
  readonly name: string;
  readonly variants: readonly VariantName[];
  readonly probe: Probe;
  readonly expectedStatus: number;
}

/** Tokens each verifying variant must refuse, beyond the scenarios' bad signatures. */
function refusals(secret: string, features: boolean): Case[] {
  const options = { features };
  const now = Math.floor(Date.now() / 1000);
  const token = (overrides: Record<string, unknown>) => `Bearer ${mintAppToken(secret, 9, options, overrides)}`;
  const verifying: VariantName[] = ["floor", "jose", "gateway"];
  return [
    { name: "no Authorization", variants: [...verifying, "hono-jwt"], probe: {}, expectedStatus: 401 },
    {
      name: "not a JWT",
      variants: [...verifying, "hono-jwt"],
      probe: { authorization: "Bearer abc" },
      expectedStatus: 401,
    },
    {
      name: "expired",
      variants: [...verifying, "hono-jwt"],
      probe: { authorization: token({ iat: now - 7200, exp: now - 60 }) },
      expectedStatus: 401,
    },
    {
      name: "another app's token",
      variants: verifying,
      probe: { authorization: token({ appId: "other-app" }) },
      expectedStatus: 401,
    },
    { name: "empty userId", variants: verifying, probe: { authorization: token({ userId: "" }) }, expectedStatus: 401 },
    {
      name: "no userId",
      variants: verifying,
      probe: { authorization: token({ userId: undefined }) },
      expectedStatus: 401,
    },
    {
      // The gateway's v1 record accepts a token without exp; the --features record requires one.
      name: "no exp",
      variants: features ? verifying : ["floor", "jose"],
      probe: {
        authorization: `Bearer ${mintAppToken(secret, 9, options, { exp: undefined, iat: undefined })}`,
      },
      expectedStatus: 401,
    },
    {
      name: "an app no record names",
      variants: verifying,
      probe: { path: "/api/v1/app/no-such-app/threads", authorization: token({ appId: "no-such-app" }) },
      expectedStatus: 404,
    },
  ];
}

export interface SmokeOptions {
  readonly features?: boolean;
  readonly direct?: boolean;
}

/** Runs the smoke; returns the problems found (none: every check passed). */
export async function runSmoke(options: SmokeOptions = {}): Promise<string[]> {
  const started = Date.now();
  const features = options.features ?? false;
  const secret = randomBytes(30).toString("base64url");
  const bundles = await buildVariants(secret);
  const scenarios = buildScenarios({ secret, tokenCount: PER_CELL, features });
  const names = [...new Set(scenarios.flatMap((s) => s.variants))];
  const instances = await startVariants(names, {
    secret,
    features,
    direct: options.direct ?? false,
    origin: "echo",
  });
  const problems: string[] = [];
  let checks = 0;
  try {
    for (const s of scenarios) {
      for (const variant of s.variants) {
        const instance = instances.get(variant) as Instance;
        const label = VARIANTS[variant].reportedAs;
        const before = s.distinctAppIds ? await kvReads(instance.url) : 0;
        problems.push(...(await checkCell(instance, s)).map((p) => `${label} ${p}`));
        checks += 1;
        if (s.distinctAppIds) {
          problems.push(...(await checkCell(instance, s)).map((p) => `${label} ${p}`));
          const reads = (await kvReads(instance.url)) - before;
          const distinct = Math.min(PER_CELL, s.distinctAppIds);
          if (reads !== distinct) {
            problems.push(`${label} ${s.name}: ${reads} KV reads for ${distinct} distinct appIds sent twice`);
          }
          checks += 1;
        }
      }
    }
    for (const c of refusals(secret, features)) {
      for (const variant of c.variants) {
        const { status } = await send((instances.get(variant) as Instance).url, c.probe);
        if (status !== c.expectedStatus)
          problems.push(`${variant} ${c.name}: answered ${status}, expected ${c.expectedStatus}`);
        checks += 1;
      }
    }
    // deny-contract stands for the gateway's answer to a bad signature: it must be that answer.
    const rejected = scenarios.find((s) => s.name === "rejected")?.requests[0];
    if (rejected) {
      const [gateway, contract] = await Promise.all(
        (["gateway", "deny-contract"] as const).map((name) => answer((instances.get(name) as Instance).url, rejected)),
      );
      if (gateway !== contract) problems.push(`deny-contract answers ${contract}, the gateway ${gateway}`);
      checks += 1;
    }
  } finally {
    await disposeAll(instances);
  }
  const kib = bundles.gatewayGzipBytes / 1024;
  if (kib > MAX_BUNDLE_GZIP_KIB) problems.push(`bundle is ${kib.toFixed(1)} KiB gzip, over ${MAX_BUNDLE_GZIP_KIB}`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (problems.length > 0) console.error(`bench smoke: ${problems.length} problems\n${problems.join("\n")}`);
  else {
    console.log(
      `bench smoke: ${names.length} variants, ${checks} checks passed (statuses, forwarded identity, refusals, KV reads); bundle ${kib.toFixed(1)} KiB gzip; ${seconds} s`,
    );
  }
  return problems;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { features: { type: "boolean", default: false }, direct: { type: "boolean", default: false } },
  });
  runSmoke(values)
    .then((problems) => {
      if (problems.length > 0) process.exitCode = 1;
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
