/**
 * The admin console end to end in Debian's Chromium (playwright-core), against the Worker under
 * `wrangler dev` with the committed wrangler.toml (the console's files from console/dist through
 * the ASSETS binding) and `ADMIN_PREFIX=/ops/admin`, so nothing may assume `/admin`. The flow of
 * issue 14: a wrong admin token, sign in, an app with a secret generated in the browser, a token
 * minted with it (`npm run token`'s script) that the debugger calls Allowed, one character
 * changed → 38 INVALID_SIGNATURE, a second key added and the first retired, report mode; and on
 * every screen axe-core finds no serious or critical violation, and the page raises no CSP
 * violation while it works under its policy. Issue 15: decisions driven through the gateway (the
 * harness flushes counts after 50 ms) appear in the app page's chart, its text alternative and its
 * Top details, for each window, and as the apps table's refusal rate. Issue 18: a user revoked in
 * the console has their old token refused by the gateway while a new one passes, until Lift; the
 * revoked users page with the cursor and search by prefix; the nonce and millisecond checkboxes
 * and the JWKS URL are saved with PATCH, and the JWKS keys the gateway loaded from the local
 * origin's JWKS are shown and refreshed. Run by `npm test` (`node --test test/browser/console.ts`).
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { BrowserContext, Locator, Page } from "playwright-core";
import { axeViolations, launchBrowser, mintToken, type Stack, signToken, startStack } from "./harness.ts";

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
  "require-trusted-types-for 'script'; trusted-types 'none'";
const APP_ID = `console-${Date.now().toString(36)}`;
/** An app whose users are revoked, and its secret. */
const USERS_APP = `${APP_ID}-users`;
const USERS_SECRET = randomBytes(32).toString("base64");

let stack: Stack;
let browser: { context: BrowserContext; close(): Promise<void> };
let page: Page;
/** CSP violations the page reported (`securitypolicyviolation` events and console errors). */
const violations: string[] = [];
const pageErrors: string[] = [];
/** Every admin API request the page made: its method, path and whether it carried a cookie. */
const apiRequests: { url: string; authorization: string | undefined; cookie: string | undefined }[] = [];

