// The limit: forward to the origin without checking anything.
export default {
  fetch(request, env) {
    return env.ORIGIN.fetch(request);
  },
};
