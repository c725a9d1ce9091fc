/**
 * The status snapshot of an instance (`KafkaStreams#status()`), plain data for the query API and
 * for the `<applicationId>-status` topic (JSON, keyed by instance id).
 */

/** States of an instance, as Kafka Streams' `KafkaStreams.State`. */
export const StreamsStates = {
  CREATED: 'CREATED',
  REBALANCING: 'REBALANCING',
  RUNNING: 'RUNNING',
  PENDING_SHUTDOWN: 'PENDING_SHUTDOWN',
  NOT_RUNNING: 'NOT_RUNNING',
  ERROR: 'ERROR'
} as const

/** One of `StreamsStates`. */
export type StreamsState = (typeof StreamsStates)[keyof typeof StreamsStates]

export interface TaskStatus {
  /** `<sub-topology>_<partition>`. */
  readonly id: string
  readonly subtopology: number
  readonly partition: number
  readonly phase: 'created' | 'restoring' | 'running' | 'closed'
  /** `topic-partition` of each input. */
  readonly inputs: readonly string[]
  /** Records taken since the task started on this instance. */
  readonly recordsProcessed: number
  /** Highest record timestamp processed (-1 before any). */
  readonly streamTimeMs: number
  /** Records buffered, waiting to be processed. */
  readonly bufferedRecords: number
  readonly restoredRecords: number
  /** Changelog offsets still to restore (0 once running). */
  readonly restoreRemainingOffsets: number
  /** Records dropped by the task core, by reason (`late`, `deserialization`...). */
  readonly droppedRecords: Readonly<Record<string, number>>
}

export interface PartitionStatus {
  readonly topic: string
  readonly partition: number
  readonly task: string
  /** Next offset to fetch. */
  readonly position: number
  /** Next offset committed by this instance (or where it started). */
  readonly committedOffset: number
  /** End offset seen in the last fetch (last stable offset under exactly-once), -1 before the first. */
  readonly endOffset: number
  /** `endOffset - committedOffset`, or -1 when the end is unknown. */
  readonly lag: number
}

export interface InstanceStatus {
  readonly applicationId: string
  readonly instanceId: string
  readonly state: StreamsState
  readonly processingGuarantee: string
  /** Group member id and generation the tasks are owned under (empty / -1 before the first assignment). */
  readonly memberId: string
  readonly generationId: number
  readonly startedAtMs: number | null
  /** When this snapshot was taken. */
  readonly updatedAtMs: number
  readonly tasks: readonly TaskStatus[]
  readonly partitions: readonly PartitionStatus[]
  readonly recordsProcessedTotal: number
  /** Records per second over the last commit interval(s) of at least one second. */
  readonly recordsPerSecond: number
  readonly commits: number
  readonly lastCommitAtMs: number | null
  /** Why the instance is in ERROR. */
  readonly error: string | null
  /**
   * Set while the instance has work but has made no progress for 15 s: the operation it waits on
   * (committing, rejoining the group, waiting for produce acknowledgements) or buffered records that
   * are not processed. The state may still say RUNNING.
   */
  readonly stalled: { readonly reason: string; readonly sinceMs: number } | null
  readonly metricsPort: number | null
}
