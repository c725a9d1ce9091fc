/**
 * Reading the traffic outputs back from Kafka, as a downstream consumer would: each output topic to
 * its current end, folded into the latest value per key (a tombstone deletes the key). Tests and
 * the benchmark use it.
 */
import { avroSerde, type SchemaRegistryClient, type TrafficWindowStats, type TravelerSession } from '../../schemas/index.ts'
import { readLatestValues } from '../shared/index.ts'
import type { TrafficTopics } from './config.ts'

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
    stats1m: one.latest,
    stats5m: five.latest,
    sessions: sessions.latest,
    records: { stats1m: one.records, stats5m: five.records, sessions: sessions.records },
    sessionTombstones: sessions.tombstones
  }
}
