/**
 * The local KV that `wrangler dev` uses (kept under .wrangler/state), read through wrangler's own
 * `kv key get`, so the scripts and the dev server always agree on where records are stored.
 * Records are written only through the admin API.
 */

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const PERSIST_TO = ".wrangler/state";
const WRANGLER = fileURLToPath(new URL("../../node_modules/.bin/wrangler", import.meta.url));
const KV_FLAGS = ["--binding", "APPS", "--local", "--persist-to", PERSIST_TO];
const ENV = { ...process.env, WRANGLER_SEND_METRICS: "false" };

/** The app record stored under `app:{appId}` in local KV, or `null`. */
export async function readLocalRecord(appId: string): Promise<Record<string, unknown> | null> {
  try {
    const { stdout } = await run(WRANGLER, ["kv", "key", "get", `app:${appId}`, "--text", ...KV_FLAGS], {
      cwd: PROJECT_ROOT,
      env: ENV,
    });
    const text = stdout.trim();
    if (text === "" || text === "Value not found") return null;
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    const output = `${(error as { stdout?: string }).stdout ?? ""}${(error as { stderr?: string }).stderr ?? ""}`;
    if (output.includes("Value not found")) return null;
    throw new Error(`could not read app:${appId} from local KV (wrangler kv key get failed)`);
  }
}
