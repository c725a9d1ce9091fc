/**
 * Errors of the processing layer. Every error has a stable string `code` and keeps its `cause`.
 */

import { errorCodes, RunnelError, type CodeOf } from '../errors/index.ts'

/** Codes of the processing layer's errors. */
export const ProcessingErrorCodes = errorCodes(
  'DESERIALIZATION_FAILED',
  'ILLEGAL_STATE',
  'INVALID_OPTION',
  'INVALID_PLAN',
  'PROCESSING_FAILED',
  'UNKNOWN_PARTITION',
  'UNKNOWN_TOPIC',
  'UNSUPPORTED',
  // The test driver's (topology/test-driver.ts).
  'BAD_PARTITION',
  'DRIVER_CLOSED',
  'DRIVER_NEEDS_RESOLVE',
  'DRIVER_NOT_QUIET',
  'NO_RECORD'
)
export type ProcessingErrorCode = CodeOf<typeof ProcessingErrorCodes>

/** Base error of tasks and processors. */
export class StreamsError extends RunnelError<ProcessingErrorCode> {}

/** A processor threw while processing a record (and the processing handler said `fail`). */
export class ProcessingError extends StreamsError {
  /** The processor node that threw. */
  readonly processorName: string
  constructor(processorName: string, message: string, options?: { cause?: unknown }) {
    super('PROCESSING_FAILED', message, options)
    this.processorName = processorName
  }
}

/** A record could not be deserialized and the deserialization handler said `fail`. */
export class DeserializationFailure extends StreamsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DESERIALIZATION_FAILED', message, options)
  }
}

/** Invalid options given to a task, a window definition or a processor. */
export class InvalidOptionError extends StreamsError {
  readonly option: string
  constructor(option: string, message: string) {
    super('INVALID_OPTION', `${option}: ${message}`)
    this.option = option
  }
}
