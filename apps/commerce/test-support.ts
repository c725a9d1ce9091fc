/**
 * Helpers for the commerce unit tests: an in-process schema registry (in-memory log, as the traffic
 * tests use), the Avro serdes over it, and a multi-partition test driver of the commerce topology
 * (bridge and analytics). Not part of the public surface.
 */
import { MemoryLog, serveRegistry, type RunningRegistry } from '../../registry/index.ts'
import type { RecordHeaders } from '../../processors/index.ts'
import { SchemaRegistryClient, stringSerde, type ProductRated, type ProductSold } from '../../schemas/index.ts'
import { TopologyTestDriver, type TopologyTestDriverOptions } from '../../topology/index.ts'
import { productKey, resolveCommerceSettings, type CommerceTopics, type ResolvedCommerceSettings } from './config.ts'
import type { CommerceOutputValues } from './outputs.ts'
import { buildCommerceTopology, commerceSerdes, type CommerceSerdes, type CommerceTopologyOptions } from './topology.ts'

/** A raw record of a driver topic, key and value as UTF-8 text (null stays null). */
export interface RawTextRecord {
  readonly partition: number
  readonly key: string | null
  readonly value: string | null
  readonly timestampMs: number
  readonly headers: Record<string, string>
}

/** A running commerce topology in the test driver, with typed access to its topics. */
export interface CommerceHarness {
  readonly driver: TopologyTestDriver
  readonly serdes: CommerceSerdes
  readonly settings: ResolvedCommerceSettings
  /** Pipes one `analytics` record: an object is sent as JSON, a string or buffer as is, null as a tombstone. */
  sendAnalytics(value: unknown, timestampMs: number, options?: { key?: string | null; headers?: RecordHeaders }): void
  /** Pipes a typed sale (key = its product id unless given). */
  sold(event: ProductSold, key?: string): void
  /** Pipes a typed rating (key = its product id unless given). */
  rated(event: ProductRated, key?: string): void
  /** Every record written to an output so far, in write order (`null` values are tombstones). */
  records<TRole extends keyof CommerceOutputValues>(role: TRole): Array<{ key: string; value: CommerceOutputValues[TRole] | null }>
  /** The latest value per key of an output (tombstones delete the key). */
  latest<TRole extends keyof CommerceOutputValues>(role: TRole): Map<string, CommerceOutputValues[TRole]>
  /** Every record of a topic as text (dead-letter topics). */
  rawRecords(topic: string): RawTextRecord[]
  /** The typed events the bridge wrote. */
  typed(role: 'productSold'): ProductSold[]
  typed(role: 'productRated'): ProductRated[]
  close(): Promise<void>
}

/** Starts a registry on a free port and a driver of the commerce topology (3 partitions by default). */
export async function commerceHarness(
  options: { topology?: Omit<CommerceTopologyOptions, 'serdes' | 'registry'>; driver?: TopologyTestDriverOptions; partitions?: number } = {}
): Promise<CommerceHarness> {
  const registry: RunningRegistry = await serveRegistry(new MemoryLog().open(), { port: 0 })
  try {
    const serdes = commerceSerdes(new SchemaRegistryClient({ url: registry.url }))
    const settings = resolveCommerceSettings(options.topology)
    const topology = buildCommerceTopology({ ...options.topology, serdes, inMemoryStores: true })
    const driver = await TopologyTestDriver.create(topology, { defaultPartitions: options.partitions ?? 3, ...options.driver })
    await serdes.productSold.configure?.(settings.topics.productSold, false)
    await serdes.productRated.configure?.(settings.topics.productRated, false)
    const { topics } = settings
    const soldInput = driver.createInputTopic(topics.productSold, stringSerde, serdes.productSold)
    const ratedInput = driver.createInputTopic(topics.productRated, stringSerde, serdes.productRated)
    const outputSerde = { sales1h: serdes.salesWindow, productRatings: serdes.productRating, categoryRatings: serdes.categoryRating }
    const records = <TRole extends keyof CommerceOutputValues>(role: TRole): Array<{ key: string; value: CommerceOutputValues[TRole] | null }> => {
      const topic = topics[role as keyof CommerceTopics]
      return driver.readTopic(topic).map((r) => ({
        key: (r.key as Buffer).toString('utf8'),
        value: r.value === null ? null : (outputSerde[role].deserialize(topic, r.value) as CommerceOutputValues[TRole])
      }))
    }
    const typed = (role: 'productSold' | 'productRated'): unknown[] => {
      const serde = role === 'productSold' ? serdes.productSold : serdes.productRated
      return driver.readTopic(topics[role]).map((r) => serde.deserialize(topics[role], r.value as Buffer))
    }
    return {
      driver,
      serdes,
      settings,
      sendAnalytics(value, timestampMs, opts = {}) {
        const bytes = value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8')
        const key = opts.key ?? null
        driver.pipeRaw({
          topic: topics.analytics,
          key: key === null ? null : Buffer.from(key, 'utf8'),
          value: bytes,
          timestampMs,
          ...(opts.headers ? { headers: opts.headers } : {})
        })
      },
      sold: (event, key) => soldInput.pipeInput(key ?? productKey(event.product_id), event, event.timestamp),
      rated: (event, key) => ratedInput.pipeInput(key ?? productKey(event.product_id), event, event.timestamp),
      records,
      latest<TRole extends keyof CommerceOutputValues>(role: TRole) {
        const out = new Map<string, CommerceOutputValues[TRole]>()
        for (const { key, value } of records(role)) {
          if (value === null) out.delete(key)
          else out.set(key, value)
        }
        return out
      },
      rawRecords: (topic) =>
        driver.readTopic(topic).map((r) => ({
          partition: r.partition,
          key: r.key === null ? null : r.key.toString('utf8'),
          value: r.value === null ? null : r.value.toString('utf8'),
          timestampMs: r.timestampMs,
          headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString('utf8')]))
        })),
      typed: typed as CommerceHarness['typed'],
      close: async () => {
        try {
          await driver.close()
        } finally {
          await registry.close()
        }
      }
    }
  } catch (err) {
    await registry.close()
    throw err
  }
}
