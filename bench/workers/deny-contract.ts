// The gateway's own no-check path of a rejection: its answer to a bad signature exactly as the
// gateway renders it (src/errors.ts: the contract's JSON body, Content-Type, Cache-Control and
// WWW-Authenticate), made without reading the request. The contract fixes that answer, so its
// cost is the gateway's answer, not its verification.
import { errorResponse, refusal } from "../../src/errors.ts";

export default {
  fetch() {
    return errorResponse(refusal("signature_mismatch"));
  },
} satisfies ExportedHandler;
