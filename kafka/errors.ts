import { ProtocolError } from '@platformatic/kafka'
import { errorCodes, RunnelError, type CodeOf } from '../errors/index.ts'

/** Codes of the kafka layer's errors. */
export const KafkaErrorCodes = errorCodes('KAFKA_PARTITION_ERROR', 'KAFKA_NO_LEADER')
export type KafkaErrorCode = CodeOf<typeof KafkaErrorCodes>

/** Base error of the kafka layer. */
export class KafkaLayerError extends RunnelError<KafkaErrorCode> {}

/**
 * A fetch answered with an error code for one partition. `cause` is the client's ProtocolError for
 * the code when the client knows it (so `transientErrorReason` sees leader moves).
 */
export class PartitionFetchError extends KafkaLayerError {
  readonly topic: string
  readonly partition: number
  readonly errorCode: number
  constructor(topic: string, partition: number, position: number, errorCode: number, cause: unknown) {
    super('KAFKA_PARTITION_ERROR', `fetch of ${topic}-${partition} at ${position} failed with Kafka error code ${errorCode}`, { cause })
    this.topic = topic
    this.partition = partition
    this.errorCode = errorCode
  }
}

/**
 * The cluster's metadata lists no leader for a partition a reader was asked to read: a new topic, an
 * election, or a deleted topic. Its cause is the broker error it amounts to, so a retry budget
 * treats it as transient.
 */
export class NoLeaderError extends KafkaLayerError {
  constructor(topic: string, partition: number, known: boolean) {
    super(
      'KAFKA_NO_LEADER',
      known ? `partition ${partition} of topic ${topic} has no leader` : `the cluster's metadata lists no partition ${partition} of topic ${topic}`,
      { cause: new ProtocolError(known ? 'LEADER_NOT_AVAILABLE' : 'UNKNOWN_TOPIC_OR_PARTITION') }
    )
  }
}
