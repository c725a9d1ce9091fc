/**
 * The traffic topology (CONTRACTS.md, "Traffic analytics"):
 *
 *   traffic.observations (key sensor_id, Avro SensorObservation)
 *     -> traffic-travelers      per sensor|traveler: speed samples, seen minutes, expiry   [Processor API]
 *        -> traffic-stats-1m    tumbling 1 min per sensor|type   -> traffic.stats.1m        [DSL]
 *        -> traffic-stats-5m    hopping 5 min / 1 min            -> traffic.stats.5m        [DSL]
 *        -> traffic-sessions    session windows per sensor|traveler -> traffic.traveler-sessions
 *
 * No repartition topic: every aggregation key (`sensor|type`, `sensor|traveler`) refines the input key
 * `sensor_id`, so every record of a key is already in the sensor's partition. The window statistics
 * say so with `markAsPartitioned()` after re-keying, and are the library's windowed aggregation
 * (whose aggregator sees its window). The sessions are still a custom processor over a window store
 * keyed by session start (sessions.ts), added with `KStream.process`; everything runs in the source
 * task: one sub-topology, one task per input partition.
 */
import { SessionWindows, StreamsBuilder, TimeWindows, type KStream, type Topology } from '../../topology/index.ts'
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
import { storeKeySerde } from '../shared/index.ts'
import { addToWindow, emptyWindowStats, windowStatsOutputProcessor, windowStatsSerde } from './window-stats.ts'
import type { TravelerEvent } from './traveler-state.ts'

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
  const sessions = { storeName: TRAFFIC_STORES.sessions, windows: windows.sessions, retentionMs: settings.storeRetentionMs, inMemory }
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

  // Per sensor|type and window: the library's windowed aggregation, cached, without a repartition topic.
  const windowStats = (name: 'stats1m' | 'stats5m', slug: string, output: string): void => {
    byType
      .groupByKey({ keySerde: storeKeySerde })
      .windowedBy(windows[name])
      .aggregate(
        emptyWindowStats,
        addToWindow,
        {
          storeName: TRAFFIC_STORES[name],
          keySerde: storeKeySerde,
          valueSerde: windowStatsSerde,
          retentionMs: settings.storeRetentionMs,
          storeType: inMemory ? 'in-memory' : 'persistent',
          cachingEnabled: true
        },
        { name: TRAFFIC_PROCESSORS[name] }
      )
      .toStream({ name: `traffic-${slug}-changes` })
      .process(windowStatsOutputProcessor(), { name: `traffic-${slug}-output` })
      .to(output, { name: `traffic-${slug}-sink`, keySerde: stringSerde, valueSerde: serdes.windowStats })
  }
  const byType: KStream<string, TravelerEvent> = events.selectKey((_, e) => `${e.sensorId}|${e.travelerType}`, { name: 'traffic-by-type' }).markAsPartitioned()
  windowStats('stats1m', 'stats-1m', topics.stats1m)
  windowStats('stats5m', 'stats-5m', topics.stats5m)
  events
    .process(sessionProcessor(sessions), { name: TRAFFIC_PROCESSORS.sessions, stores: [TRAFFIC_STORES.sessions] })
    .process(sessionOutputProcessor(), { name: 'traffic-sessions-output' })
    .to(topics.sessions, { name: 'traffic-sessions-sink', keySerde: stringSerde, valueSerde: serdes.session })

  return builder.build()
}
