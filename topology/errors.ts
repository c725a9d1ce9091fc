/**
 * Errors of topology construction. Each names the node (or store, or topic) that is wrong.
 */

/** An invalid topology: thrown when it is built or described. `nodeName` is the node at fault. */
export class TopologyError extends Error {
  readonly code: string
  readonly nodeName: string | undefined
  constructor(code: string, message: string, options?: { nodeName?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'TopologyError'
    this.code = code
    this.nodeName = options?.nodeName
  }
}
