/**
 * topology/: the DSL (`StreamsBuilder`, `KStream`, `KTable`...), the Processor API `Topology`, its
 * description and validation, and the multi-partition `TopologyTestDriver`.
 */
export { StreamsBuilder, type StreamsBuilderOptions } from './streams-builder.ts'
export { KStream } from './kstream.ts'
export { KTable } from './ktable.ts'
export { GlobalKTable } from './global-table.ts'
export { KGroupedStream, TimeWindowedKStream, SlidingWindowedKStream, SessionWindowedKStream } from './grouped-stream.ts'
export { KGroupedTable } from './grouped-table.ts'
export { BranchedKStream, type Branched } from './branched.ts'
export {
  type Named,
  type Consumed,
  type Produced,
  type Grouped,
  type Repartitioned,
  type StoreType,
  type Materialized,
  type Joined,
  type StreamJoined,
  Suppressed,
  type SuppressedOptions,
  type TopicTarget
} from './options.ts'
export { Topology, checkDeclaredCopartitioning, type SourceOptions, type SinkOptions, type GlobalStoreOptions, type TopologyOptions } from './topology.ts'
export { type TopologyDescription, type SubtopologyDescription, type NodeDescription, type GlobalStoreDescription } from './describe.ts'
export { TopologyError, TopologyErrorCodes, type TopologyErrorCode } from './errors.ts'
export { resolvePartitionCounts } from './partitions.ts'
export { TopologyTestDriver, type TopologyTestDriverOptions, TestInputTopic, TestOutputTopic, type TestRecord } from './test-driver.ts'
// Re-exported so that topology users need one import for windows and changes.
export { TimeWindows, SlidingWindows, SessionWindows, JoinWindows, type Change, windowedSerde } from '../processors/index.ts'
