/**
 * kafka/: the one layer that talks to the cluster for the others: where clients come from
 * (clients.ts), reading partitions (partition-reader.ts over record-batches.ts), which errors a
 * retry can fix (retry.ts), and waiting for new topics (topics.ts).
 */
export { type KafkaClientSupplier, defaultKafkaClientSupplier, createReadConsumer, type ByteConsumer, type ByteProducer } from './clients.ts'
export { KafkaErrorCodes, type KafkaErrorCode, KafkaLayerError, PartitionFetchError, NoLeaderError } from './errors.ts'
export { PartitionReader, type PartitionReaderOptions, type PartitionPosition, type ReaderConsumer, type ReaderLogger } from './partition-reader.ts'
export { decodeBatches, type ConsumedRecord, type AbortedTransaction, type DecodedBatches } from './record-batches.ts'
export { transientErrorReason, RetryBudget, abortableSleep, type RetryPolicy, type RetryAttempt, type RetryBudgetOptions } from './retry.ts'
export { awaitTopicsReady, type TopicToAwait } from './topics.ts'
/** For tests of the layers above: fake cluster metadata. */
export { oneTopicMetadata } from './test-support.ts'
