// Wraps the gateway bundle to count APPS reads (the unknown-apps scenario). The wrapped env is
// made once per env object, as the gateway caches its configuration per env object.
import gateway from "./gateway.mjs";

let reads = 0;
const wrapped = new WeakMap();

function countingEnv(env) {
  let result = wrapped.get(env);
  if (!result) {
    const apps = {
      get: (...args) => {
        reads += 1;
        return env.APPS.get(...args);
      },
      list: (...args) => env.APPS.list(...args),
      put: (...args) => env.APPS.put(...args),
      delete: (...args) => env.APPS.delete(...args),
    };
    result = { ...env, APPS: apps };
    wrapped.set(env, result);
  }
  return result;
}

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__bench/kv-reads") return Response.json({ reads });
    return gateway.fetch(request, countingEnv(env), ctx);
  },
};
