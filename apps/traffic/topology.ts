/**
 * The traffic topology (CONTRACTS.md, "Traffic analytics"):
 *
 *   traffic.observations (key sensor_id, Avro SensorObservation)
 *     -> traffic-travelers      per sensor|traveler: speed samples, seen minutes, expiry   [Processor API]
 *        -> traffic-stats-1m    tumbling 1 min per sensor|type   -> traffic.stats.1m
 *        -> traffic-stats-5m    hopping 5 min / 1 min            -> traffic.stats.5m
 *        -> traffic-sessions    session windows per sensor|traveler -> traffic.traveler-sessions
 *
 * No repartition topic: every aggregation key (`sensor|type`, `sensor|traveler`) refines the input key
 * `sensor_id`, so every record of a key is already in the sensor's partition. The DSL's `groupBy`
 * would re-key and insert a repartition topic (Kafka Streams has no "already partitioned" marker in
 * the DSL), so the aggregations are custom processors added with `KStream.process` and their stores
 * with `addStateStore`, all in the source task: one sub-topology, one task per input partition.
 * The window operator follows KStreamWindowAggregate, the session operator KStreamSessionWindowAggregate
 * (over a window store keyed by session start: see sessions.ts).
 */
import { SessionWindows, StreamsBuilder, TimeWindows, type Topology } from '../../topology/index.ts'
import type { ConsumedRecord, TimestampExtractor } from '../../processors/index.ts'
import {
  avroSerde,
  stringSerde,
  type SchemaRegistryClient,
  type SensorObservation,
  type Serde,
  type TrafficWindowStats,
  type TravelerSession
} from '../../schemas/index.ts'
import { FIVE_MINUTES_MS, MINUTE_MS, resolveTrafficSettings, VISIT_GAP_MS, type ResolvedTrafficSettings, type TrafficSettings } from './config.ts'
import { sessionOutputProcessor, sessionProcessor, sessionStoreBuilder } from './sessions.ts'
import { TRAVELER_EXPIRY_STORE, TRAVELERS_STORE, travelerStateProcessor, travelerStoreBuilders } from './traveler-state.ts'
import { windowStatsOutputProcessor, windowStatsProcessor, windowStatsStoreBuilder } from './window-stats.ts'

/** Store names of the topology (changelogs: `<application id>-<store>-changelog`). */
export const TRAFFIC_STORES = {
  travelers: TRAVELERS_STORE,
  travelerExpiry: TRAVELER_EXPIRY_STORE,
  stats1m: 'traffic-stats-1m-store',
  stats5m: 'traffic-stats-5m-store',
  sessions: 'traffic-sessions-store'
} as const

/** Processor names, as the task's drop counters name them (late records: `stats1m`, `stats5m`, `sessions`). */
export const TRAFFIC_PROCESSORS = {
  source: 'traffic-observations-source',
  travelers: 'traffic-travelers',
  stats1m: 'traffic-stats-1m',
  stats5m: 'traffic-stats-5m',
  sessions: 'traffic-sessions'
} as const

/** The Avro serdes of the traffic topics. */
export interface TrafficSerdes {
  readonly observation: Serde<SensorObservation>
  readonly windowStats: Serde<TrafficWindowStats>
  readonly session: Serde<TravelerSession>
}

/** Options of `buildTrafficTopology`: where the serdes get schemas, plus the traffic settings. */
export interface TrafficTopologyOptions extends TrafficSettings {
  /** Registry client of the Avro serdes (one per process is enough). Required unless `serdes` is given. */
  readonly registry?: SchemaRegistryClient
  /** Serdes to use instead of Avro serdes over `registry`. */
  readonly serdes?: TrafficSerdes
  /** Use in-memory inner stores instead of RocksDB (the test driver always does). Default false. */
  readonly inMemoryStores?: boolean
}

/** The Avro serdes of the contract over one registry client (`configure` registers each subject). */
export function trafficSerdes(registry: SchemaRegistryClient): TrafficSerdes {
  return {
    observation: avroSerde('runnel.traffic.SensorObservation', { registry }),
    windowStats: avroSerde('runnel.traffic.TrafficWindowStats', { registry }),
    session: avroSerde('runnel.traffic.TravelerSession', { registry })
  }
}

