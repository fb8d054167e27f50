import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        kvNamespaces: ["APPS"],
        bindings: {
          ORIGIN_URL: "https://origin.test/base",
          // Test-only admin credential (the production one is a Worker secret).
          ADMIN_TOKEN: "test-admin-token-0123456789abcdefghij",
          // Test-only key of challenge nonces (the production one is a Worker secret).
          NONCE_SECRET: "test-nonce-secret-0123456789abcdefghijkl",
        },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    // The gateway logs a line per rejection; show them only for a failing test.
    silent: "passed-only",
    // Every spy is restored after its test, whether or not the test reached its own cleanup.
    restoreMocks: true,
  },
});
