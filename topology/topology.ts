/**
 * The Processor API topology: sources, processors, sinks and state stores, named by the user or by
 * the DSL. `describe()` gives its structure; `build({ applicationId })` validates it and produces the
 * `TopologyPlan` tasks run (internal topics become `<app id>-<name>`).
 *
 * The application id is supplied at build time (the test driver and the runtime take it from their
 * config), so one topology can run under several application ids; `describe()` shows internal topics
 * without it, as Kafka Streams' TopologyDescription does.
 */
import type { Serde } from '../schemas/index.ts'
import type { StateStore, StoreBuilder } from '../state/index.ts'
import type {
  AnySerde,
  CopartitionGroup,
  GlobalStorePlan,
  InternalTopicPlan,
  NodePlan,
  ProcessorSupplier,
  StreamPartitioner,
  SubtopologyPlan,
  TimestampExtractor,
  TopicNameExtractor,
  TopologyPlan
} from '../processors/index.ts'
import { TopologyError } from './errors.ts'
import { describeTopology, type TopologyDescription } from './describe.ts'
import { computeSubtopologies, validateStructure, type GraphNode } from './graph.ts'

/** Source options of the Processor API. `partitions` declares the topic's partition count when known. */
export interface SourceOptions<K, V> {
  readonly topics: readonly string[]
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
  readonly timestampExtractor?: TimestampExtractor<K, V>
  readonly partitions?: number
}

/** Sink options of the Processor API: a fixed topic or a per-record topic chooser. */
export interface SinkOptions<K, V> {
  readonly topic: string | TopicNameExtractor<K, V>
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
  readonly partitioner?: StreamPartitioner<K, V>
}

/** Options of a global store (filled from every partition of `topic` by the global task). */
export interface GlobalStoreOptions<K, V> {
  readonly topic: string
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>
  readonly timestampExtractor?: TimestampExtractor<K, V>
}

/** Default serdes for sources and sinks that name none. */
export interface TopologyOptions {
  readonly defaultKeySerde?: Serde<unknown>
  readonly defaultValueSerde?: Serde<unknown>
}

interface GlobalStoreEntry {
  readonly storeBuilder: StoreBuilder<StateStore>
  readonly sourceName: string
  readonly processorName: string
  readonly options: GlobalStoreOptions<unknown, unknown>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly supplier: ProcessorSupplier<any, any, never, never>
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/

export class Topology {
  private readonly options: TopologyOptions
  /** @internal Nodes by name, in insertion order. */
  readonly nodes = new Map<string, GraphNode>()
  /** @internal Store builders by name, in insertion order. */
  readonly storeBuilders = new Map<string, StoreBuilder<StateStore>>()
  /** @internal Internal (repartition) topics by unprefixed name, with an optional fixed partition count. */
  readonly internalTopics = new Map<string, { partitions: number | undefined }>()
  /** @internal Topic sets that must be co-partitioned. */
  readonly copartitionGroups: CopartitionGroup[] = []
  /** @internal Partition counts declared by sources. */
  readonly declaredPartitions = new Map<string, number>()
  private readonly globalStores: GlobalStoreEntry[] = []

  constructor(options: TopologyOptions = {}) {
    this.options = options
  }

  /** Adds a source node reading `options.topics`. */
  addSource<K, V>(name: string, options: SourceOptions<K, V>): this {
    this.checkNewName(name)
    if (!Array.isArray(options?.topics) || options.topics.length === 0) {
      throw new TopologyError('NO_TOPICS', `source ${name} must read at least one topic`, { nodeName: name })
    }
    for (const topic of options.topics) {
      checkTopicName(topic, name)
      for (const node of this.nodes.values()) {
        if (node.kind === 'source' && node.topics.includes(topic)) {
          throw new TopologyError('TOPIC_ALREADY_READ', `topic ${topic} of source ${name} is already read by source ${node.name}`, { nodeName: name })
        }
      }
      if (options.partitions !== undefined) this.declarePartitions(topic, options.partitions, name)
    }
    this.nodes.set(name, {
      kind: 'source',
      name,
      parents: [],
      topics: [...options.topics],
      stores: new Set(),
      keySerde: options.keySerde as AnySerde | undefined,
      valueSerde: options.valueSerde as AnySerde | undefined,
      timestampExtractor: options.timestampExtractor as TimestampExtractor | undefined,
      index: this.nodes.size
    })
    return this
  }

