/**
 * Helpers of the query API integration tests: unique output topics, a producer of contract records
 * (string keys, Avro values in the Confluent wire format, tombstones), and the expected answers
 * computed directly from what was produced, with plain loops (independent of query-api/).
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Producer, stringSerializer } from '@platformatic/kafka'
import { avroSerde, SchemaRegistryClient, type AvroSerde, type TrafficWindowStats, type TravelerSession, type TravelerType } from '../schemas/index.ts'
import { statsKey } from '../apps/traffic/index.ts'
import { startRegistry, type RunningRegistry } from '../registry/index.ts'
import { createTopics, uniqueName } from './support/kafka.ts'
import { seededRandom } from './support/random.ts'

export const MIN = 60_000

/**
 * An hour-aligned start a few hours ago. Records carry their window start as timestamp, and the
 * output topics' time retention (7 days) would delete older ones while a test runs.
 */
export function recentStart(hoursAgo = 6): number {
  return Math.floor(Date.now() / 3_600_000) * 3_600_000 - hoursAgo * 3_600_000
}

/** Unique names of the three output topics of one test. */
export interface OutputTopics {
  stats1m: string
  stats5m: string
  sessions: string
}

/** Creates the three output topics (compact,delete as in the contract) with unique names. */
export async function createOutputTopics(brokers: string[], prefix: string, partitions = 3): Promise<OutputTopics> {
  const topics = { stats1m: uniqueName(`${prefix}-stats1m`), stats5m: uniqueName(`${prefix}-stats5m`), sessions: uniqueName(`${prefix}-sessions`) }
  const configs = { 'cleanup.policy': 'compact,delete', 'retention.ms': String(7 * 86_400_000) }
  await createTopics(
    brokers,
    Object.values(topics).map((name) => ({ name, partitions, configs }))
  )
  return topics
}

/** One produced stats record (null value: tombstone). */
export interface StatsRecord {
  resolution: '1m' | '5m'
  key: string
  value: TrafficWindowStats | null
}

/** One produced session record (null value: tombstone). */
export interface SessionRecord {
  key: string
  value: TravelerSession | null
}

/** Produces contract records to the output topics, in the order given (keys keep their partition). */
export class ContractProducer {
  readonly topics: OutputTopics
  private readonly producer_: Producer<string, Buffer | null, string, string>
  private readonly stats_: AvroSerde<TrafficWindowStats>
  private readonly session_: AvroSerde<TravelerSession>

  private constructor(
    topics: OutputTopics,
    producer: Producer<string, Buffer | null, string, string>,
    stats: AvroSerde<TrafficWindowStats>,
    session: AvroSerde<TravelerSession>
  ) {
    this.topics = topics
    this.producer_ = producer
    this.stats_ = stats
    this.session_ = session
  }

  static async open(brokers: string[], registryUrl: string, topics: OutputTopics): Promise<ContractProducer> {
    const registry = new SchemaRegistryClient({ url: registryUrl })
    const stats = avroSerde('runnel.traffic.TrafficWindowStats', { registry })
    const session = avroSerde('runnel.traffic.TravelerSession', { registry })
    await stats.configure(topics.stats1m, false)
    await stats.configure(topics.stats5m, false)
    await session.configure(topics.sessions, false)
    const producer = new Producer<string, Buffer | null, string, string>({
      clientId: 'query-it-producer',
      idempotent: true,
      bootstrapBrokers: brokers,
      acks: -1,
      serializers: { key: stringSerializer, value: (v) => v ?? undefined, headerKey: stringSerializer, headerValue: stringSerializer }
    })
    return new ContractProducer(topics, producer, stats, session)
  }

  async sendStats(records: readonly StatsRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += 2000) {
      await this.producer_.send({
        messages: records.slice(i, i + 2000).map((r) => {
          const topic = r.resolution === '1m' ? this.topics.stats1m : this.topics.stats5m
          return {
            topic,
            key: r.key,
            value: r.value === null ? null : this.stats_.serialize(topic, r.value),
            timestamp: BigInt(r.value?.window_start ?? Date.now())
          }
        })
      })
    }
  }

  async sendSessions(records: readonly SessionRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += 2000) {
      await this.producer_.send({
        messages: records.slice(i, i + 2000).map((r) => ({
          topic: this.topics.sessions,
          key: r.key,
          value: r.value === null ? null : this.session_.serialize(this.topics.sessions, r.value)
        }))
      })
    }
  }

  /** The Confluent-wire Avro bytes of a stats value for the topic of `resolution` (for other producers). */
  encodeStats(resolution: '1m' | '5m', value: TrafficWindowStats): Buffer {
    const topic = resolution === '1m' ? this.topics.stats1m : this.topics.stats5m
    return this.stats_.serialize(topic, value)
  }

  /** Sends raw bytes (a record that breaks the contract). */
  async sendRaw(topic: string, key: string, value: Buffer): Promise<void> {
    await this.producer_.send({ messages: [{ topic, key, value }] })
  }

  async close(): Promise<void> {
    await this.producer_.close()
  }
}

