/**
 * `edge-authenticator/client`: for the SDK side (browsers, React Native, Workers, Node ≥ 18).
 * It needs only `fetch` and imports nothing; docs/sdk.md shows it in use.
 */

export {
  type Client,
  type ClientOptions,
  createClient,
  type FetchFunction,
  type TokenRequest,
  type TokenRequestReason,
} from "./client.ts";
export {
  type AuthError,
  type AuthErrorCode,
  type AuthErrorReason,
  AuthSuspendedError,
  NonceUnavailableError,
} from "./errors.ts";