  /**
   * Adds a processor fed by `parentNames`. Parents may be added later; unknown parents and cycles
   * are reported by `build()`/`describe()`.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  addProcessor(name: string, supplier: ProcessorSupplier<any, any, any, any>, ...parentNames: string[]): this {
    this.checkNewName(name)
    if (typeof supplier !== 'function') throw new TopologyError('BAD_SUPPLIER', `processor ${name} needs a supplier function`, { nodeName: name })
    if (parentNames.length === 0) throw new TopologyError('NO_PARENT', `processor ${name} must have at least one parent`, { nodeName: name })
    this.nodes.set(name, { kind: 'processor', name, parents: [...parentNames], supplier, stores: new Set(), index: this.nodes.size })
    return this
  }

  /** Adds a sink writing what `parentNames` forward to a topic. */
  addSink<K, V>(name: string, options: SinkOptions<K, V>, ...parentNames: string[]): this {
    this.checkNewName(name)
    if (typeof options?.topic === 'string') checkTopicName(options.topic, name)
    else if (typeof options?.topic !== 'function') throw new TopologyError('NO_TOPIC', `sink ${name} needs a topic or a topic chooser`, { nodeName: name })
    if (parentNames.length === 0) throw new TopologyError('NO_PARENT', `sink ${name} must have at least one parent`, { nodeName: name })
    this.nodes.set(name, {
      kind: 'sink',
      name,
      parents: [...parentNames],
      stores: new Set(),
      topic: options.topic as string | TopicNameExtractor,
      keySerde: options.keySerde as AnySerde | undefined,
      valueSerde: options.valueSerde as AnySerde | undefined,
      partitioner: options.partitioner as StreamPartitioner | undefined,
      index: this.nodes.size
    })
    return this
  }

  /** Adds a state store and connects it to `processorNames` (which may be added later). */
  addStateStore(storeBuilder: StoreBuilder<StateStore>, ...processorNames: string[]): this {
    const name = storeBuilder?.name
    if (typeof name !== 'string' || typeof storeBuilder.build !== 'function') {
      throw new TopologyError('BAD_STORE', 'addStateStore needs a StoreBuilder (from Stores)')
    }
    if (this.storeBuilders.has(name) || this.globalStores.some((g) => g.storeBuilder.name === name)) {
      throw new TopologyError('DUPLICATE_STORE', `store ${name} is already added`, { nodeName: name })
    }
    this.storeBuilders.set(name, storeBuilder)
    this.connectProcessorAndStateStores(name, processorNames)
    return this
  }

  /** Connects existing or future processors to stores, by name; checked by `build()`. */
  connectProcessorAndStateStores(storeName: string, processorNames: readonly string[]): this {
    for (const processorName of processorNames) {
      const node = this.nodes.get(processorName)
      if (!node)
        throw new TopologyError('UNKNOWN_PROCESSOR', `store ${storeName} is connected to unknown processor ${processorName}`, { nodeName: processorName })
      if (node.kind !== 'processor')
        throw new TopologyError('NOT_A_PROCESSOR', `store ${storeName} can only be connected to processors, ${processorName} is a ${node.kind}`, {
          nodeName: processorName
        })
      node.stores.add(storeName)
    }
    return this
  }

  /**
   * Adds a global store: every instance reads all partitions of `options.topic` through `supplier`
   * (which puts the records into the store) before processing starts. Its changelog is the topic itself.
   */
  addGlobalStore<K, V>(
    storeBuilder: StoreBuilder<StateStore>,
    sourceName: string,
    options: GlobalStoreOptions<K, V>,
    processorName: string,
    supplier: ProcessorSupplier<K, V, never, never>
  ): this {
    this.checkNewName(sourceName)
    this.checkNewName(processorName)
    checkTopicName(options.topic, sourceName)
    if (this.storeBuilders.has(storeBuilder.name) || this.globalStores.some((g) => g.storeBuilder.name === storeBuilder.name)) {
      throw new TopologyError('DUPLICATE_STORE', `store ${storeBuilder.name} is already added`, { nodeName: storeBuilder.name })
    }
    if (storeBuilder.loggingEnabled) storeBuilder.withLoggingDisabled()
    this.globalStores.push({
      storeBuilder,
      sourceName,
      processorName,
      supplier: supplier as GlobalStoreEntry['supplier'],
      options: options as GlobalStoreOptions<unknown, unknown>
    })
    return this
  }