/** A small deterministic PRNG (mulberry32): support/random.ts. */
export { seededRandom as prng } from './support/random.ts'

/** A registry and output topics holding one hour of 1-minute windows of sensor `s-1`, CAR, from `t0` (random values from `seed`). */
export async function oneSensorHour(brokers: string[], name: string, t0: number, seed: number): Promise<{ registry: RunningRegistry; topics: OutputTopics }> {
  const registry = await startRegistry({ port: 0, brokers, topic: uniqueName(`_schemas-${name}`) })
  const topics = await createOutputTopics(brokers, name)
  const producer = await ContractProducer.open(brokers, registry.url, topics)
  const rand = seededRandom(seed)
  await producer.sendStats(
    Array.from({ length: 60 }, (_, m) => {
      const v = randomStats(rand, 's-1', 'CAR', t0 + m * MIN, MIN)
      return { resolution: '1m' as const, key: statsKey(v.sensor_id, v.traveler_type, v.window_start), value: v }
    })
  )
  await producer.close()
  return { registry, topics }
}

/** A window stats value of the contract with random counts and speeds. */
export function randomStats(rand: () => number, sensorId: string, travelerType: TravelerType, windowStart: number, sizeMs: number): TrafficWindowStats {
  const samples = Math.floor(rand() * 4)
  const speeds = Array.from({ length: samples }, () => Math.round(rand() * 30_00) / 100)
  return {
    sensor_id: sensorId,
    traveler_type: travelerType,
    window_start: windowStart,
    window_end: windowStart + sizeMs,
    observations: 1 + Math.floor(rand() * 40),
    travelers: 1 + Math.floor(rand() * 6),
    speed_samples: samples,
    speed_min: samples > 0 ? Math.min(...speeds) : null,
    speed_max: samples > 0 ? Math.max(...speeds) : null,
    speed_mean: samples > 0 ? speeds.reduce((a, b) => a + b, 0) / samples : null
  }
}

/** The latest value per key of produced records (tombstones remove the key). */
export function latestByKey<T>(records: ReadonlyArray<{ key: string; value: T | null }>): Map<string, T> {
  const latest = new Map<string, T>()
  for (const r of records) {
    if (r.value === null) latest.delete(r.key)
    else latest.set(r.key, r.value)
  }
  return latest
}

/** A series point as the API returns it. */
export interface ExpectedPoint {
  windowStart: number
  observations: number
  travelers: number
  speedSamples: number
  speedMin: number | null
  speedMax: number | null
  speedMean: number | null
}

/**
 * The zero-filled series of a filter over `[from, to)` (minute steps) computed straight from the
 * latest stats values: counts summed, min of mins, max of maxes, mean weighted by speed_samples.
 */
export function expectedSeries(latest: Iterable<TrafficWindowStats>, sensorId: string, travelerType: string, from: number, to: number): ExpectedPoint[] {
  const points: ExpectedPoint[] = []
  const all = [...latest].filter((v) => (sensorId === 'all' || v.sensor_id === sensorId) && (travelerType === 'all' || v.traveler_type === travelerType))
  for (let start = Math.ceil(from / MIN) * MIN; start < to; start += MIN) {
    let observations = 0
    let travelers = 0
    let samples = 0
    let weighted = 0
    let min: number | null = null
    let max: number | null = null
    for (const v of all) {
      if (v.window_start !== start) continue
      observations += v.observations
      travelers += v.travelers
      samples += v.speed_samples
      if (v.speed_mean !== null) weighted += v.speed_mean * v.speed_samples
      if (v.speed_min !== null && (min === null || v.speed_min < min)) min = v.speed_min
      if (v.speed_max !== null && (max === null || v.speed_max > max)) max = v.speed_max
    }
    points.push({
      windowStart: start,
      observations,
      travelers,
      speedSamples: samples,
      speedMin: min,
      speedMax: max,
      speedMean: samples > 0 ? weighted / samples : null
    })
  }
  return points
}

/** Compares series, means within floating-point rounding; returns the first difference or null. */
export function seriesDifference(actual: readonly ExpectedPoint[], expected: readonly ExpectedPoint[]): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as ExpectedPoint
    const e = expected[i] as ExpectedPoint
    const { speedMean: am, ...ar } = a
    const { speedMean: em, ...er } = e
    if (JSON.stringify(ar) !== JSON.stringify(er)) return `point ${i}: ${JSON.stringify(a)} != ${JSON.stringify(e)}`
    if ((am === null) !== (em === null) || (am !== null && em !== null && Math.abs(am - em) > 1e-9 * Math.max(1, Math.abs(em)))) {
      return `point ${i} mean: ${String(am)} != ${String(em)}`
    }
  }
  return null
}

/** A self-signed certificate and key for 127.0.0.1 in `dir` (openssl CLI). Undefined without openssl. */
export function selfSignedCertificate(dir: string): { certFile: string; keyFile: string } | undefined {
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost'
      ],
      { stdio: 'ignore' }
    )
  } catch {
    return undefined
  }
  return existsSync(certFile) && existsSync(keyFile) ? { certFile, keyFile } : undefined
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
