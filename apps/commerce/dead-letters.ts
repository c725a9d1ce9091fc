/**
 * Dead letters of the commerce topologies: the record layout of schemas/dead-letter.ts (the
 * original key and value kept, headers naming the error code and message and the source topic,
 * partition and offset), plus the name of the offending field when there is one.
 */
import type { ProcessorContext, RecordHeaders } from '../../processors/index.ts'
import { buildDeadLetterRecord } from '../../schemas/index.ts'

/** Header naming the field a rejected event lacks or has wrong (absent when no field is at fault). */
export const DEAD_LETTER_FIELD_HEADER = 'runnel.dlq.error.field'

/** Why a commerce event was rejected: a stable `code`, a message, and the field at fault if any. */
export interface Rejection {
  readonly code: string
  readonly message: string
  readonly field?: string
}

/** A rejection as an error (the dead-letter builder reads `code` and `message` of errors). */
export class RejectedEventError extends Error {
  readonly code: string
  readonly field: string | undefined
  constructor(rejection: Rejection) {
    super(rejection.message)
    this.name = 'RejectedEventError'
    this.code = rejection.code
    this.field = rejection.field
  }
}

/**
 * Headers of the dead letter of the record `context` is processing: its own headers plus the
 * dead-letter headers (`runnel.dlq.error.code`, `.message`, `.part` = value, `runnel.dlq.topic`,
 * `.partition`, `.offset`) and `runnel.dlq.error.field`.
 */
export function deadLetterHeaders(
  context: ProcessorContext<unknown, unknown>,
  headers: RecordHeaders,
  rejection: Rejection,
  timestampMs: number
): RecordHeaders {
  const source = context.recordMetadata() ?? { topic: 'unknown', partition: -1, offset: -1 }
  const letter = buildDeadLetterRecord({
    applicationId: context.applicationId,
    record: { ...source, key: null, value: null, timestamp: timestampMs, headers: Object.entries(headers) },
    error: new RejectedEventError(rejection),
    part: 'value'
  })
  const out: Record<string, Buffer> = Object.fromEntries(letter.headers)
  if (rejection.field !== undefined) out[DEAD_LETTER_FIELD_HEADER] = Buffer.from(rejection.field, 'utf8')
  return out
}
