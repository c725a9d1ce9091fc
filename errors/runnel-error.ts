/**
 * The one error base of the project. Each layer declares its codes once, as an `as const` object
 * with a union type, and its base class fixes `C` to that union: a code is checked where it is
 * thrown, and callers decide by class (`instanceof TaskMigratedError`), by code only within a layer.
 */
export class RunnelError<C extends string = string> extends Error {
  /** Stable, for programs and logs; the message is for people. */
  readonly code: C
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
  }
}

/** The union of an `as const` code object's values. */
export type CodeOf<T extends Record<string, string>> = T[keyof T]

/** Builds a layer's code object from its codes: `{ STATE_BAD_OPTION: 'STATE_BAD_OPTION', ... }`. */
export function errorCodes<const K extends string>(...codes: readonly K[]): { readonly [P in K]: P } {
  return Object.freeze(Object.fromEntries(codes.map((c) => [c, c]))) as { readonly [P in K]: P }
}
