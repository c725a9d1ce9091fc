/**
 * Helpers for the traffic unit tests: an in-process schema registry (in-memory log), the Avro serdes
 * over it, and a multi-partition test driver of the traffic topology. Not part of the public surface.
 */
import { MemoryLog, serveRegistry, type RunningRegistry } from '../../registry/index.ts'
import { SchemaRegistryClient, stringSerde, type SensorObservation, type TrafficWindowStats, type TravelerSession } from '../../schemas/index.ts'
import { TopologyTestDriver, type TestInputTopic, type TopologyTestDriverOptions } from '../../topology/index.ts'
import { resolveTrafficSettings, type TrafficSettings } from './config.ts'
import { buildTrafficTopology, trafficSerdes, type TrafficSerdes } from './topology.ts'

/** A running traffic topology in the test driver, with typed access to its topics. */
export interface TrafficHarness {
  readonly driver: TopologyTestDriver
  readonly serdes: TrafficSerdes
  readonly input: TestInputTopic<string, SensorObservation>
  /** Pipes one observation (key = its sensor id). */
  observe(observation: SensorObservation): void
  /** Every record written to an output so far, in write order (`null` values are tombstones). */
  records(topic: 'stats1m' | 'stats5m'): Array<{ key: string; value: TrafficWindowStats | null }>
  records(topic: 'sessions'): Array<{ key: string; value: TravelerSession | null }>
  /** The latest value per key of an output (tombstones delete the key). */
  latest(topic: 'stats1m' | 'stats5m'): Map<string, TrafficWindowStats>
  latest(topic: 'sessions'): Map<string, TravelerSession>
  close(): Promise<void>
}

/** Starts a registry on a free port and a driver of the traffic topology (3 partitions by default). */
export async function trafficHarness(
  options: { settings?: TrafficSettings; driver?: TopologyTestDriverOptions; partitions?: number } = {}
): Promise<TrafficHarness> {
  const registry: RunningRegistry = await serveRegistry(new MemoryLog().open(), { port: 0 })
  const serdes = trafficSerdes(new SchemaRegistryClient({ url: registry.url }))
  const settings = resolveTrafficSettings(options.settings)
  const topology = buildTrafficTopology({ ...options.settings, serdes, inMemoryStores: true })
  const driver = await TopologyTestDriver.create(topology, { defaultPartitions: options.partitions ?? 3, ...options.driver })
  await serdes.observation.configure?.(settings.topics.observations, false)
  const input = driver.createInputTopic(settings.topics.observations, stringSerde, serdes.observation)
  const topicOf = (role: 'stats1m' | 'stats5m' | 'sessions'): string => settings.topics[role]
  const records = (role: 'stats1m' | 'stats5m' | 'sessions'): Array<{ key: string; value: unknown }> => {
    const serde = role === 'sessions' ? serdes.session : serdes.windowStats
    return driver.readTopic(topicOf(role)).map((r) => ({
      key: (r.key as Buffer).toString('utf8'),
      value: r.value === null ? null : serde.deserialize(topicOf(role), r.value)
    }))
  }
  const latest = (role: 'stats1m' | 'stats5m' | 'sessions'): Map<string, unknown> => {
    const out = new Map<string, unknown>()
    for (const { key, value } of records(role)) {
      if (value === null) out.delete(key)
      else out.set(key, value)
    }
    return out
  }
  return {
    driver,
    serdes,
    input,
    observe: (observation) => input.pipeInput(observation.sensor_id, observation, observation.timestamp),
    records: records as TrafficHarness['records'],
    latest: latest as TrafficHarness['latest'],
    close: async () => {
      try {
        await driver.close()
      } finally {
        await registry.close()
      }
    }
  }
}
