/**
 * Errors of topology construction. Each names the node (or store, or topic) that is wrong.
 */

import { errorCodes, RunnelError, type CodeOf } from '../errors/index.ts'

/** Codes of topology errors. */
export const TopologyErrorCodes = errorCodes(
  'ALREADY_BUILT',
  'BAD_APPLICATION_ID',
  'BAD_NAME',
  'BAD_OPTION',
  'BAD_PARTITIONS',
  'BAD_STORE',
  'BAD_SUPPLIER',
  'BAD_TOPIC',
  'CYCLE',
  'DUPLICATE_NAME',
  'DUPLICATE_STORE',
  'EMPTY',
  'FOREIGN_STREAM',
  'FOREIGN_TABLE',
  'NOT_A_PROCESSOR',
  'NOT_COPARTITIONED',
  'NOT_WINDOWED',
  'NO_JOIN_WINDOWS',
  'NO_PARENT',
  'NO_SERDE',
  'NO_TOPIC',
  'NO_TOPICS',
  'PARTITION_CONFLICT',
  'PARTITION_MISMATCH',
  'RETENTION_TOO_SHORT',
  'SINK_AS_PARENT',
  'TABLE_NOT_READABLE',
  'TOPIC_ALREADY_READ',
  'UNKNOWN_PARENT',
  'UNKNOWN_PARTITIONS',
  'UNKNOWN_PROCESSOR',
  'UNKNOWN_STORE',
  'UNUSED_STORE'
)
export type TopologyErrorCode = CodeOf<typeof TopologyErrorCodes>

/** An invalid topology: thrown when it is built or described. `nodeName` is the node at fault. */
export class TopologyError extends RunnelError<TopologyErrorCode> {
  readonly nodeName: string | undefined
  constructor(code: TopologyErrorCode, message: string, options?: { nodeName?: string; cause?: unknown }) {
    super(code, message, options)
    this.nodeName = options?.nodeName
  }
}
