/**
 * The apps' topics on the cluster: creating the ones a worker needs, and reading a topic back as a
 * downstream consumer would (committed records only, folded to the latest value per key), with a
 * check that a consumer group has consumed a topic. Tests, benchmarks and tools use the readers.
 */
import { type Consumer, FetchIsolationLevels, ListOffsetTimestamps } from '@platformatic/kafka'
import { awaitTopicsReady, createReadConsumer, defaultKafkaClientSupplier, PartitionReader, RetryBudget } from '../../kafka/index.ts'
import { SerdeNeedsResolution, type Serde } from '../../schemas/index.ts'

/** A topic to create when missing. */
export interface WantedTopic {
  readonly name: string
  readonly partitions: number
  readonly configs: ReadonlyArray<{ readonly name: string; readonly value: string }>
}

/**
 * Creates the topics that do not exist (existing ones are left as they are; a concurrent creation by
 * another process is fine), then waits until every partition has a leader (30 s at most).
 */
export async function ensureTopics(brokers: readonly string[], wanted: readonly WantedTopic[], replicationFactor: number, clientId: string): Promise<void> {
  const admin = defaultKafkaClientSupplier.getAdmin({ clientId, bootstrapBrokers: [...brokers] })
  try {
    const existing = new Set(await admin.listTopics())
    for (const topic of wanted) {
      if (existing.has(topic.name)) continue
      try {
        await admin.createTopics({ topics: [topic.name], partitions: topic.partitions, replicas: replicationFactor, configs: [...topic.configs] })
      } catch (err) {
        if (!mentions(err, 'TOPIC_ALREADY_EXISTS')) throw new Error(`cannot create topic ${topic.name}: ${(err as Error).message}`, { cause: err })
      }
    }
    await awaitTopicsReady(
      admin,
      wanted.map((t) => ({ name: t.name }))
    )
  } finally {
    await admin.close()
  }
}

function mentions(err: unknown, apiId: string): boolean {
  if (err === null || typeof err !== 'object') return false
  if ((err as { apiId?: string }).apiId === apiId) return true
  const nested = (err as { errors?: unknown[] }).errors
  return Array.isArray(nested) && nested.some((e) => mentions(e, apiId))
}

/** A record read back from a topic. */
export interface TopicRecord {
  readonly partition: number
  readonly offset: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly timestampMs: number
  readonly headers: ReadonlyMap<string, string>
}

/** Options of `readTopicToEnd`. */
export interface ReadTopicOptions {
  /**
   * How long to wait for the topic to have no open transaction (default 60 s). A transaction left
   * open by a process that died holds back the last stable offset of the partitions it wrote to,
   * until the broker aborts it after its transaction timeout; records committed after it on those
   * partitions are not readable before that.
   */
  readonly stableWithinMs?: number
}

/**
 * Every committed record of `topic` from its start to its end, partition by partition. The end is
 * taken once no transaction is open on the topic (the last stable offset has reached the log end),
 * so that the committed records written after a dead producer's open transaction are not cut off;
 * if that takes longer than `stableWithinMs`, the read fails naming the partitions.
 */
