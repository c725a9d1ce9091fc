import { SerdeError } from './serde.ts'

/**
 * Dead letters: what happens to a record whose key or value cannot be deserialized. The runtime
 * applies the policy; this module defines it and builds the dead-letter record, so that the record's
 * layout is one tested function.
 */

/**
 * What the runtime does with a record that fails to deserialize (after one `resolve` and retry):
 * - `log-and-continue` (default): log it, send the raw record to `<application id>-dlq` with headers
 *   naming the error and the source, and continue with the next record;
 * - `log-and-fail`: log it and stop the instance with a `DeserializationFailedError`.
 * Never a silent drop: both policies log, and the first also keeps the bytes.
 */
export const DeserializationErrorPolicies = {
  LOG_AND_CONTINUE: 'log-and-continue',
  LOG_AND_FAIL: 'log-and-fail'
} as const

/** One of `DeserializationErrorPolicies`. */
export type DeserializationErrorPolicy = (typeof DeserializationErrorPolicies)[keyof typeof DeserializationErrorPolicies]

/** The policy when none is configured. */
export const DEFAULT_DESERIALIZATION_ERROR_POLICY: DeserializationErrorPolicy = DeserializationErrorPolicies.LOG_AND_CONTINUE

/** Checks a configured policy, naming the option when it is not one of the known values. */
export function parseDeserializationErrorPolicy(value: unknown, option = 'deserializationErrorPolicy'): DeserializationErrorPolicy {
  if (value === undefined) return DEFAULT_DESERIALIZATION_ERROR_POLICY
  const known = Object.values(DeserializationErrorPolicies) as string[]
  if (typeof value !== 'string' || !known.includes(value)) {
    throw new TypeError(`option "${option}" must be one of ${known.map((k) => `'${k}'`).join(', ')}, got ${JSON.stringify(value)}`)
  }
  return value as DeserializationErrorPolicy
}

/** Header names of a dead-letter record (values are UTF-8). */
export const DeadLetterHeaders = {
  /** Stable error code, e.g. `SERDE_AVRO_MAGIC_BYTE` (see `SerdeErrorCodes`); `UNKNOWN` for non-serde errors. */
  ERROR_CODE: 'runnel.dlq.error.code',
  /** Human-readable error message, at most `DEAD_LETTER_MESSAGE_MAX_BYTES`. */
  ERROR_MESSAGE: 'runnel.dlq.error.message',
  /** `key` or `value`: which part of the record failed. */
  ERROR_PART: 'runnel.dlq.error.part',
  /** Topic the record was read from. */
  TOPIC: 'runnel.dlq.topic',
  /** Partition it was read from, decimal. */
  PARTITION: 'runnel.dlq.partition',
  /** Its offset there, decimal. */
  OFFSET: 'runnel.dlq.offset'
} as const

/** Longest error message kept in a header, bytes: a header is not a log file. */
export const DEAD_LETTER_MESSAGE_MAX_BYTES = 2048

/** Dead-letter topic of an application: `<application id>-dlq`. */
export function deadLetterTopic(applicationId: string): string {
  if (typeof applicationId !== 'string' || applicationId.trim() === '') {
    throw new TypeError(`deadLetterTopic: application id must be a non-empty string, got ${JSON.stringify(applicationId)}`)
  }
  return `${applicationId}-dlq`
}

/** A record as read from Kafka, before deserialization. */
export interface RawRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint | number
  readonly key: Buffer | null | undefined
  readonly value: Buffer | null | undefined
  /** The record's timestamp, epoch ms; the dead letter keeps it. */
  readonly timestamp?: bigint | number
  /** The record's own headers; the dead letter keeps them (ours win on a name clash). */
  readonly headers?: Iterable<readonly [string | Buffer, Buffer | null]>
}

/** A record ready to produce to the dead-letter topic. */
export interface DeadLetterRecord {
  readonly topic: string
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly timestamp: bigint | undefined
  readonly headers: Map<string, Buffer>
}

/** What `buildDeadLetterRecord` needs. */
export interface DeadLetterInput {
  readonly applicationId: string
  readonly record: RawRecord
  readonly error: unknown
  /** Which part failed to deserialize. */
  readonly part: 'key' | 'value'
}

/**
 * The dead-letter record for a raw record that failed to deserialize: the same key and value bytes,
 * untouched, on `<application id>-dlq`, with the original headers plus `DeadLetterHeaders` naming
 * the error code and message, the failing part, and the source topic, partition and offset.
 */
export function buildDeadLetterRecord(input: DeadLetterInput): DeadLetterRecord {
  const { record, error, part } = input
  const headers = new Map<string, Buffer>()
  for (const [name, value] of record.headers ?? []) {
    if (value !== null) headers.set(typeof name === 'string' ? name : name.toString('utf8'), value)
  }
  headers.set(DeadLetterHeaders.ERROR_CODE, Buffer.from(errorCode(error), 'utf8'))
  headers.set(DeadLetterHeaders.ERROR_MESSAGE, truncateUtf8(errorMessage(error), DEAD_LETTER_MESSAGE_MAX_BYTES))
  headers.set(DeadLetterHeaders.ERROR_PART, Buffer.from(part, 'utf8'))
  headers.set(DeadLetterHeaders.TOPIC, Buffer.from(record.topic, 'utf8'))
  headers.set(DeadLetterHeaders.PARTITION, Buffer.from(String(record.partition), 'utf8'))
  headers.set(DeadLetterHeaders.OFFSET, Buffer.from(String(record.offset), 'utf8'))
  return {
    topic: deadLetterTopic(input.applicationId),
    key: record.key ?? null,
    value: record.value ?? null,
    timestamp: record.timestamp === undefined ? undefined : BigInt(record.timestamp),
    headers
  }
}

/**
 * Headers with Buffer names, as Kafka clients with default (Buffer) serializers expect them, e.g.
 * @platformatic/kafka's producer without a `headerKey` serializer.
 */
export function headersWithBufferNames(headers: ReadonlyMap<string, Buffer>): Map<Buffer, Buffer> {
  return new Map([...headers].map(([name, value]) => [Buffer.from(name, 'utf8'), value]))
}

/** Thrown (by the runtime) under `log-and-fail`: names the record and keeps the serde error as cause. */
export class DeserializationFailedError extends Error {
  readonly code = 'RUNNEL_DESERIALIZATION_FAILED'
  readonly topic: string
  readonly partition: number
  readonly offset: string
  constructor(record: Pick<RawRecord, 'topic' | 'partition' | 'offset'>, part: 'key' | 'value', error: unknown) {
    super(
      `cannot deserialize the ${part} of ${record.topic}-${record.partition} at offset ${String(record.offset)} ` +
        `(${errorCode(error)}: ${errorMessage(error)}); stopping because the deserialization error policy is log-and-fail`,
      { cause: error }
    )
    this.name = 'DeserializationFailedError'
    this.topic = record.topic
    this.partition = record.partition
    this.offset = String(record.offset)
  }
}

function errorCode(error: unknown): string {
  if (error instanceof SerdeError) return error.code
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code !== '' ? code : 'UNKNOWN'
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

// Cuts at a character boundary so the header stays valid UTF-8.
function truncateUtf8(text: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length <= maxBytes) return bytes
  let end = maxBytes
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--
  return bytes.subarray(0, end)
}
