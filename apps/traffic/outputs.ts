/**
 * Reading the traffic outputs back from Kafka, as a downstream consumer would: every record of a
 * topic to its current end, folded into the latest value per key (a tombstone deletes the key).
 * Tests and the benchmark use it, with a check that a worker group has consumed its input.
 */
import { Admin, Consumer, FetchIsolationLevels, ListOffsetTimestamps } from '@platformatic/kafka'
import {
  avroSerde, SerdeNeedsResolution, type SchemaRegistryClient, type Serde, type TrafficWindowStats, type TravelerSession
} from '../../schemas/index.ts'
import type { TrafficTopics } from './config.ts'
import { decodeBatches } from '../../runtime/index.ts'

/** A record read back from a topic. */
export interface TopicRecord {
  readonly partition: number
  readonly offset: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly timestampMs: number
  readonly headers: ReadonlyMap<string, string>
}

/** Every committed record of `topic` from its start to its end at the time of the call, partition by partition. */
export async function readTopicToEnd(brokers: readonly string[], topic: string): Promise<TopicRecord[]> {
  const consumer = new Consumer({ clientId: 'runnel-traffic-reader', bootstrapBrokers: [...brokers], groupId: 'runnel-traffic-reader-unused', isolationLevel: FetchIsolationLevels.READ_COMMITTED })
  try {
    const metadata = await consumer.metadata({ topics: [topic], forceUpdate: true })
    const info = metadata.topics.get(topic)
    if (info === undefined) throw new Error(`topic ${topic} does not exist`)
    const [start, end] = await Promise.all([ListOffsetTimestamps.EARLIEST, ListOffsetTimestamps.LATEST].map((timestamp) =>
      consumer.listOffsets({ topics: [topic], timestamp, isolationLevel: FetchIsolationLevels.READ_COMMITTED })))
    const out: TopicRecord[] = []
    for (let p = 0; p < info.partitionsCount; p++) {
      let position = Number(start?.get(topic)?.[p] ?? 0n)
      const stop = Number(end?.get(topic)?.[p] ?? 0n)
      const abortedProducers = new Set<bigint>()
      while (position < stop) {
        const response = await consumer.fetch({
          node: info.partitions[p]?.leader ?? 0, maxWaitTime: 100, minBytes: 1, maxBytes: 32 << 20,
          isolationLevel: FetchIsolationLevels.READ_COMMITTED,
          topics: [{ topicId: info.id, partitions: [{ partition: p, fetchOffset: BigInt(position), partitionMaxBytes: 16 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }]
        })
        const part = response.responses[0]?.partitions[0]
        const batches = part?.records ?? []
        if (batches.length === 0) throw new Error(`no records at ${topic}-${p}@${position} although the end is ${stop}`)
        // Kafka's read_committed algorithm across responses: a producer's batches are skipped only from
        // the first offset of its aborted transaction to the abort marker; its committed ones are data.
        const decoded = decodeBatches(batches, position, part?.abortedTransactions ?? undefined, abortedProducers)
        if (decoded.next <= position) throw new Error(`no progress at ${topic}-${p}@${position} although the end is ${stop}`)
        position = decoded.next
        for (const r of decoded.records) {
          if (r.offset >= stop) continue
          const headers = new Map<string, string>()
          for (const [k, v] of Object.entries(r.headers ?? {})) headers.set(k, v.toString())
          out.push({ partition: p, offset: r.offset, key: r.key, value: r.value, timestampMs: r.timestampMs, headers })
        }
      }
    }
    return out
  } finally {
    await consumer.close()
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
export async function readLatestValues<T>(brokers: readonly string[], topic: string, serde: Serde<T>): Promise<{ latest: Map<string, T>; records: number; tombstones: number }> {
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

/** The three traffic outputs, folded to the latest value per key. */
export interface TrafficOutputs {
  readonly stats1m: Map<string, TrafficWindowStats>
  readonly stats5m: Map<string, TrafficWindowStats>
  readonly sessions: Map<string, TravelerSession>
  /** Records (including tombstones) read per output. */
  readonly records: { stats1m: number; stats5m: number; sessions: number }
  readonly sessionTombstones: number
}

/** Reads `traffic.stats.1m`, `traffic.stats.5m` and `traffic.traveler-sessions` (or their configured names) to their end. */
export async function readTrafficOutputs(brokers: readonly string[], topics: TrafficTopics, registry: SchemaRegistryClient): Promise<TrafficOutputs> {
  const stats = avroSerde('runnel.traffic.TrafficWindowStats', { registry })
  const session = avroSerde('runnel.traffic.TravelerSession', { registry })
  const [one, five, sessions] = await Promise.all([
    readLatestValues(brokers, topics.stats1m, stats),
    readLatestValues(brokers, topics.stats5m, stats),
    readLatestValues(brokers, topics.sessions, session)
  ])
  return {
    stats1m: one.latest, stats5m: five.latest, sessions: sessions.latest,
    records: { stats1m: one.records, stats5m: five.records, sessions: sessions.records },
    sessionTombstones: sessions.tombstones
  }
}

/**
 * Whether consumer group `groupId` has committed the end offset of every partition of `topic`: its
 * input is consumed and, since outputs are flushed before offsets are committed, its outputs written.
 */
export async function groupHasConsumed(brokers: readonly string[], groupId: string, topic: string): Promise<boolean> {
  const admin = new Admin({ clientId: 'runnel-traffic-lag', bootstrapBrokers: [...brokers] })
  const consumer = new Consumer({ clientId: 'runnel-traffic-lag', bootstrapBrokers: [...brokers], groupId: 'runnel-traffic-lag-unused' })
  try {
    const [ends, groups] = await Promise.all([
      consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST }),
      admin.listConsumerGroupOffsets({ groups: [groupId] })
    ])
    const committed = new Map<number, bigint>()
    for (const t of groups[0]?.topics ?? []) {
      if (t.name !== topic) continue
      for (const p of t.partitions) committed.set(p.partitionIndex, p.committedOffset)
    }
    const endOffsets = ends.get(topic) ?? []
    return endOffsets.length > 0 && endOffsets.every((end, partition) => end === 0n || committed.get(partition) === end)
  } finally {
    await Promise.all([admin.close(), consumer.close()])
  }
}