export async function readTopicToEnd(brokers: readonly string[], topic: string, options: ReadTopicOptions = {}): Promise<TopicRecord[]> {
  const consumer = createReadConsumer(defaultKafkaClientSupplier, { bootstrapBrokers: brokers, clientId: 'runnel-topic-reader' })
  try {
    const metadata = await consumer.metadata({ topics: [topic], forceUpdate: true })
    const info = metadata.topics.get(topic)
    if (info === undefined) throw new Error(`topic ${topic} does not exist`)
    const start = await consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST, isolationLevel: FetchIsolationLevels.READ_COMMITTED })
    const end = await stableEnd(consumer, topic, options.stableWithinMs ?? 60_000)
    const stops: number[] = []
    const out: TopicRecord[][] = []
    const { promise, resolve, reject } = Promise.withResolvers<void>()
    let open = 0
    const reader = new PartitionReader({
      consumer,
      maxWaitMs: 100,
      maxBytes: 32 << 20,
      partitionMaxBytes: 16 << 20,
      // Leader moves are retried for 30 s; anything else fails the read.
      retry: new RetryBudget({ timeoutMs: 30_000 }),
      onFetched: ({ partition, position, emptyFetches }, records) => {
        const stop = stops[partition] ?? 0
        for (const r of records) {
          if (r.offset >= stop) continue
          const headers = new Map<string, string>()
          for (const [k, v] of Object.entries(r.headers ?? {})) headers.set(k, v.toString())
          out[partition]?.push({ partition, offset: r.offset, key: r.key, value: r.value, timestampMs: r.timestampMs, headers })
        }
        if (position >= stop) {
          reader.unassign(topic, partition)
          if (--open === 0) resolve()
        } else if (emptyFetches >= 3) {
          reject(new Error(`no progress at ${topic}-${partition}@${position} although the end is ${stop}`))
        }
      },
      onFailed: reject
    })
    for (let p = 0; p < info.partitionsCount; p++) {
      const from = Number(start?.get(topic)?.[p] ?? 0n)
      stops[p] = Number(end?.get(topic)?.[p] ?? 0n)
      out[p] = []
      if (from >= (stops[p] ?? 0)) continue
      open++
      reader.assign(topic, p, from)
    }
    try {
      if (open > 0) await promise
    } finally {
      await reader.close()
    }
    return out.flat()
  } finally {
    await consumer.close()
  }
}

/**
 * The read_committed end offsets of `topic` once they equal the log end offsets (no open
 * transaction), polled every 200 ms for up to `withinMs`.
 */
