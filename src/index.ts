/** The Worker entry: validate the configuration once, then hand the request to the app. */

import { gatewayFor } from "./app.ts";
import { ConfigError, type Env, loadConfig } from "./config.ts";
import { errorResponse, GatewayError } from "./errors.ts";
import { describeUnexpected, logEvent } from "./log.ts";

/** The Durable Object class of decision counts (wrangler.toml `[[durable_objects.bindings]]`). */
export { AppMetrics } from "./metrics/app-metrics.ts";
/** The Durable Object class that binds challenge nonces to tokens (`NONCES`). */
export { AppNonces } from "./nonces/app-nonces.ts";

export default {
  fetch(request, env, ctx) {
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig(env);
    } catch (error) {
      // A bad variable answers 500 on every route, /healthz included: never guess a value.
      if (error instanceof ConfigError)
        logEvent("error", "config_invalid", { variable: error.variable, rule: error.message });
      else logEvent("error", "internal_error", describeUnexpected(error));
      return errorResponse(new GatewayError("INTERNAL_ERROR"));
    }
    return gatewayFor(config, env).fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
