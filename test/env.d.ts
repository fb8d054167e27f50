// Types for `env` and `exports` from "cloudflare:workers" in tests. worker-configuration.d.ts
// (`npm run cf-typegen`) types the bindings of wrangler.toml (APPS) and the main module; these are
// the bindings vitest.config.ts adds for the tests.
declare namespace Cloudflare {
  interface Env {
    ORIGIN_URL: string;
    ADMIN_TOKEN: string;
    NONCE_SECRET: string;
  }
}

// Vite's `?raw` imports: a file's text (the docs tests read docs/*.md this way).
declare module "*?raw" {
  const text: string;
  export default text;
}
