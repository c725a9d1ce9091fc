/**
 * The Processor API: what a processor is, what it sees of its task, and the records it exchanges.
 * Everything here is synchronous: `process` returns void and the per-record path never awaits.
 */
import type { StateStore } from '../state/index.ts'

/** Record headers: header name -> bytes. */
export type RecordHeaders = Readonly<Record<string, Buffer>>

/** One record flowing through a topology. `timestampMs` is event time in epoch milliseconds. */
export interface StreamRecord<K, V> {
  readonly key: K
  readonly value: V
  readonly timestampMs: number
  readonly headers: RecordHeaders
}

/** Where the record being processed came from; `null` in punctuations. */
export interface RecordMetadata {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

/** When a punctuator runs: on stream-time progress (record timestamps) or on the wall clock. */
export const PunctuationType = { STREAM_TIME: 'stream-time', WALL_CLOCK_TIME: 'wall-clock' } as const
export type PunctuationType = (typeof PunctuationType)[keyof typeof PunctuationType]

/** Called with the time (ms) of the punctuation: stream time or wall-clock time. */
export type Punctuator = (timestampMs: number) => void

/** Returned by `schedule`; `cancel()` stops further punctuations. */
export interface Cancellable {
  cancel(): void
}

/** Why a record was dropped; each reason is counted per task and processor. */
export const DropReason = {
  LATE: 'late',
  DESERIALIZATION: 'deserialization',
  INVALID_TIMESTAMP: 'invalid-timestamp',
  NULL_KEY_OR_VALUE: 'null-key-or-value',
  PROCESSING_ERROR: 'processing-error'
} as const
export type DropReason = (typeof DropReason)[keyof typeof DropReason]

/** What a processor sees of its task. `KForward`/`VForward` type what it may forward. */
export interface ProcessorContext<KForward = unknown, VForward = unknown> {
  readonly applicationId: string
  /** `<sub-topology>_<partition>`, e.g. `0_3`. */
  readonly taskId: string
  /** The partition this task processes. */
  readonly partition: number
  /** The name of the processor node this context belongs to. */
  readonly processorName: string
  /** Sends a record to every child, or only to the child named `childName`. */
  forward(record: StreamRecord<KForward, VForward>, childName?: string): void
  /**
   * Runs `punctuator` every `intervalMs`. Stream-time punctuators are aligned to 0 and fire when stream
   * time reaches the next multiple; wall-clock ones fire first `intervalMs` after scheduling.
   */
  schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable
  /** A store connected to this processor (or a global store). Throws a clear error otherwise. */
  getStateStore<S extends StateStore>(name: string): S
  /** Topic, partition and offset of the input record being processed; `null` during punctuation. */
  recordMetadata(): RecordMetadata | null
  /** The task's stream time: the highest timestamp it has processed (-1 before any record). */
  currentStreamTimeMs(): number
  /** The wall clock of the task (injected; the test driver controls it). */
  currentSystemTimeMs(): number
  /** Counts a dropped record against this task and processor (the runtime reads it for metrics). */
  recordDropped(reason: DropReason): void
}

/** A processing step. `init` once per task, `process` per record, `close` when the task closes. */
export interface Processor<KIn, VIn, KOut = never, VOut = never> {
  init?(context: ProcessorContext<KOut, VOut>): void
  process(record: StreamRecord<KIn, VIn>): void
  close?(): void
}

/** Makes a fresh processor for each task (processors hold per-task state). */
export type ProcessorSupplier<KIn, VIn, KOut = never, VOut = never> = () => Processor<KIn, VIn, KOut, VOut>

/** What a timestamp extractor sees: the deserialized record and where it came from. */
export interface ConsumedRecord<K = unknown, V = unknown> extends RecordMetadata {
  readonly key: K
  readonly value: V
  readonly timestampMs: number
  readonly headers: RecordHeaders
}

/**
 * Picks the event time of a consumed record. `partitionTimeMs` is the highest timestamp seen on the
 * record's partition (-1 if none). A negative result drops the record (counted as invalid-timestamp).
 */
export type TimestampExtractor<K = unknown, V = unknown> = (record: ConsumedRecord<K, V>, partitionTimeMs: number) => number

/** The default extractor: the Kafka record timestamp. */
export const recordTimestampExtractor: TimestampExtractor = (record) => record.timestampMs

/** An extractor that fails the task on a negative timestamp (Kafka Streams' `FailOnInvalidTimestamp`). */
export const failOnInvalidTimestamp: TimestampExtractor = (record) => {
  if (!(record.timestampMs >= 0)) {
    throw new Error(`invalid timestamp ${record.timestampMs} on ${record.topic}-${record.partition}@${record.offset}`)
  }
  return record.timestampMs
}