  /** @internal Marks `name` as an internal repartition topic (`<app id>-<name>` at build). */
  addInternalTopic(name: string, partitions?: number): void {
    checkTopicName(name, name)
    this.internalTopics.set(name, { partitions })
    if (partitions !== undefined) this.declarePartitions(name, partitions, name)
  }

  /** @internal Requires `topics` to have equal partition counts (a join or co-grouping at `nodeName`). */
  addCopartitionGroup(nodeName: string, topics: readonly string[]): void {
    const unique = [...new Set(topics)]
    if (unique.length > 1) this.copartitionGroups.push({ nodeName, topics: unique })
  }

  /** @internal Records a known partition count for `topic`. */
  declarePartitions(topic: string, partitions: number, nodeName: string): void {
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new TopologyError('BAD_PARTITIONS', `partitions of topic ${topic} at ${nodeName} must be a positive integer, got ${partitions}`, { nodeName })
    }
    const known = this.declaredPartitions.get(topic)
    if (known !== undefined && known !== partitions) {
      throw new TopologyError('PARTITION_CONFLICT', `topic ${topic} is declared with ${known} and ${partitions} partitions (at ${nodeName})`, { nodeName })
    }
    this.declaredPartitions.set(topic, partitions)
  }

  /** The structure, as data with a Kafka-Streams-style `toString()`. Throws on an invalid topology. */
  describe(): TopologyDescription {
    validateStructure(this.nodes, this.storeBuilders, this.globalStoreNames())
    return describeTopology(
      computeSubtopologies(this.nodes),
      this.globalStores.map((g) => ({
        sourceName: g.sourceName,
        processorName: g.processorName,
        topic: g.options.topic,
        storeName: g.storeBuilder.name
      }))
    )
  }

  /**
   * Validates the topology and resolves it for `applicationId`: internal topics are named
   * `<app id>-<name>`, changelogs `<app id>-<store>-changelog`.
   */
  build(options: { applicationId: string }): TopologyPlan {
    const applicationId = options?.applicationId
    if (typeof applicationId !== 'string' || !TOPIC_NAME.test(applicationId)) {
      throw new TopologyError('BAD_APPLICATION_ID', `applicationId must be 1-249 characters of [A-Za-z0-9._-], got ${JSON.stringify(applicationId)}`)
    }
    validateStructure(this.nodes, this.storeBuilders, this.globalStoreNames())
    const resolve = (topic: string): string => (this.internalTopics.has(topic) ? `${applicationId}-${topic}` : topic)
    const declared = new Map<string, number>()
    for (const [topic, count] of this.declaredPartitions) declared.set(resolve(topic), count)
    const copartitionGroups = this.copartitionGroups.map((g) => ({ nodeName: g.nodeName, topics: g.topics.map(resolve) }))
    checkDeclaredCopartitioning(copartitionGroups, declared)

    const internalTopics: InternalTopicPlan[] = []
    for (const [name, { partitions }] of this.internalTopics) {
      internalTopics.push({ name: resolve(name), kind: 'repartition', partitions, config: { 'cleanup.policy': 'delete' } })
    }
    const sinkTopics = new Set<string>()
    const subtopologies: SubtopologyPlan[] = computeSubtopologies(this.nodes).map((group) => {
      const nodes: NodePlan[] = group.nodes.map((node) => this.planNode(node, resolve, sinkTopics))
      const storeNames = new Set<string>()
      for (const node of group.nodes) for (const store of node.stores) storeNames.add(store)
      const storeBuilders = [...this.storeBuilders.values()].filter((b) => storeNames.has(b.name))
      const changelogTopics = new Map<string, string>()
      for (const builder of storeBuilders) {
        if (!builder.loggingEnabled) continue
        const topic = `${applicationId}-${builder.name}-changelog`
        changelogTopics.set(builder.name, topic)
        const config: Record<string, string> = { 'cleanup.policy': 'compact', ...builder.loggingConfig.topicConfig }
        if (builder.retentionMs !== undefined) {
          // Windowed changelogs are compacted and deleted; keep a day more than the store, as Kafka Streams.
          config['cleanup.policy'] = 'compact,delete'
          config['retention.ms'] ??= String(builder.retentionMs + 86_400_000)
        }
        internalTopics.push({ name: topic, kind: 'changelog', partitions: undefined, config })
      }
      const sourceTopics = nodes.flatMap((n) => (n.kind === 'source' ? [...n.topics] : []))
      return { id: group.id, nodes, storeBuilders, sourceTopics, changelogTopics }
    })
    const globalStores: GlobalStorePlan[] = this.globalStores.map((g) => ({
      sourceName: g.sourceName,
      processorName: g.processorName,
      topic: g.options.topic,
      keySerde: g.options.keySerde,
      valueSerde: g.options.valueSerde,
      timestampExtractor: g.options.timestampExtractor,
      storeBuilder: g.storeBuilder,
      supplier: g.supplier
    }))
    return { applicationId, subtopologies, globalStores, internalTopics, copartitionGroups, declaredPartitions: declared, sinkTopics: [...sinkTopics] }
  }

