/**
 * The admin console's files, served at `GET {ADMIN_PREFIX}/` from the Worker's static assets
 * (`[assets]` in wrangler.toml, bound as `ASSETS`; built into console/dist by
 * `npm run build:console`). They hold no data and need no credential: the page asks for the admin
 * token and sends it as `Authorization: Bearer` to the admin API, so there is no cookie for a
 * cross-site request to ride on. A strict Content-Security-Policy allows only the console's own
 * script, style and API calls, and no framing.
 */

import type { Hono } from "hono";
import { rawTarget } from "../lib/raw-target.ts";

/** The console's files: the path under the prefix → the asset. */
const FILES: Readonly<Record<string, string>> = {
  "/": "/index.html",
  "/console.js": "/console.js",
  "/console.css": "/console.css",
};

/**
 * The headers of every console file: its own origin only, no inline code, never in a frame. Trusted
 * Types with no policy at all make every HTML and script sink (`innerHTML`, `script.src`, …) throw:
 * the console builds its DOM from elements and text only, so a token's claims or an API answer can
 * never become markup, even through a future mistake.
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
    "require-trusted-types-for 'script'; trusted-types 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cache-control": "no-store",
};

type ConsoleEnv = { Bindings: { ASSETS?: Fetcher } };

/**
 * Registers the console's routes on `app`, before the admin credential's middleware: they answer
 * the files without calling it. Without an `ASSETS` binding the console answers 404.
 */
export function registerConsole<E extends ConsoleEnv>(app: Hono<E>, prefix: string): void {
  // `{prefix}` without its slash: the page's relative links need the directory form.
  app.get(prefix, (c, next) => {
    if (rawTarget(c.req.url).path.endsWith("/")) return next();
    return new Response(null, { status: 308, headers: { location: `${prefix}/`, "cache-control": "no-store" } });
  });
  for (const [path, asset] of Object.entries(FILES)) {
    app.get(path === "/" ? prefix : `${prefix}${path}`, async (c, next) => {
      const assets = c.env.ASSETS;
      if (assets === undefined) return next();
      const file = await assets.fetch(new URL(asset, c.req.url));
      if (!file.ok) return next();
      const headers = new Headers(file.headers);
      for (const [name, value] of Object.entries(CONSOLE_HEADERS)) headers.set(name, value);
      return new Response(file.body, { status: 200, headers });
    });
  }
}