/** Waits until `locator`'s text matches `pattern`, then returns the text. */
async function textMatching(locator: Locator, pattern: RegExp, timeout = 10_000): Promise<string> {
  const deadline = Date.now() + timeout;
  let text = "";
  while (Date.now() < deadline) {
    text = ((await locator.textContent({ timeout }).catch(() => "")) ?? "").trim();
    if (pattern.test(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`expected text matching ${pattern}, got ${JSON.stringify(text)}`);
}

async function expectAccessible(screen: string): Promise<void> {
  assert.deepEqual(await axeViolations(page), [], `axe on the ${screen} screen`);
}

function adminApi(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${stack.base}${stack.adminPrefix}/${path}`, {
    ...init,
    headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
  });
}

function verdict(): Locator {
  return page.getByRole("status", { name: "Verdict" });
}

/** A request to the app's SDK route through the gateway; answers its status. */
async function sdkRequest(appId: string, token?: string): Promise<number> {
  const res = await fetch(`${stack.base}/api/v1/app/${appId}/profile`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  await res.arrayBuffer();
  return res.status;
}

/** Waits until the admin API's stats for `appId` count `decisions` decisions in the last hour. */
async function statsCount(appId: string, decisions: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  let seen: unknown;
  while (Date.now() < deadline) {
    const stats = (await (await adminApi(`apps/${appId}/stats?window=1h`)).json()) as {
      totals: Record<string, number>;
    };
    seen = stats.totals;
    if (Object.values(stats.totals).reduce((sum, n) => sum + n, 0) === decisions) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`expected ${decisions} decisions for ${appId}, stats counted ${JSON.stringify(seen)}`);
}

/** Every cell of the rows of `table`'s body, as trimmed text. */
async function cellTexts(table: Locator): Promise<string[][]> {
  return table
    .locator("tbody tr")
    .evaluateAll((rows) =>
      rows.map((row) => [...row.querySelectorAll("th, td")].map((cell) => (cell.textContent ?? "").trim())),
    );
}

/** What the token debugger's API says of `token` for `appId`: its reason and detail, or allowed. */
async function gatewayVerdict(appId: string, token: string): Promise<string> {
  const res = await adminApi(`apps/${appId}/verify`, { method: "POST", body: JSON.stringify({ token }) });
  const answer = (await res.json()) as { verdict: string; code?: string; reason?: string; detail?: string };
  return answer.verdict === "refused" ? `${answer.code} ${answer.reason} ${answer.detail}` : answer.verdict;
}

/** `date` as a `datetime-local` input's value: local time, to the second. */
function localInput(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}T${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

function keyRows(): Locator {
  return page.getByRole("table", { name: "Keys" }).locator("tbody tr");
}

before(async () => {
  // Both started at once; when one fails, the other is still closed by `after` (an open browser
  // would keep the test process alive).
  const [started, launched] = await Promise.allSettled([startStack({ adminPrefix: "/ops/admin" }), launchBrowser()]);
  if (started.status === "fulfilled") stack = started.value;
  if (launched.status === "fulfilled") browser = launched.value;
  if (started.status === "rejected") throw started.reason;
  if (launched.status === "rejected") throw launched.reason;
  await browser.context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      const scope = globalThis as unknown as { __cspViolations?: string[] };
      scope.__cspViolations = [...(scope.__cspViolations ?? []), `${event.violatedDirective} ${event.blockedURI}`];
    });
  });
  page = await browser.context.newPage();
  page.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text());
  });
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("request", (request) => {
    if (new URL(request.url()).pathname.startsWith(`${stack.adminPrefix}/apps`)) {
      const headers = request.headers();
      apiRequests.push({ url: request.url(), authorization: headers.authorization, cookie: headers.cookie });
    }
  });
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

describe("the admin console in Chromium", () => {
  it("is served at {ADMIN_PREFIX}/ without a credential, with a strict Content-Security-Policy", async () => {
    const res = await page.goto(stack.consoleUrl);
    assert.ok(res);
    assert.equal(res.status(), 200);
    const headers = res.headers();
    assert.equal(headers["content-security-policy"], CSP);
    assert.equal(headers["x-content-type-options"], "nosniff");
    assert.equal(headers["cache-control"], "no-store");
    assert.equal(headers["set-cookie"], undefined);
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    await expectAccessible("sign-in");
    // The prefix without its slash redirects to the page; the Worker runs before the assets, so
    // the console's files exist nowhere outside the prefix.
    const bare = await fetch(`${stack.base}${stack.adminPrefix}`, { redirect: "manual" });
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get("location"), `${stack.adminPrefix}/`);
    for (const path of ["/console.js", "/index.html", "/"]) {
      const outside = await fetch(`${stack.base}${path}`);
      assert.equal(outside.status, 404, path);
      assert.equal(((await outside.json()) as { code: string }).code, "NOT_FOUND");
    }
  });

  it("refuses a wrong admin token with a clear sign-in error", async () => {
    await page.getByLabel("Admin token").fill("not-the-admin-token-0123456789abcdef");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = await textMatching(page.getByRole("alert").first(), /Wrong admin token/);
    assert.match(alert, /401 UNAUTHORIZED/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await expectAccessible("sign-in with its error");
  });

  it("signs in with the admin token, kept in sessionStorage only and sent as Authorization: Bearer", async () => {
    await page.getByLabel("Admin token").fill(stack.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Apps" }).waitFor();
    assert.deepEqual(await page.evaluate(() => [sessionStorage.length, localStorage.length, document.cookie]), [
      1,
      0,
      "",
    ]);
    await page.getByRole("table", { name: "Apps" }).waitFor();
    await expectAccessible("apps");
  });

  let secret = "";
  let token = "";

  it("creates an app with a secret generated in the browser, shown once with its fingerprint", async () => {
    await page.getByRole("button", { name: "New app" }).click();
    await page.getByRole("heading", { level: 1, name: "New app" }).waitFor();
    await page.getByLabel("App ID").fill(APP_ID);
    await page.getByLabel("Enforcement").selectOption("enforce");
    await page.getByRole("button", { name: "Generate secret" }).click();
    secret = await page.getByLabel("Secret", { exact: true }).inputValue();
    assert.equal(Buffer.from(secret, "base64").length, 32);
    const fingerprint = await textMatching(page.locator(".fingerprint output"), /^sha256:[0-9a-f]{16}$/);
    await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: stack.base });
    await page.getByRole("button", { name: "Copy secret" }).click();
    await textMatching(page.getByRole("status").filter({ hasText: "Copied" }), /^Copied\.$/);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await expectAccessible("new app");
    await page.getByRole("button", { name: "Create app" }).click();
    await page.getByRole("heading", { name: `Created ${APP_ID}` }).waitFor();
    assert.equal(await page.getByLabel(`Secret of ${APP_ID}`).inputValue(), secret);
    // The fingerprint computed in the browser is the API's, over the same key bytes.
    const view = (await (await adminApi(`apps/${APP_ID}`)).json()) as { keys: { fingerprint: string }[] };
    assert.equal(view.keys[0]?.fingerprint, fingerprint);
    await page.getByRole("link", { name: `Open ${APP_ID}` }).click();
    await page.getByRole("heading", { level: 1, name: APP_ID }).waitFor();
    await textMatching(keyRows().first(), new RegExp(fingerprint));
    await expectAccessible("app");
  });

  it("charts the app's decisions: allowed against refused by reason, its text alternative, the top details, each window", async () => {
    // Through the gateway: 3 allowed, 2 INVALID_SIGNATURE, 1 TOKEN_EXPIRED, 1 TOKEN_NOT_AVAILABLE.
    const [valid, expired] = await Promise.all([
      mintToken(APP_ID, "alice", secret),
      mintToken(APP_ID, "alice", secret, ["--exp", "-5m"]),
    ]);
    const [header, payload, signature] = valid.split(".") as [string, string, string];
    const forged = `${header}.${payload}.${signature.startsWith("A") ? "B" : "A"}${signature.slice(1)}`;
    const statuses = await Promise.all(
      [valid, valid, valid, forged, forged, expired, undefined].map((token) => sdkRequest(APP_ID, token)),
    );
    assert.deepEqual(statuses, [200, 200, 200, 401, 401, 401, 401]);
    await statsCount(APP_ID, 7);

    const decisions = page.getByRole("region", { name: "Decisions" });
    await decisions.getByRole("button", { name: "Refresh" }).click();
    // The summary names the chart and gives its exact numbers.
    const summary = await textMatching(decisions.locator("figcaption"), /7 decisions/);
    assert.match(
      summary,
      /^Last hour \(\d{4}-\d\d-\d\d \d\d:\d\d to \d\d:\d\d UTC\): 7 decisions: 3 allowed, 4 refused; 57\.1% refused or throttled\. By reason: INVALID_SIGNATURE 2, TOKEN_EXPIRED 1, TOKEN_NOT_AVAILABLE 1\.$/,
    );
    const chart = decisions.getByRole("img", { name: summary });
    assert.equal(await chart.evaluate((element) => element.namespaceURI), "http://www.w3.org/2000/svg");
    assert.deepEqual(await decisions.getByRole("listitem").allTextContents(), [
      "Allowed 3",
      "INVALID_SIGNATURE 2",
      "TOKEN_EXPIRED 1",
      "TOKEN_NOT_AVAILABLE 1",
    ]);
    // The bars: one coloured segment per layer and point, and each point's numbers in its title,
    // which add up to the totals (whichever minutes the requests fell in).
    const shown: Record<string, number> = {};
    for (const title of await chart.locator("title").allTextContents()) {
      for (const [, n, name] of title.split("UTC: ")[1]?.matchAll(/(\d+) ([A-Za-z_]+)/g) ?? [])
        shown[name as string] = (shown[name as string] ?? 0) + Number(n);
    }
    assert.deepEqual(shown, { Allowed: 3, INVALID_SIGNATURE: 2, TOKEN_EXPIRED: 1, TOKEN_NOT_AVAILABLE: 1 });
    assert.equal(await chart.locator("title").count(), 60, "a point a minute");
    assert.ok((await chart.locator("rect.s-allowed").count()) >= 1);
    assert.ok((await chart.locator("rect.s-r0").count()) >= 1);
    // The series as a table, and the top details, most first, each slug in monospace.
    await decisions.getByText("Decisions per minute, as a table").click();
    const perMinute = await cellTexts(decisions.getByRole("table", { name: "Decisions per minute" }));
    assert.deepEqual(
      [1, 2, 3].map((column) => perMinute.reduce((sum, row) => sum + Number(row[column]), 0)),
      [3, 4, 0],
    );
    const details = decisions.getByRole("table", { name: "Top details" });
    assert.deepEqual(await cellTexts(details), [
      ["signature_mismatch", "2", "50%"],
      ["authorization_missing", "1", "25%"],
      ["exp_passed", "1", "25%"],
    ]);
    assert.match(
      await details
        .locator("tbody code")
        .first()
        .evaluate((code) => getComputedStyle(code).fontFamily),
      /mono/i,
    );
    await expectAccessible("app with the decisions chart");

    // The window switch: the same decisions over the last 24 hours (a point an hour) and 7 days.
    await decisions.getByRole("radio", { name: "24h" }).check();
    await textMatching(decisions.locator("figcaption"), /^Last 24 hours \(.*\): 7 decisions: 3 allowed, 4 refused;/);
    assert.equal(await decisions.getByRole("radio", { name: "24h" }).isChecked(), true);
    assert.equal(await decisions.getByRole("radio", { name: "1h" }).isChecked(), false);
    await decisions.getByText("Decisions per hour, as a table").waitFor();
    assert.ok([24, 25].includes(await decisions.getByRole("img").locator("title").count()), "a point an hour");
    await decisions.getByRole("radio", { name: "7d" }).check();
    await textMatching(decisions.locator("figcaption"), /^Last 7 days \(.*\): 7 decisions: 3 allowed, 4 refused;/);
    assert.deepEqual(await cellTexts(decisions.getByRole("table", { name: "Top details" })), [
      ["signature_mismatch", "2", "50%"],
      ["authorization_missing", "1", "25%"],
      ["exp_passed", "1", "25%"],
    ]);
    await expectAccessible("app with the 7-day chart");
    await decisions.getByRole("radio", { name: "1h" }).check();
    await textMatching(decisions.locator("figcaption"), /^Last hour /);

    // Without the METRICS binding, stats answers 503: a note says so instead of a chart.
    const stats = `**${stack.adminPrefix}/apps/${APP_ID}/stats?*`;
    await page.route(stats, (route) =>
      route.fulfill({
        status: 503,
        contentType: "application/json",
        body: JSON.stringify({ code: "CONFIG_UNAVAILABLE", status: "Metrics are not configured (no METRICS binding)" }),
      }),
    );
    await decisions.getByRole("button", { name: "Refresh" }).click();
    await textMatching(decisions.locator(".notice"), /^No decision counts: this gateway has no METRICS binding/);
    assert.equal(await decisions.getByRole("img").count(), 0);
    assert.equal(await decisions.getByRole("radio", { name: "1h" }).isVisible(), false);
    await page.unroute(stats);
    await page.reload();
    await textMatching(page.getByRole("region", { name: "Decisions" }).locator("figcaption"), /7 decisions/);
  });

  it("shows each app's refusal rate over the last hour in the apps table", async () => {
    await adminApi(`apps/${APP_ID}-quiet`, { method: "PUT", body: JSON.stringify({ enforcement: "off" }) });
    await page.getByRole("link", { name: "Apps", exact: true }).first().click();
    await page.getByLabel("Search apps").fill(APP_ID);
    const table = page.getByRole("table", { name: "Apps" });
    await textMatching(table.locator("tbody tr").nth(1), new RegExp(`^${APP_ID}-quiet`));
    assert.equal(await table.locator("thead th").nth(3).textContent(), "Refusals (1h)");
    // Refused and throttled over all decisions: 4 of 7. No decisions: a dash.
    const rate = (row: number) => table.locator("tbody tr").nth(row).locator("td").nth(2);
    await textMatching(rate(0), /^57\.1%4 of 7$/);
    await textMatching(rate(1), /^—$/);
    await expectAccessible("apps with refusal rates");
    await table.getByRole("link", { name: APP_ID, exact: true }).click();
    await page.getByRole("heading", { level: 1, name: APP_ID }).waitFor();
  });

  it("the debugger says Allowed for a token minted with that secret, and 38 INVALID_SIGNATURE for one character changed", async () => {
    token = await mintToken(APP_ID, "alice", secret);
    await page.getByRole("link", { name: "Token debugger" }).click();
    await page.getByRole("heading", { level: 1, name: "Token debugger" }).waitFor();
    await page.getByLabel("Token", { exact: true }).fill(token);
    await page.getByRole("button", { name: "Check token" }).click();
    const allowed = await textMatching(verdict(), /^Allowed/);
    assert.match(allowed, /as user alice/);
    const details = await textMatching(page.locator(".verdict-details"), /x-auth-user-id\s*alice/);
    // Which key, and the time claims against the gateway's clock.
    assert.match(details, /Verified with the key without a kid, HS256, fingerprint sha256:[0-9a-f]{16}\./);
    assert.match(details, /exp\s*\d+\s*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, in 15 min\s*not expired/);
    await expectAccessible("token debugger");

    const [header, payload, signature] = token.split(".") as [string, string, string];
    const at = Math.floor(signature.length / 2);
    const changed = `${header}.${payload}.${signature.slice(0, at)}${signature[at] === "A" ? "B" : "A"}${signature.slice(at + 1)}`;
    await page.getByLabel("Token", { exact: true }).fill(changed);
    await page.getByRole("button", { name: "Check token" }).click();
    await textMatching(verdict(), /^38 INVALID_SIGNATURE/);
    await expectAccessible("token debugger with a refusal");
  });

  it("walks the README quickstart in the console alone: a test token minted in the page, bob, an expired one", async () => {
    await page.getByText("Mint a test token").click();
    await page.getByLabel("Signing secret", { exact: true }).fill(secret);
    await page.getByLabel("User ID").fill("alice");
    await page.getByLabel("Expires in (minutes)").fill("15");
    // Emptied first: a token minted in the same second as `token` is the same token.
    await page.getByLabel("Token", { exact: true }).fill("");
    await page.getByRole("button", { name: "Mint test token" }).click();
    await textMatching(page.getByRole("status").filter({ hasText: "Minted" }), /^Minted a token for alice/);
    const minted = await page.getByLabel("Token", { exact: true }).inputValue();
    const claims = JSON.parse(Buffer.from(minted.split(".")[1] ?? "", "base64url").toString()) as Record<
      string,
      unknown
    >;
    assert.equal(claims.userId, "alice");
    assert.equal(claims.appId, APP_ID);
    await page.getByRole("button", { name: "Check token" }).click();
    await textMatching(verdict(), /^Allowed: forwarded to the origin as user alice\.$/);

    await page.getByText("The request (optional)").click();
    await page.getByLabel("Path").fill(`/api/v1/app/${APP_ID}/profile`);
    await page.getByLabel("Query").fill("userId=bob");
    await page.getByRole("button", { name: "Check token" }).click();
    await textMatching(verdict(), /^38 IDENTIFIER_MISMATCH/);
    await page.getByLabel("Query").fill("userId=alice");

    await page.getByLabel("Expires in (minutes)").fill("-5");
    await page.getByRole("button", { name: "Mint test token" }).click();
    await page.getByRole("button", { name: "Check token" }).click();
    await textMatching(verdict(), /^40 TOKEN_EXPIRED/);
    await textMatching(
      page.locator(".verdict-details"),
      /exp\s*\d+\s*\S+ \S+ UTC, 5 min ago\s*expired, past the tolerance/,
    );
    await page.getByLabel("Path").fill("");
    await page.getByLabel("Query").fill("");
  });

  it("judges the request too: a JSON body naming another user is 38 IDENTIFIER_MISMATCH", async () => {
    await page.getByLabel("Token", { exact: true }).fill(token);
    await page.getByLabel("Path").fill(`/api/v1/app/${APP_ID}/profile`);
    await page.getByLabel("JSON body").fill('{"userId":"bob"}');
    await page.getByRole("button", { name: "Check token" }).click();
    await textMatching(verdict(), /^38 IDENTIFIER_MISMATCH/);
  });

  it("adds a second key and retires the first; retiring the last one shows the API's 409 as text", async () => {
    await page.getByRole("link", { name: APP_ID, exact: true }).click();
    await page.getByRole("heading", { level: 1, name: APP_ID }).waitFor();
    await page.getByRole("button", { name: "Add key" }).click();
    await page.getByLabel("Key ID (kid), optional").fill("2026-12");
    await page.getByRole("button", { name: "Generate secret" }).click();
    const second = await page.getByLabel("Secret", { exact: true }).inputValue();
    await expectAccessible("app with the Add key form");
    await page.getByRole("button", { name: "Save key" }).click();
    await page.getByLabel("New secret").waitFor();
    assert.equal(await page.getByLabel("New secret").inputValue(), second);
    await textMatching(keyRows().nth(1), /2026-12/);
    assert.equal(await keyRows().count(), 2);

    await keyRows().first().getByRole("button", { name: "Retire" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Retire key" }).click();
    await textMatching(keyRows().first(), /2026-12/);
    assert.equal(await keyRows().count(), 1);

    // The old secret's tokens stop at once; the new key's pass.
    const view = (await (await adminApi(`apps/${APP_ID}`)).json()) as { keys: { kid: string }[] };
    assert.deepEqual(
      view.keys.map((key) => key.kid),
      ["2026-12"],
    );

    await keyRows().first().getByRole("button", { name: "Retire" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Retire key" }).click();
    const conflict = await textMatching(page.getByRole("alert").filter({ hasText: "409" }), /^409 CONFLICT/);
    assert.match(conflict, /last key/);
    assert.equal(await keyRows().count(), 1);

    await page.getByRole("link", { name: "Token debugger" }).click();
    await page.getByLabel("Token", { exact: true }).fill(token);
    await page.getByRole("button", { name: "Check token" }).click();
    await textMatching(verdict(), /^38 INVALID_SIGNATURE/);
    await page
      .getByLabel("Token", { exact: true })
      .fill(await mintToken(APP_ID, "alice", second, ["--kid", "2026-12"]));
    await page.getByRole("button", { name: "Check token" }).click();
    await textMatching(verdict(), /^Allowed/);
    await textMatching(page.locator(".verdict-details"), /Verified with kid 2026-12, HS256/);
  });

  it("switches the app to report mode", async () => {
    await page.getByRole("link", { name: APP_ID, exact: true }).click();
    await page.getByRole("heading", { level: 1, name: APP_ID }).waitFor();
    await page.getByLabel("Enforcement").selectOption("report");
    await page.getByRole("button", { name: "Save enforcement" }).click();
    await textMatching(page.locator(".facts .badge"), /^report$/);
    const view = (await (await adminApi(`apps/${APP_ID}`)).json()) as { enforcement: string };
    assert.equal(view.enforcement, "report");
  });

  it("shows every API error with its field path, at its field", async () => {
    await page.getByLabel("Clock tolerance (seconds)").fill("301");
    await page.getByRole("button", { name: "Save policy" }).click();
    const alert = await textMatching(page.getByRole("alert").filter({ hasText: "400" }), /^400 BAD_REQUEST/);
    assert.match(alert, /clockToleranceSeconds: must be from 0 to 300/);
    assert.equal(await page.getByLabel("Clock tolerance (seconds)").getAttribute("aria-invalid"), "true");
    await page.getByLabel("Clock tolerance (seconds)").fill("30");
    await page.getByRole("button", { name: "Save policy" }).click();
    await textMatching(page.locator("#announce"), /^Token policy saved\.$/);
    assert.equal(await page.getByLabel("Clock tolerance (seconds)").getAttribute("aria-invalid"), null);
    const view = (await (await adminApi(`apps/${APP_ID}`)).json()) as { clockToleranceSeconds: number };
    assert.equal(view.clockToleranceSeconds, 30);

    await page.goto(`${stack.consoleUrl}#/new`);
    await page.getByLabel("App ID").fill(`${APP_ID}-short`);
    await page.getByLabel("Secret", { exact: true }).fill("c2hvcnQ=");
    await page.getByRole("button", { name: "Create app" }).click();
    const short = await textMatching(page.getByRole("alert").filter({ hasText: "400" }), /^400 BAD_REQUEST/);
    assert.match(short, /keys\.0\.secret: /);
    assert.equal(await page.getByLabel("Secret", { exact: true }).getAttribute("aria-invalid"), "true");
  });

  it("revokes one user in the console: the gateway refuses their old token and passes a new one, until Lift", async () => {
    const appId = USERS_APP;
    const secret = USERS_SECRET;
    const created = await adminApi(`apps/${appId}`, {
      method: "PUT",
      body: JSON.stringify({ enforcement: "enforce", secret }),
    });
    assert.equal(created.status, 201);
    // 26 revoked users already: a page of 25, and one on the next. One write after another: each
    // rewrites the app's record.
    for (let i = 0; i < 26; i++) {
      const res = await adminApi(`apps/${appId}/revocations/user-${String(i).padStart(2, "0")}`, { method: "PUT" });
      assert.equal(res.status, 201);
    }
    await page.goto(`${stack.consoleUrl}#/apps/${appId}`);
    await page.getByRole("heading", { level: 1, name: appId }).waitFor();
    const section = page.getByRole("region", { name: "Revoked users" });
    const rows = page.getByRole("table", { name: "Revoked users" }).locator("tbody tr");
    await textMatching(rows.first(), /^user-00\s*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s*Lift/);
    assert.equal(await rows.count(), 25);
    await textMatching(section.getByText(/revoked, of at most/), /^26 users revoked, of at most 10,000 an app\.$/);
    await section.getByRole("button", { name: "Next page" }).click();
    await textMatching(rows.first(), /^user-25/);
    assert.equal(await rows.count(), 1);
    assert.equal(await section.getByRole("button", { name: "Next page" }).isDisabled(), true);
    await section.getByRole("button", { name: "Previous page" }).click();
    await textMatching(rows.first(), /^user-00/);
    await section.getByLabel("Search revoked users").fill("user-1");
    await textMatching(rows.first(), /^user-10/);
    assert.equal(await rows.count(), 10);
    await section.getByLabel("Search revoked users").fill("nobody");
    await textMatching(rows.first(), /^No revoked user ID starts with that\.$/);
    await section.getByLabel("Search revoked users").fill("");
    await textMatching(rows.first(), /^user-00/);

    // carol's token from two minutes ago passes, until carol is revoked (from now: the default).
    const now = Math.floor(Date.now() / 1000);
    const old = signToken({ appId, userId: "carol", iat: now - 120, exp: now + 900 }, secret);
    assert.equal(await sdkRequest(appId, old), 200);
    await section.getByLabel("User ID").fill("carol");
    await section.getByRole("button", { name: "Revoke user" }).click();
    const dialog = page.getByRole("dialog");
    await textMatching(dialog, /Every token of carol issued before now is refused \(38 TIME_CONSTRAINT_FAILURE/);
    await expectAccessible("app with the revoke confirmation");
    await dialog.getByRole("button", { name: "Revoke user" }).click();
    await textMatching(
      section.getByRole("status").filter({ hasText: "carol" }),
      /^Revoked carol: tokens issued before \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC are refused\.$/,
    );
    await textMatching(rows.first(), /^carol/);
    await textMatching(section.getByText(/revoked, of at most/), /^27 users revoked/);
    assert.equal(await section.getByLabel("User ID").inputValue(), "");
    assert.equal(await sdkRequest(appId, old), 401);
    assert.equal(await gatewayVerdict(appId, old), "38 TIME_CONSTRAINT_FAILURE user_revoked");
    // A token issued now passes; so does another user's old one.
    const fresh = await mintToken(appId, "carol", secret);
    assert.equal(await sdkRequest(appId, fresh), 200);
    assert.equal(
      await sdkRequest(appId, signToken({ appId, userId: "dave", iat: now - 120, exp: now + 900 }, secret)),
      200,
    );

    // A chosen time: erin's tokens issued before an hour ago are refused, later ones pass.
    const hourAgo = new Date((now - 3600) * 1000);
    await section.getByLabel("User ID").fill("erin");
    await section.getByLabel("Revoke tokens issued before").fill(localInput(hourAgo));
    await section.getByRole("button", { name: "Revoke user" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke user" }).click();
    await textMatching(section.getByRole("status").filter({ hasText: "erin" }), /^Revoked erin/);
    const listed = (await (await adminApi(`apps/${appId}/revocations?prefix=erin`)).json()) as {
      revocations: { userId: string; before: string }[];
    };
    assert.deepEqual(listed.revocations, [{ userId: "erin", before: hourAgo.toISOString() }]);
    const erin = (iat: number) => signToken({ appId, userId: "erin", iat, exp: now + 900 }, secret);
    assert.equal(await sdkRequest(appId, erin(now - 7200)), 401);
    assert.equal(await sdkRequest(appId, erin(now - 1800)), 200);

    // The API's refusals, with their paths: a user id too long; the bound of 10,000 users.
    await section.getByLabel("User ID").fill("x".repeat(257));
    await section.getByRole("button", { name: "Revoke user" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke user" }).click();
    const tooLong = await textMatching(section.getByRole("alert").filter({ hasText: "400" }), /^400 BAD_REQUEST/);
    assert.match(tooLong, /userId: must be 1 to 256 characters/);
    assert.equal(await section.getByLabel("User ID").getAttribute("aria-invalid"), "true");
    const full = `**${stack.adminPrefix}/apps/${appId}/revocations/frank`;
    await page.route(full, (route) =>
      route.fulfill({
        status: 409,
        json: { code: "CONFLICT", status: "The app has 10000 revoked users; lift some first" },
      }),
    );
    await section.getByLabel("User ID").fill("frank");
    await section.getByRole("button", { name: "Revoke user" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke user" }).click();
    await textMatching(
      section.getByRole("alert").filter({ hasText: "409" }),
      /^409 CONFLICT: The app has 10000 revoked users; lift some first$/,
    );
    assert.equal(await section.getByLabel("User ID").getAttribute("aria-invalid"), null);
    await page.unroute(full);

    // Lift: carol's old token passes again.
    await rows
      .filter({ hasText: /^carol/ })
      .getByRole("button", { name: "Lift" })
      .click();
    await page.getByRole("dialog").getByRole("button", { name: "Lift revocation" }).click();
    await textMatching(section.getByRole("status").filter({ hasText: "Lifted" }), /^Lifted the revocation of carol\.$/);
    await textMatching(rows.first(), /^erin/);
    await textMatching(section.getByText(/revoked, of at most/), /^27 users revoked/);
    assert.equal(await sdkRequest(appId, old), 200);
    assert.equal((await adminApi(`apps/${appId}/revocations/carol`, { method: "DELETE" })).status, 404);
  });

  it("saves the nonce and millisecond checkboxes and the JWKS URL with PATCH, and shows the JWKS keys", async () => {
    const appId = USERS_APP;
    const policy = page.getByRole("region", { name: "Token policy" });
    const stored = async () =>
      (await (await adminApi(`apps/${appId}`)).json()) as {
        requireNonce?: boolean;
        acceptMillisecondTimestamps?: boolean;
        jwksUri?: string;
      };
    await policy.getByLabel("Accept timestamps in milliseconds").check();
    await policy.getByLabel("Require a nonce (challenge)").check();
    await policy.getByRole("button", { name: "Save policy" }).click();
    await textMatching(page.locator("#announce"), /^Token policy saved\.$/);
    let view = await stored();
    assert.equal(view.acceptMillisecondTimestamps, true);
    assert.equal(view.requireNonce, true);
    await policy.getByLabel("Require a nonce (challenge)").uncheck();
    await policy.getByRole("button", { name: "Save policy" }).click();
    await textMatching(page.locator("#announce"), /^Token policy saved\.$/);
    view = await stored();
    assert.equal(view.requireNonce, false);
    assert.equal(view.acceptMillisecondTimestamps, true);
    assert.equal(await policy.getByLabel("Accept timestamps in milliseconds").isChecked(), true);
    assert.equal(await policy.getByLabel("Require a nonce (challenge)").isChecked(), false);
    // Milliseconds are read as such now: a token as Android's sample makes it passes.
    const ms = Date.now();
    assert.equal(
      await sdkRequest(appId, signToken({ appId, userId: "gina", iat: ms, exp: ms + 900_000 }, USERS_SECRET)),
      200,
    );

    // A JWKS URL the API refuses, with its path; then the local origin's JWKS.
    await policy.getByLabel("JWKS URL").fill("ftp://keys.example.com/jwks.json");
    await policy.getByRole("button", { name: "Save policy" }).click();
    const refused = await textMatching(policy.getByRole("alert").filter({ hasText: "400" }), /^400 BAD_REQUEST/);
    assert.match(refused, /jwksUri: /);
    assert.equal(await policy.getByLabel("JWKS URL").getAttribute("aria-invalid"), "true");
    assert.equal(await page.getByRole("table", { name: "JWKS keys" }).isVisible(), false);
    await policy.getByLabel("JWKS URL").fill(stack.jwks.url);
    await policy.getByRole("button", { name: "Save policy" }).click();
    await textMatching(page.locator("#announce"), /^Token policy saved\.$/);
    assert.equal((await stored()).jwksUri, stack.jwks.url);
    const jwks = page.getByRole("table", { name: "JWKS keys" });
    const expected = new RegExp(
      `^${stack.jwks.kid}\\s*ES256\\s*${stack.jwks.fingerprint}\\s*\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\s*no$`,
    );
    await textMatching(jwks.locator("tbody tr").first(), expected);
    await policy.getByRole("button", { name: "Refresh JWKS" }).click();
    await textMatching(page.locator("#announce"), /^JWKS refreshed: 1 key\.$/);
    await textMatching(jwks.locator("tbody tr").first(), expected);
    assert.equal(await policy.getByLabel("JWKS URL").getAttribute("aria-invalid"), null);
    await expectAccessible("app with revoked users and JWKS keys");
    // Read afresh, the page shows the keys from the app's view.
    await page.reload();
    await textMatching(page.getByRole("table", { name: "JWKS keys" }).locator("tbody tr").first(), expected);
    assert.equal(await page.getByLabel("Accept timestamps in milliseconds").isChecked(), true);
  });

  it("searches apps by appId prefix and pages with the API's cursor", async () => {
    await Promise.all(
      Array.from({ length: 27 }, (_, i) =>
        adminApi(`apps/page-${String(i).padStart(2, "0")}`, {
          method: "PUT",
          body: JSON.stringify({ enforcement: "off" }),
        }),
      ),
    );
    await page.getByRole("link", { name: "Apps", exact: true }).first().click();
    await page.getByRole("heading", { level: 1, name: "Apps" }).waitFor();
    await page.getByRole("link", { name: "page-00" }).waitFor();
    await page.locator("td[aria-busy]").first().waitFor({ state: "detached" });
    // Each stats answer is held 100 ms, so every request the page starts meanwhile is in flight.
    let inFlight = 0;
    let mostInFlight = 0;
    const stats = `**${stack.adminPrefix}/apps/page-*/stats?*`;
    await page.route(stats, async (route) => {
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 100));
      inFlight -= 1;
      await route.continue();
    });
    await page.getByLabel("Search apps").fill("page-");
    const rows = page.getByRole("table", { name: "Apps" }).locator("tbody tr");
    await textMatching(rows.first(), /^page-00/);
    assert.equal(await rows.count(), 25);
    // Each row's refusal rate is loaded after the table shows, at most 6 requests at a time.
    await textMatching(rows.nth(24).locator("td").nth(2), /^—$/);
    assert.deepEqual(
      (await cellTexts(page.getByRole("table", { name: "Apps" }))).map((row) => row[3]),
      Array(25).fill("—"),
    );
    await page.unroute(stats);
    assert.equal(mostInFlight, 6, "stats requests at once");
    await page.getByRole("button", { name: "Next page" }).click();
    await textMatching(rows.first(), /^page-25/);
    assert.equal(await rows.count(), 2);
    assert.equal(await page.getByRole("button", { name: "Next page" }).isDisabled(), true);
    await page.getByRole("button", { name: "Previous page" }).click();
    await textMatching(rows.first(), /^page-00/);
    await page.getByLabel("Search apps").fill(APP_ID);
    await textMatching(rows.first(), new RegExp(`^${APP_ID}\\s*report\\s*1`));
  });

  it("signs everyone out after a confirmation, and deletes the app after its App ID is typed", async () => {
    await page.getByRole("link", { name: APP_ID, exact: true }).click();
    await page.getByRole("heading", { level: 1, name: APP_ID }).waitFor();
    await page.getByRole("button", { name: "Sign everyone out now" }).click();
    await expectAccessible("app with a confirmation dialog");
    await page.getByRole("dialog").getByRole("button", { name: "Sign everyone out" }).click();
    await textMatching(
      page.getByRole("region", { name: "Sign everyone out" }).locator("p"),
      /^Tokens issued before \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC are refused\.$/,
    );
    const signedOut = (await (await adminApi(`apps/${APP_ID}`)).json()) as { tokensNotBefore?: string };
    assert.ok(signedOut.tokensNotBefore);

    await page.getByRole("button", { name: "Delete app" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel(`Type ${APP_ID} to confirm`).fill("something else");
    assert.equal(await dialog.getByRole("button", { name: "Delete app" }).isDisabled(), true);
    await dialog.getByLabel(`Type ${APP_ID} to confirm`).fill(APP_ID);
    await dialog.getByRole("button", { name: "Delete app" }).click();
    await page.getByRole("heading", { level: 1, name: "Apps" }).waitFor();
    await textMatching(page.locator(".notice"), new RegExp(`Deleted app ${APP_ID}`));
    assert.equal((await adminApi(`apps/${APP_ID}`)).status, 404);
  });

  it("sent the admin token as Authorization: Bearer on every API call, never a cookie", async () => {
    // The first call is the wrong token's sign-in attempt.
    const [wrong, ...rest] = apiRequests;
    assert.equal(wrong?.authorization, "Bearer not-the-admin-token-0123456789abcdef");
    assert.ok(rest.length > 10);
    for (const request of apiRequests) assert.equal(request.cookie, undefined, request.url);
    for (const request of rest) {
      assert.equal(request.authorization, `Bearer ${stack.adminToken}`, request.url);
    }
    assert.deepEqual(await browser.context.cookies(), []);
  });

  it("worked under its CSP without one violation or page error; and the policy is in force", async () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(violations, []);
    assert.deepEqual(
      await page.evaluate(() => (globalThis as { __cspViolations?: string[] }).__cspViolations ?? []),
      [],
    );
    // The policy is in force: another origin, an inline style and an HTML sink are all refused.
    const refused = await page.evaluate(async () => {
      const outcomes: string[] = [];
      await fetch("http://127.0.0.1:9/elsewhere").then(
        () => outcomes.push("fetched"),
        () => outcomes.push("fetch refused"),
      );
      const probe = document.createElement("p");
      probe.setAttribute("style", "color: red");
      document.body.append(probe);
      outcomes.push(getComputedStyle(probe).color === "rgb(255, 0, 0)" ? "styled" : "style refused");
      try {
        probe.innerHTML = "<b>markup</b>";
        outcomes.push("markup set");
      } catch {
        outcomes.push("markup refused");
      }
      probe.remove();
      return outcomes;
    });
    assert.deepEqual(refused, ["fetch refused", "style refused", "markup refused"]);
    const reported = await page.waitForFunction(() => {
      const list = (globalThis as { __cspViolations?: string[] }).__cspViolations ?? [];
      return list.length >= 3 && list;
    });
    assert.deepEqual((await reported.jsonValue()).sort(), [
      "connect-src http://127.0.0.1:9/elsewhere",
      "require-trusted-types-for trusted-types-sink",
      "style-src-attr inline",
    ]);
  });
});