  private planNode(node: GraphNode, resolve: (topic: string) => string, sinkTopics: Set<string>): NodePlan {
    const children = [...this.nodes.values()].filter((n) => n.parents.includes(node.name)).map((n) => n.name)
    switch (node.kind) {
      case 'source':
        return {
          kind: 'source',
          name: node.name,
          topics: node.topics.map(resolve),
          children,
          keySerde: this.serdeFor(node.keySerde, this.options.defaultKeySerde, node.name, 'key'),
          valueSerde: this.serdeFor(node.valueSerde, this.options.defaultValueSerde, node.name, 'value'),
          timestampExtractor: node.timestampExtractor
        }
      case 'processor':
        return { kind: 'processor', name: node.name, supplier: node.supplier, stores: [...node.stores], children }
      case 'sink': {
        const topic = typeof node.topic === 'string' ? resolve(node.topic) : node.topic
        if (typeof topic === 'string') sinkTopics.add(topic)
        return {
          kind: 'sink',
          name: node.name,
          topic,
          partitioner: node.partitioner,
          keySerde: this.serdeFor(node.keySerde, this.options.defaultKeySerde, node.name, 'key'),
          valueSerde: this.serdeFor(node.valueSerde, this.options.defaultValueSerde, node.name, 'value')
        }
      }
    }
  }

  private serdeFor(own: AnySerde | undefined, fallback: AnySerde | undefined, nodeName: string, what: 'key' | 'value'): AnySerde {
    const serde = own ?? fallback
    if (!serde) {
      throw new TopologyError('NO_SERDE', `${nodeName} has no ${what} serde: pass ${what}Serde in its options or a default ${what} serde`, { nodeName })
    }
    return serde
  }

  private globalStoreNames(): Set<string> {
    return new Set(this.globalStores.map((g) => g.storeBuilder.name))
  }

  private checkNewName(name: string): void {
    if (typeof name !== 'string' || name.length === 0) throw new TopologyError('BAD_NAME', `node names must be non-empty strings, got ${JSON.stringify(name)}`)
    if (this.nodes.has(name) || this.globalStores.some((g) => g.sourceName === name || g.processorName === name)) {
      throw new TopologyError('DUPLICATE_NAME', `a node named ${name} already exists`, { nodeName: name })
    }
  }
}

function checkTopicName(topic: string, nodeName: string): void {
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic)) {
    throw new TopologyError('BAD_TOPIC', `topic ${JSON.stringify(topic)} of ${nodeName} must be 1-249 characters of [A-Za-z0-9._-]`, { nodeName })
  }
}

/** Fails when the topics of a co-partition group have different known partition counts. */
export function checkDeclaredCopartitioning(groups: readonly CopartitionGroup[], counts: ReadonlyMap<string, number>): void {
  for (const group of groups) {
    const known = group.topics.filter((t) => counts.has(t)).map((t) => `${t} (${counts.get(t)})`)
    const distinct = new Set(group.topics.filter((t) => counts.has(t)).map((t) => counts.get(t)))
    if (distinct.size > 1) {
      throw new TopologyError(
        'NOT_COPARTITIONED',
        `${group.nodeName} joins topics that are not co-partitioned: ${known.join(', ')} have different partition counts`,
        { nodeName: group.nodeName }
      )
    }
  }
}
