/**
 * npm run token -- --app <appId> --user <id> [--exp 1h] [--secret S --encoding base64|utf8]
 *
 * Prints a signed HS256 token for one app. Without --secret, the app's secret is read from the
 * local KV that `npm start` uses. The token is the only thing written to stdout.
 */

import { parseArgs } from "node:util";
import { readLocalRecord } from "./lib/local-kv.ts";
import { mintAppToken, parseDuration } from "./lib/mint.ts";

const USAGE = `usage: npm run token -- --app <appId> --user <id> [--exp 1h | --exp none]
                      [--app-user <id>] [--customer <id>] [--secret <secret> --encoding base64|utf8]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      app: { type: "string" },
      user: { type: "string" },
      "app-user": { type: "string" },
      customer: { type: "string" },
      exp: { type: "string", default: "1h" },
      secret: { type: "string" },
      encoding: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const appId = values.app;
  const claims: Record<string, string> = {};
  if (values.user) claims.userId = values.user;
  if (values["app-user"]) claims.appUserId = values["app-user"];
  if (values.customer) claims.customerId = values.customer;
  if (!appId || Object.keys(claims).length === 0)
    throw new Error(`--app and one of --user, --app-user, --customer are required\n${USAGE}`);
  const encoding = values.encoding ?? "base64";
  if (encoding !== "base64" && encoding !== "utf8") throw new Error("--encoding must be base64 or utf8");

  let secret = values.secret;
  let secretEncoding: "base64" | "utf8" = encoding;
  if (secret === undefined) {
    const record = await readLocalRecord(appId);
    if (!record) throw new Error(`no app ${appId} in local KV; run npm start once, or pass --secret`);
    if (typeof record.secret !== "string") throw new Error(`app ${appId} has no secret (JWT is off)`);
    secret = record.secret;
    secretEncoding = record.secretEncoding === "utf8" ? "utf8" : "base64";
  }
  const lifetimeSeconds = values.exp === "none" ? null : parseDuration(values.exp);
  console.log(await mintAppToken({ appId, claims, secret, encoding: secretEncoding, lifetimeSeconds }));
}

main().catch((error: unknown) => {
  console.error(`token: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
