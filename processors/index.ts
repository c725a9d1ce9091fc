/**
 * processors/: the Processor API, the operators of the DSL as processors, window definitions,
 * the murmur2 partitioner and the task core (`StreamTask`, `GlobalTask`) that the test driver and
 * the runtime both run.
 */
export {
  type StreamRecord,
  type RecordHeaders,
  type RecordMetadata,
  PunctuationType,
  type Punctuator,
  type Cancellable,
  DropReason,
  type ProcessorContext,
  type Processor,
  type ProcessorSupplier,
  type ConsumedRecord,
  type TimestampExtractor,
  recordTimestampExtractor,
  failOnInvalidTimestamp
} from './api.ts'
export { StreamsError, ProcessingError, DeserializationFailure, InvalidOptionError, ProcessingErrorCodes, type ProcessingErrorCode } from './errors.ts'
export { type Change, changeSerde, windowedSerde } from './change.ts'
export { TimeWindows, SlidingWindows, SessionWindows, JoinWindows } from './windows.ts'
export {
  type ValueAndTimestamp,
  valueAndTimestampSerde,
  TimestampedWindowStore,
  TimestampedWindowStoreBuilder,
  isTimestampedWindowStore
} from './timestamped-window-store.ts'
export { murmur2, toPositive, partitionForKey } from './partitioner.ts'
export type {
  AnySerde,
  TopicNameExtractor,
  StreamPartitioner,
  SourceNodePlan,
  ProcessorNodePlan,
  SinkNodePlan,
  NodePlan,
  SubtopologyPlan,
  GlobalStorePlan,
  InternalTopicPlan,
  CopartitionGroup,
  TopologyPlan
} from './plan.ts'
export { type RawRecord } from './record-queue.ts'
export { DroppedRecordCounters, type DroppedRecordCount } from './metrics.ts'
export {
  StreamTask,
  type StreamTaskOptions,
  type RecordCollector,
  type ProducedRecord,
  type FailedRecord,
  type ErrorHandlerResponse,
  type ProcessResult,
  type OffsetToCommit
} from './stream-task.ts'
export {
  filterProcessor,
  mapProcessor,
  mapValuesProcessor,
  flatMapProcessor,
  flatMapValuesProcessor,
  peekProcessor,
  passThroughProcessor,
  dropNullKeyProcessor,
  branchProcessor
} from './ops/stateless.ts'
export { TableForwarder } from './ops/table-forwarder.ts'
export { streamAggregateProcessor, streamReduceProcessor } from './ops/aggregate.ts'
export { windowAggregateProcessor } from './ops/window-aggregate.ts'
export { slidingWindowAggregateProcessor } from './ops/sliding-window-aggregate.ts'
export { sessionAggregateProcessor } from './ops/session-aggregate.ts'
export {
  type TableValueGetter,
  storeValueGetter,
  derivedValueGetter,
  tableSourceProcessor,
  tableTransformProcessor,
  tableToStreamProcessor,
  tableGroupByProcessor,
  tableAggregateProcessor,
  tableReduceProcessor
} from './ops/table.ts'
export { streamTableJoinProcessor } from './ops/stream-table-join.ts'
export { suppressProcessor, windowEndBufferTime, suppressBufferSerde, type SuppressBufferEntry } from './ops/suppress.ts'
export { tableTableJoinProcessor, type TableJoinKind } from './ops/table-table-join.ts'
export { streamStreamJoinProcessors, type StreamJoinKind } from './ops/stream-stream-join.ts'
export { outerJoinKey, parseOuterJoinKey, outerJoinRecordsSerde, type OuterJoinRecords, type OuterJoinStore, type JoinSide } from './ops/outer-join-store.ts'
export { GlobalTask, type GlobalTaskOptions } from './global-task.ts'
