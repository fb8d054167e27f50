/**
 * The one error the issuer throws for a mistake of its caller: which option is wrong and why.
 * Messages name the option and state the rule, never a value: a secret or private key never
 * reaches a message.
 */

/** `INVALID_OPTION`: an option breaks a rule. `INVALID_KEY`: `key` cannot sign for `alg`. */
export type IssuerErrorCode = "INVALID_OPTION" | "INVALID_KEY";

export class IssuerError extends Error {
  override readonly name = "IssuerError";
  readonly code: IssuerErrorCode;
  /** The option at fault, as `mintToken` or `generateAppKey` names it (`key`, `expiresIn`, …). */
  readonly option: string;

  constructor(code: IssuerErrorCode, option: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.option = option;
  }
}
