/**
 * npm run screenshots: the pictures in docs/console.md, taken in Debian's Chromium (as the browser
 * tests are) from the console under `wrangler dev` with a few example apps:
 *
 *   docs/images/console-apps.png       the apps, with their refusal rates over the last hour
 *   docs/images/console-app.png        one app: decisions, enforcement, keys, token policy with its JWKS keys,
 *                                      revoked users, sign-out, delete
 *   docs/images/console-decisions.png  one app's decisions: the chart, its legend, the top details
 *   docs/images/console-debugger.png   the token debugger's verdict for a token
 *
 * The decision counts in the pictures are examples: `wrangler dev` cannot make decisions in the
 * past, so each stats answer keeps its window (from, to, the times of its points) and gets the
 * counts of EXAMPLE_TRAFFIC, the same on every run. The browser tests check the real counts.
 *
 * Needs /usr/bin/chromium (`apt-get install chromium`). Rerun after a change to the console.
 */

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launchBrowser, mintToken, ROOT, startStack } from "../test/browser/harness.ts";

const OUT = join(ROOT, "docs/images");
/** A fixed example key of `length` bytes (so the fingerprints in the pictures stay the same). */
function exampleKey(length: number, step: number): string {
  return Buffer.from(Array.from({ length }, (_, i) => (i * step + 13) & 0xff)).toString("base64");
}
const SECRET = exampleKey(32, 67);

/** Users of my-app revoked (tokens issued before the time, hours ago, are refused). */
const REVOKED: Record<string, number> = { "u-1042": 3, "u-2213": 20, "u-7781": 0.5 };

/** Example apps: what the screens show. */
const APPS: Record<string, Record<string, unknown>> = {
  AP09092338: { enforcement: "report", keys: [{ alg: "HS256", secret: exampleKey(32, 29) }] },
  "demo-web": { enforcement: "off" },
  "my-app": {
    enforcement: "enforce",
    keys: [
      { kid: "2026-11", alg: "HS256", secret: SECRET },
      { kid: "2027-01", alg: "HS512", secret: exampleKey(64, 41), notBefore: "2027-01-01T00:00:00Z" },
    ],
    issuer: "https://auth.example.com",
    maxTokenLifetimeSeconds: 86400,
    acceptMillisecondTimestamps: true,
  },
  "shop-android": { enforcement: "enforce", secret: exampleKey(32, 71) },
  "shop-ios": { enforcement: "enforce", secret: exampleKey(32, 83) },
};

type Outcome = "allowed" | "refused" | "reported" | "unchecked" | "throttled";

/** Requests of one kind per minute, over the whole window or over a part of it (0 to 1: its start to its end). */
interface Flow {
  readonly outcome: Outcome;
  readonly perMinute: number;
  readonly reason?: string;
  readonly detail?: string;
  readonly during?: readonly [number, number];
}

/** What each example app's SDK routes see: my-app has a burst of old-kid tokens, and throttles some of them. */
const EXAMPLE_TRAFFIC: Record<string, readonly Flow[]> = {
  AP09092338: [
    { outcome: "allowed", perMinute: 9 },
    { outcome: "reported", perMinute: 1.2, reason: "INVALID_SIGNATURE", detail: "signature_mismatch" },
  ],
  "demo-web": [{ outcome: "unchecked", perMinute: 4 }],
  "my-app": [
    { outcome: "allowed", perMinute: 46 },
    { outcome: "refused", perMinute: 0.8, reason: "TOKEN_EXPIRED", detail: "exp_passed" },
    { outcome: "refused", perMinute: 0.3, reason: "TOKEN_NOT_AVAILABLE", detail: "authorization_missing" },
    { outcome: "refused", perMinute: 0.15, reason: "IDENTIFIER_MISMATCH", detail: "user_mismatch_query" },
    { outcome: "refused", perMinute: 9, reason: "INVALID_SIGNATURE", detail: "kid_unknown", during: [0.55, 0.8] },
    { outcome: "throttled", perMinute: 3, reason: "INVALID_SIGNATURE", detail: "kid_unknown", during: [0.62, 0.74] },
    { outcome: "refused", perMinute: 0.2, reason: "INVALID_SIGNATURE", detail: "signature_mismatch" },
  ],
  "shop-android": [
    { outcome: "allowed", perMinute: 21 },
    { outcome: "refused", perMinute: 0.4, reason: "TOKEN_EXPIRED", detail: "exp_passed" },
  ],
  "shop-ios": [
    { outcome: "allowed", perMinute: 17 },
    { outcome: "refused", perMinute: 1.6, reason: "TIME_CONSTRAINT_FAILURE", detail: "iat_future" },
  ],
};

interface StatsPoint extends Record<Outcome, number> {
  t: string;
  reasons: Record<string, number>;
}

interface Stats {
  appId: string;
  window: "1h" | "24h" | "7d";
  totals: Record<Outcome, number>;
  byReason: Record<string, number>;
  byDetail: Record<string, number>;
  series: StatsPoint[];
}

/** A number from 0 to 1 that depends only on its inputs. */
function noise(...parts: (string | number)[]): number {
  let hash = 2166136261;
  for (const char of parts.join("/")) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 16777619);
  return ((hash >>> 0) % 10_000) / 10_000;
}

