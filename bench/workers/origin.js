// The trivial origin every variant forwards to, so the origin costs the same everywhere.
export default {
  fetch() {
    return new Response("ok", { headers: { "content-type": "text/plain" } });
  },
};