/**
 * Event time of an observation: its `timestamp` field (the contract's event time; producers also set
 * the Kafka timestamp to it). A record without a value falls back to the Kafka timestamp.
 */
export const observationTimestamp: TimestampExtractor<string | null, SensorObservation | null> = (
  record: ConsumedRecord<string | null, SensorObservation | null>
) => record.value?.timestamp ?? record.timestampMs

/** The three window definitions of the contract, with the configured grace. */
export function trafficWindows(settings: Pick<ResolvedTrafficSettings, 'graceMs' | 'sessionGraceMs'>): {
  stats1m: TimeWindows
  stats5m: TimeWindows
  sessions: SessionWindows
} {
  return {
    stats1m: TimeWindows.ofSizeAndGrace(MINUTE_MS, settings.graceMs),
    stats5m: TimeWindows.ofSizeAndGrace(FIVE_MINUTES_MS, settings.graceMs).advanceBy(MINUTE_MS),
    sessions: SessionWindows.ofInactivityGapAndGrace(VISIT_GAP_MS, settings.sessionGraceMs)
  }
}

/** Builds the traffic topology. Settings are validated here (errors name the option). */
export function buildTrafficTopology(options: TrafficTopologyOptions): Topology {
  const settings = resolveTrafficSettings(options)
  if (options.serdes === undefined && options.registry === undefined) {
    throw new TypeError('buildTrafficTopology: option "registry" (a SchemaRegistryClient) is required unless "serdes" is given')
  }
  const serdes = options.serdes ?? trafficSerdes(options.registry as SchemaRegistryClient)
  const inMemory = options.inMemoryStores ?? false
  const windows = trafficWindows(settings)
  const { topics } = settings

  const builder = new StreamsBuilder()
  for (const store of travelerStoreBuilders({ windowGraceMs: settings.graceMs, inMemory })) builder.addStateStore(store)
  const stats1m = { storeName: TRAFFIC_STORES.stats1m, windows: windows.stats1m, retentionMs: settings.storeRetentionMs, inMemory }
  const stats5m = { storeName: TRAFFIC_STORES.stats5m, windows: windows.stats5m, retentionMs: settings.storeRetentionMs, inMemory }
  const sessions = { storeName: TRAFFIC_STORES.sessions, windows: windows.sessions, retentionMs: settings.storeRetentionMs, inMemory }
  builder.addStateStore(windowStatsStoreBuilder(stats1m))
  builder.addStateStore(windowStatsStoreBuilder(stats5m))
  builder.addStateStore(sessionStoreBuilder(sessions))

  const events = builder
    .stream<string | null, SensorObservation | null>(topics.observations, {
      name: TRAFFIC_PROCESSORS.source,
      keySerde: stringSerde,
      valueSerde: serdes.observation,
      timestampExtractor: observationTimestamp
    })
    .process(travelerStateProcessor({ windowGraceMs: settings.graceMs }), {
      name: TRAFFIC_PROCESSORS.travelers,
      stores: [TRAFFIC_STORES.travelers, TRAFFIC_STORES.travelerExpiry]
    })

  events
    .process(windowStatsProcessor(stats1m), { name: TRAFFIC_PROCESSORS.stats1m, stores: [TRAFFIC_STORES.stats1m] })
    .process(windowStatsOutputProcessor(), { name: 'traffic-stats-1m-output' })
    .to(topics.stats1m, { name: 'traffic-stats-1m-sink', keySerde: stringSerde, valueSerde: serdes.windowStats })
  events
    .process(windowStatsProcessor(stats5m), { name: TRAFFIC_PROCESSORS.stats5m, stores: [TRAFFIC_STORES.stats5m] })
    .process(windowStatsOutputProcessor(), { name: 'traffic-stats-5m-output' })
    .to(topics.stats5m, { name: 'traffic-stats-5m-sink', keySerde: stringSerde, valueSerde: serdes.windowStats })
  events
    .process(sessionProcessor(sessions), { name: TRAFFIC_PROCESSORS.sessions, stores: [TRAFFIC_STORES.sessions] })
    .process(sessionOutputProcessor(), { name: 'traffic-sessions-output' })
    .to(topics.sessions, { name: 'traffic-sessions-sink', keySerde: stringSerde, valueSerde: serdes.session })

  return builder.build()
}