/** The answer `real` with the example counts of its app in place of its own. */
function exampleStats(real: Stats): Stats {
  const flows = EXAMPLE_TRAFFIC[real.appId] ?? [];
  const minutes = real.window === "1h" ? 1 : 60;
  const totals: Record<Outcome, number> = { allowed: 0, refused: 0, reported: 0, unchecked: 0, throttled: 0 };
  const byReason: Record<string, number> = {};
  const byDetail: Record<string, number> = {};
  const last = real.series.length - 1;
  const series = real.series.map((point, i): StatsPoint => {
    const counts: StatsPoint = {
      t: point.t,
      allowed: 0,
      refused: 0,
      reported: 0,
      unchecked: 0,
      throttled: 0,
      reasons: {},
    };
    // Busier in the day (UTC) than at night, and the current point only partly over.
    const hour = new Date(point.t).getUTCHours() + (minutes === 1 ? new Date(point.t).getUTCMinutes() / 60 : 0);
    const daily = real.window === "1h" ? 1 : 1 + 0.45 * Math.sin(((hour - 9) / 24) * 2 * Math.PI);
    const part = i === last && minutes === 60 ? 0.5 : 1;
    flows.forEach((flow, f) => {
      const at = last === 0 ? 1 : i / last;
      if (flow.during && (at < flow.during[0] || at > flow.during[1])) return;
      const expected = flow.perMinute * minutes * daily * part * (0.75 + 0.5 * noise(real.appId, real.window, f, i));
      const n = Math.floor(expected + noise(real.appId, real.window, f, i, "rest"));
      if (n === 0) return;
      counts[flow.outcome] += n;
      totals[flow.outcome] += n;
      if (flow.reason === undefined || flow.detail === undefined) return;
      counts.reasons[flow.reason] = (counts.reasons[flow.reason] ?? 0) + n;
      byReason[flow.reason] = (byReason[flow.reason] ?? 0) + n;
      byDetail[flow.detail] = (byDetail[flow.detail] ?? 0) + n;
    });
    return counts;
  });
  return { ...real, totals, byReason, byDetail, series };
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const stack = await startStack();
  const browser = await launchBrowser({ viewport: { width: 1100, height: 760 } });
  try {
    for (const [appId, record] of Object.entries(APPS)) {
      const res = await fetch(`${stack.base}/admin/apps/${appId}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify(record),
      });
      if (!res.ok) throw new Error(`creating ${appId}: ${res.status} ${await res.text()}`);
    }
    // my-app also takes keys from an identity provider's JWKS (the harness's local one), and has
    // some revoked users.
    const admin = (path: string, method: string, body: unknown) =>
      fetch(`${stack.base}/admin/apps/my-app${path}`, {
        method,
        headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then(async (res) => {
        if (!res.ok) throw new Error(`${method} my-app${path}: ${res.status} ${await res.text()}`);
      });
    await admin("", "PATCH", { jwksUri: stack.jwks.url });
    for (const [user, hours] of Object.entries(REVOKED)) {
      const before = new Date(Math.floor(Date.now() / 1000 - hours * 3600) * 1000).toISOString();
      await admin(`/revocations/${user}`, "PUT", { before });
    }
    const page = await browser.context.newPage();
    await page.route("**/admin/apps/*/stats?*", async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, json: exampleStats((await response.json()) as Stats) });
    });
    await page.goto(stack.consoleUrl);
    await page.getByLabel("Admin token").fill(stack.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("link", { name: "my-app" }).waitFor();
    await page.locator("td[aria-busy]").first().waitFor({ state: "detached" });
    await page.screenshot({ path: join(OUT, "console-apps.png") });

    await page.getByRole("link", { name: "my-app" }).click();
    await page.getByRole("table", { name: "Keys" }).locator("tbody tr").nth(1).waitFor();
    await page.getByRole("table", { name: "JWKS keys" }).locator("tbody tr").first().waitFor();
    await page.getByRole("table", { name: "Revoked users" }).locator("tbody tr").nth(2).waitFor();
    const decisions = page.getByRole("region", { name: "Decisions" });
    await decisions.getByRole("table", { name: "Top details" }).waitFor();
    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(OUT, "console-app.png"), fullPage: true });
    await decisions.screenshot({ path: join(OUT, "console-decisions.png") });

    const token = await mintToken("my-app", "alice", SECRET, [
      "--kid",
      "2026-11",
      "--claim",
      "iss=https://auth.example.com",
    ]);
    await page.getByRole("link", { name: "Token debugger" }).click();
    await page.getByLabel("Token", { exact: true }).fill(token);
    await page.getByRole("button", { name: "Check token" }).click();
    await page
      .getByRole("status", { name: "Verdict" })
      .filter({ hasText: /^Allowed/ })
      .waitFor();
    await page.screenshot({ path: join(OUT, "console-debugger.png"), fullPage: true });
    console.log(
      `screenshots: ${["console-apps.png", "console-app.png", "console-decisions.png", "console-debugger.png"].join(", ")} in docs/images`,
    );
  } finally {
    await browser.close();
    await stack.close();
  }
}

main().catch((error: unknown) => {
  console.error(`screenshots: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
