/**
 * The deserialization handler the runtime gives every task. Under `log-and-continue` a record that
 * cannot be deserialized is logged and its raw bytes go to `<applicationId>-dlq` with headers naming
 * the error, the failing part and the source topic, partition and offset (through the task's
 * collector, so under exactly-once the dead letter is in the same transaction as the offsets that
 * skip it). Under `log-and-fail` it is logged and the instance stops with a
 * `DeserializationFailedError`. Never a silent drop.
 *
 * Quiet by default: one line per record at warn (error under log-and-fail) with the error code,
 * topic, partition, offset, failing part and the error's message; the stack only at debug level.
 * A stream of malformed input then costs one short line each, not a stack trace each.
 */
import type { Logger } from 'pino'
import type { ErrorHandlerResponse, FailedRecord, RecordCollector, TopologyPlan } from '../processors/index.ts'
import {
  buildDeadLetterRecord,
  DeserializationErrorPolicies,
  DeserializationFailedError,
  type DeserializationErrorPolicy,
  type Serde
} from '../schemas/index.ts'

export interface DeserializationHandlerOptions {
  readonly plan: TopologyPlan
  readonly applicationId: string
  readonly policy: DeserializationErrorPolicy
  readonly collector: RecordCollector
  readonly deadLetterTopic: string
  readonly deadLetterPartitions: number
  readonly logger: Logger
  /** Under log-and-fail: receives the error that stops the instance. */
  readonly onFail: (error: DeserializationFailedError) => void
}

export function createDeserializationHandler(options: DeserializationHandlerOptions): (record: FailedRecord, error: unknown) => ErrorHandlerResponse {
  const keySerdes = new Map<string, Serde<unknown>>()
  for (const sub of options.plan.subtopologies) {
    for (const node of sub.nodes) if (node.kind === 'source') for (const topic of node.topics) keySerdes.set(topic, node.keySerde)
  }
  // Which part failed: the task deserializes the key first, so if the key reads, the value failed.
  const failedPart = (record: FailedRecord): 'key' | 'value' => {
    const serde = keySerdes.get(record.topic)
    if (record.key === null || serde === undefined) return 'value'
    try {
      serde.deserialize(record.topic, record.key)
      return 'value'
    } catch {
      return 'key'
    }
  }
  return (record, error) => {
    const part = failedPart(record)
    const where = { code: errorCode(error), topic: record.topic, partition: record.partition, offset: record.offset, part }
    const reason = error instanceof Error ? error.message : String(error)
    if (options.policy === DeserializationErrorPolicies.LOG_AND_FAIL) {
      options.logger.error({ ...where, reason }, 'record cannot be deserialized: stopping (deserializationErrorPolicy log-and-fail)')
      options.logger.debug({ ...where, err: error }, 'record cannot be deserialized: the error')
      options.onFail(new DeserializationFailedError(record, part, error))
      return 'fail'
    }
    const letter = buildDeadLetterRecord({
      applicationId: options.applicationId,
      record: {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        key: record.key,
        value: record.value,
        timestamp: record.timestampMs,
        headers: Object.entries(record.headers ?? {})
      },
      error,
      part
    })
    options.collector.send({
      topic: options.deadLetterTopic,
      partition: record.partition % options.deadLetterPartitions,
      key: letter.key,
      value: letter.value,
      timestampMs: record.timestampMs,
      headers: Object.fromEntries(letter.headers)
    })
    options.logger.warn({ ...where, deadLetterTopic: options.deadLetterTopic, reason }, 'record cannot be deserialized: sent to the dead-letter topic')
    options.logger.debug({ ...where, err: error }, 'record cannot be deserialized: the error')
    return 'continue'
  }
}

// The code the dead-letter header carries: a serde error's stable code, else UNKNOWN.
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code !== '' ? code : 'UNKNOWN'
}