async function stableEnd(consumer: Consumer, topic: string, withinMs: number): Promise<Map<string, bigint[]>> {
  const deadline = Date.now() + withinMs
  for (;;) {
    const [stable, logEnd] = await Promise.all(
      [FetchIsolationLevels.READ_COMMITTED, FetchIsolationLevels.READ_UNCOMMITTED].map((isolationLevel) =>
        consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST, isolationLevel })
      )
    )
    const open = (logEnd?.get(topic) ?? []).flatMap((end, p) => {
      const lso = stable?.get(topic)?.[p] ?? 0n
      return lso < end ? [`${topic}-${p} (last stable offset ${lso}, log end ${end})`] : []
    })
    if (open.length === 0 && stable !== undefined) return stable
    if (Date.now() > deadline) {
      throw new Error(`a transaction is still open on ${open.join(', ')} after ${withinMs} ms: its records and the committed ones after it cannot be read yet`)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** Decodes with `serde`, fetching unseen writer schemas from the registry first. */
async function decode<T>(serde: Serde<T>, topic: string, data: Buffer): Promise<T> {
  try {
    return serde.deserialize(topic, data)
  } catch (err) {
    if (!(err instanceof SerdeNeedsResolution) || serde.resolve === undefined) throw err
    await serde.resolve(topic, data)
    return serde.deserialize(topic, data)
  }
}

/** The latest value per key of a topic with string keys and Avro values; also how many records it holds. */
export async function readLatestValues<T>(
  brokers: readonly string[],
  topic: string,
  serde: Serde<T>
): Promise<{ latest: Map<string, T>; records: number; tombstones: number }> {
  const latest = new Map<string, T>()
  let tombstones = 0
  const records = await readTopicToEnd(brokers, topic)
  for (const r of records) {
    if (r.key === null) throw new Error(`record without key at ${topic}-${r.partition}@${r.offset}`)
    const key = r.key.toString('utf8')
    if (r.value === null) {
      latest.delete(key)
      tombstones++
    } else {
      latest.set(key, await decode(serde, topic, r.value))
    }
  }
  return { latest, records: records.length, tombstones }
}

/**
 * Whether consumer group `groupId` has committed the end offset of every partition of `topics`: its
 * input is consumed and, since outputs are flushed before offsets are committed, its outputs written.
 * Committed offsets are read with `requireStable` (a transactional offset commit counts once it is
 * decided; while one is pending the answer is false). The end is the log end, not the last stable
 * offset: a transaction left open by a producer that died holds the last stable offset back until the
 * broker aborts it, and a read_committed group that has caught up with that offset has not consumed
 * the committed records written after it.
 */
export async function groupHasConsumed(brokers: readonly string[], groupId: string, topics: string | readonly string[]): Promise<boolean> {
  const names = typeof topics === 'string' ? [topics] : [...topics]
  const admin = defaultKafkaClientSupplier.getAdmin({ clientId: 'runnel-group-lag', bootstrapBrokers: [...brokers] })
  const consumer = createReadConsumer(defaultKafkaClientSupplier, { bootstrapBrokers: brokers, clientId: 'runnel-group-lag' })
  try {
    // Committed offsets first, end offsets after: a partition counts as consumed only if what was
    // committed at one moment reaches the end at a later one. The other order races between topics
    // of one pipeline: the ends of a repartition topic read before its last records are written,
    // then the input's offsets committed (those records written) and the repartition topic's
    // committed up to the stale end would pass with the last records unprocessed.
    const metadata = await consumer.metadata({ topics: names, forceUpdate: true })
    let groups: Awaited<ReturnType<typeof admin.listConsumerGroupOffsets>>
    try {
      groups = await admin.listConsumerGroupOffsets({
        groups: [{ groupId, topics: names.map((name) => ({ name, partitionIndexes: [...Array(metadata.topics.get(name)?.partitionsCount ?? 0).keys()] })) }],
        requireStable: true
      })
    } catch (err) {
      if (mentions(err, 'UNSTABLE_OFFSET_COMMIT')) return false
      throw err
    }
    const ends = await consumer.listOffsets({ topics: names, timestamp: ListOffsetTimestamps.LATEST, isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED })
    const committed = new Map<string, bigint>()
    for (const g of groups) for (const t of g.topics) for (const p of t.partitions) committed.set(`${t.name}-${p.partitionIndex}`, p.committedOffset)
    return names.every((name) => {
      const partitionEnds = ends.get(name) ?? []
      return partitionEnds.length > 0 && partitionEnds.every((end, p) => end === 0n || committed.get(`${name}-${p}`) === end)
    })
  } finally {
    await Promise.all([admin.close(), consumer.close()])
  }
}

/** Output topics by role, each with the serde of its values. */
export type OutputSpecs<TValues> = { readonly [TRole in keyof TValues]: { readonly topic: string; readonly serde: Serde<TValues[TRole]> } }

/** Output topics by role folded to the latest value per key, with the records and tombstones read from each. */
export interface LatestOutputs<TValues> {
  readonly latest: { readonly [TRole in keyof TValues]: Map<string, TValues[TRole]> }
  readonly records: { readonly [TRole in keyof TValues]: number }
  readonly tombstones: { readonly [TRole in keyof TValues]: number }
}

/** `readLatestValues` of several output topics at once. */
export async function readLatestOutputs<TValues>(brokers: readonly string[], specs: OutputSpecs<TValues>): Promise<LatestOutputs<TValues>> {
  const roles = Object.keys(specs) as Array<keyof TValues & string>
  const read = await Promise.all(roles.map((role) => readLatestValues(brokers, specs[role].topic, specs[role].serde)))
  const pick = <T>(of: (r: (typeof read)[number]) => T): Record<keyof TValues, T> =>
    Object.fromEntries(roles.map((role, i) => [role, of(read[i] as (typeof read)[number])])) as Record<keyof TValues, T>
  return {
    latest: pick((r) => r.latest) as LatestOutputs<TValues>['latest'],
    records: pick((r) => r.records),
    tombstones: pick((r) => r.tombstones)
  }
}
