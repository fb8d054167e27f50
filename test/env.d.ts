// Types for `env` and `exports` from "cloudflare:workers" in tests (what `wrangler types` would emit).
type GatewayEnv = import("../src/config.ts").Env;

declare namespace Cloudflare {
  interface Env extends GatewayEnv {}
  interface GlobalProps {
    mainModule: typeof import("../src/index.ts");
  }
}
