/**
 * `edge-authenticator/issuer`: for app backends (Node, Workers, Deno, Bun). `mintToken` signs
 * the token a user's SDK sends through the gateway, with the app's key read exactly as the
 * gateway reads it; `generateAppKey` makes the key material to register through the admin API.
 * jose signs; nothing here imports the Worker.
 */

export type { SecretEncoding } from "../lib/secret-key.ts";
export {
  HMAC_ALGORITHMS,
  type HmacAlgorithm,
  isHmacAlgorithm,
  JWS_ALGORITHMS,
  type JwsAlgorithm,
  PUBLIC_KEY_ALGORITHMS,
  type PublicKeyAlgorithm,
} from "./algorithms.ts";
export { parseDuration } from "./duration.ts";
export { IssuerError, type IssuerErrorCode } from "./errors.ts";
export {
  type AppKeyRegistration,
  type GenerateAppKeyOptions,
  type GeneratedAppKey,
  generateAppKey,
  type HmacKeyRegistration,
  type PublicKeyRegistration,
} from "./generate.ts";
export { type MintTokenOptions, type MintTokenSettings, mintToken, type TokenUser } from "./mint.ts";
export type { SigningKeyInput } from "./signing-key.ts";
