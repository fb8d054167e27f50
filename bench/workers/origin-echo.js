// The smoke's origin: answers with the identity headers it received, so the smoke can check what
// each variant forwards. The measured runs use origin.js, which reads nothing.
export default {
  fetch(request) {
    const header = (name) => request.headers.get(name);
    return Response.json({
      origin: true,
      method: request.method,
      appId: header("x-auth-app-id"),
      userId: header("x-auth-user-id"),
      claims: header("x-auth-claims"),
    });
  },
};
