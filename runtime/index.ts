/**
 * runtime/: runs topologies on a real Kafka cluster. `KafkaStreams` is the entry point; the rest is
 * what it is configured with (`StreamsConfig`, a `KafkaClientSupplier`) and what it reports
 * (`InstanceStatus`, Prometheus metrics). The task assignor is exported for inspection and tests.
 */
export { KafkaStreams, type StateListener } from './kafka-streams.ts'
export {
  type StreamsConfig,
  type ResolvedConfig,
  resolveConfig,
  streamsConfigSchema,
  ProcessingGuarantees,
  type ProcessingGuarantee,
  LogLevels,
  type LogLevel
} from './config.ts'
export { type KafkaClientSupplier, defaultKafkaClientSupplier, type ByteConsumer, type ByteProducer } from '../kafka/index.ts'
export { StreamsStates, type StreamsState, type InstanceStatus, type TaskStatus, type PartitionStatus } from './status.ts'
export {
  RuntimeError,
  RuntimeErrorCodes,
  type RuntimeErrorCode,
  StreamsConfigError,
  MissingSourceTopicError,
  PartitionCountError,
  InstanceFencedError,
  IllegalStateError
} from './errors.ts'
export {
  assignTasks,
  createPartitionAssigner,
  encodeMemberInfo,
  decodeMemberInfo,
  tasksOf,
  partitionsOfTask,
  tasksOfPartitions,
  taskId,
  parseTaskId,
  type MemberInfo,
  type AssignorMember,
  type TaskTopology,
  type TopicPartition
} from './assignor.ts'
export { optionDocs, markdownTable, tableIn, type OptionDoc } from './option-docs.ts'
export { DEFAULT_METRICS_HOST, RuntimeMetrics, startMetricsServer } from './metrics.ts'
export { decodeBatches, type AbortedTransaction, type DecodedBatches } from '../kafka/index.ts'
