// The no-check path of a rejection: answer 401 without reading anything. A rejected request is
// never forwarded, so its verification cost is measured against this, not against bare.
export default {
  fetch() {
    return new Response(null, { status: 401 });
  },
};
