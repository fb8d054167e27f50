import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        kvNamespaces: ["APPS"],
        bindings: { ORIGIN_URL: "https://origin.test/base" },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    // The gateway logs a line per rejection; show them only for a failing test.
    silent: "passed-only",
  },
});
