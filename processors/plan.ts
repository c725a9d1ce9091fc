/**
 * The executable description of a topology, as tasks consume it. The topology layer (DSL or
 * Processor API) builds it with `Topology.build({ applicationId })`; the test driver and the runtime
 * create one `StreamTask` per (sub-topology, partition) from it. Internal topic names here are final
 * (`<app id>-<name>-repartition`, `<app id>-<store>-changelog`).
 */
import type { Serde } from '../schemas/index.ts'
import type { StateStore, StoreBuilder } from '../state/index.ts'
import type { ProcessorSupplier, RecordHeaders, TimestampExtractor } from './api.ts'

/** Serde with its type erased: plans are heterogeneous. */
export type AnySerde = Serde<unknown>

/** Chooses the topic of a record at a dynamic sink. */
export type TopicNameExtractor<K = unknown, V = unknown> = (key: K, value: V, context: { topic: string | null; headers: RecordHeaders }) => string

/**
 * Chooses the partition of a record at a sink; `undefined` lets the collector decide (murmur2 of
 * the key bytes). `numPartitions` is the topic's partition count.
 */
export type StreamPartitioner<K = unknown, V = unknown> = (topic: string, key: K, value: V, numPartitions: number) => number | undefined

export interface SourceNodePlan {
  readonly kind: 'source'
  readonly name: string
  readonly topics: readonly string[]
  readonly keySerde: AnySerde
  readonly valueSerde: AnySerde
  readonly timestampExtractor: TimestampExtractor | undefined
  readonly children: readonly string[]
}

export interface ProcessorNodePlan {
  readonly kind: 'processor'
  readonly name: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly supplier: ProcessorSupplier<any, any, any, any>
  readonly stores: readonly string[]
  readonly children: readonly string[]
}

export interface SinkNodePlan {
  readonly kind: 'sink'
  readonly name: string
  readonly topic: string | TopicNameExtractor
  readonly keySerde: AnySerde
  readonly valueSerde: AnySerde
  readonly partitioner: StreamPartitioner | undefined
}

export type NodePlan = SourceNodePlan | ProcessorNodePlan | SinkNodePlan

/** One sub-topology: the unit of tasks. Nodes are in topological order (sources first). */
export interface SubtopologyPlan {
  readonly id: number
  readonly nodes: readonly NodePlan[]
  /** Builders of the stores its processors use, in the order they were added. */
  readonly storeBuilders: ReadonlyArray<StoreBuilder<StateStore>>
  /** Topics its sources read (user topics and repartition topics). */
  readonly sourceTopics: readonly string[]
  /** `store name -> changelog topic` for stores with logging enabled. */
  readonly changelogTopics: ReadonlyMap<string, string>
}

/** A global store: filled from every partition of `topic` by a global task before processing. */
export interface GlobalStorePlan {
  readonly sourceName: string
  readonly processorName: string
  readonly topic: string
  readonly keySerde: AnySerde
  readonly valueSerde: AnySerde
  readonly timestampExtractor: TimestampExtractor | undefined
  readonly storeBuilder: StoreBuilder<StateStore>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly supplier: ProcessorSupplier<any, any, never, never>
}

/** An internal topic the runtime must create before starting. */
export interface InternalTopicPlan {
  readonly name: string
  readonly kind: 'repartition' | 'changelog'
  /** Fixed partition count (repartition with an explicit count); otherwise derived, see `partitionCounts`. */
  readonly partitions: number | undefined
  readonly config: Readonly<Record<string, string>>
}

/** A set of topics that must have equal partition counts (joined or co-grouped), and the node that needs it. */
export interface CopartitionGroup {
  readonly topics: readonly string[]
  readonly nodeName: string
}

/** A whole built topology, for one application id. */
export interface TopologyPlan {
  readonly applicationId: string
  readonly subtopologies: readonly SubtopologyPlan[]
  readonly globalStores: readonly GlobalStorePlan[]
  readonly internalTopics: readonly InternalTopicPlan[]
  readonly copartitionGroups: readonly CopartitionGroup[]
  /** Partition counts known from the topology (Consumed/Repartitioned options), by topic. */
  readonly declaredPartitions: ReadonlyMap<string, number>
  /** Sink topics that are written to (user output topics and internal topics). */
  readonly sinkTopics: readonly string[]
}
