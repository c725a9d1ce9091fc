/**
 * The query API on the real broker: contract records produced to unique output topics (Avro values
 * through our registry, tombstones included) are materialized; traffic.series equals the aggregation
 * computed directly from the produced records; tombstones delete; a later window update reaches a
 * traffic.live subscriber; a second instance started later serves the same answers once ready.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Producer } from '@platformatic/kafka'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createQueryClient, startQueryApi, type LiveEvent, type QueryApiOptions, type RunningQueryApi } from '../query-api/index.ts'
import { defaultKafkaClientSupplier, type KafkaClientSupplier } from '../kafka/index.ts'
import { startRegistry, type RunningRegistry } from '../registry/index.ts'
import type { TrafficWindowStats, TravelerSession, TravelerType } from '../schemas/index.ts'
import { kafkaBrokers, uniqueName } from './support/kafka.ts'
import {
  ContractProducer,
  createOutputTopics,
  eventually,
  expectedSeries,
  latestByKey,
  MIN,
  prng,
  randomStats,
  recentStart,
  seriesDifference,
  type OutputTopics,
  type SessionRecord,
  type StatsRecord
} from './query-support.ts'

const T0 = recentStart()
const SENSORS = ['s-1', 's-2', 's-3', 's-4', 's-5']
const TYPES: TravelerType[] = ['CAR', 'BUS', 'PEDESTRIAN', 'TRUCK']
const MINUTES = 90
const TOKEN = 'query-it-token-1'

let registry: RunningRegistry
let topics: OutputTopics
let producer: ContractProducer
let dir: string
const apis: RunningQueryApi[] = []
const stats: StatsRecord[] = []
const sessions: SessionRecord[] = []

function statsKey(v: Pick<TrafficWindowStats, 'sensor_id' | 'traveler_type' | 'window_start'>): string {
  return `${v.sensor_id}|${v.traveler_type}|${v.window_start}`
}

/** Windows of every sensor and type, each updated a few times, some later deleted; sessions likewise. */
function generate(): void {
  const rand = prng(7)
  for (let m = 0; m < MINUTES; m++) {
    for (const sensorId of SENSORS) {
      for (const type of TYPES) {
        if (rand() < 0.25) continue
        const start = T0 + m * MIN
        const updates = 1 + Math.floor(rand() * 3)
        for (let u = 0; u < updates; u++) {
          stats.push({
            resolution: '1m',
            key: statsKey({ sensor_id: sensorId, traveler_type: type, window_start: start }),
            value: randomStats(rand, sensorId, type, start, MIN)
          })
          stats.push({
            resolution: '5m',
            key: statsKey({ sensor_id: sensorId, traveler_type: type, window_start: start }),
            value: randomStats(rand, sensorId, type, start, 5 * MIN)
          })
        }
        if (rand() < 0.08) stats.push({ resolution: '1m', key: statsKey({ sensor_id: sensorId, traveler_type: type, window_start: start }), value: null })
      }
      if (m % 3 === 0) {
        const travelerId = `t-${m}-${sensorId}`
        const firstSeen = T0 + m * MIN + Math.floor(rand() * 50_000)
        const value: TravelerSession = {
          sensor_id: sensorId,
          traveler_id: travelerId,
          traveler_type: TYPES[m % TYPES.length] as TravelerType,
          first_seen: firstSeen,
          last_seen: firstSeen + 20_000,
          observations: 20,
          distance_m: 150.5,
          speed_max: 9.5,
          speed_mean: 7.25
        }
        const key = `${sensorId}|${travelerId}|${firstSeen}`
        sessions.push({ key, value })
        if (rand() < 0.2) sessions.push({ key, value: null })
      }
    }
  }
}

function options(extra: Partial<QueryApiOptions> = {}): QueryApiOptions {
  return {
    port: 0,
    brokers: kafkaBrokers(),
    registryUrl: registry.url,
    tokens: [{ token: TOKEN, scopes: ['read', 'admin'] }],
    store: 'memory',
    stateDir: dir,
    instanceId: uniqueName('qa'),
    staticDir: null,
    topics,
    maxRangeMs: 24 * 60 * MIN,
    fetchMaxWaitMs: 100,
    ...extra
  }
}

async function start(extra: Partial<QueryApiOptions> = {}): Promise<RunningQueryApi> {
  const api = await startQueryApi(options(extra), { logger: pino({ level: 'warn' }), topology: null })
  apis.push(api)
  return api
}

const FILTERS: Array<{ sensorId: string; travelerType: TravelerType | 'all'; resolution: '1m' | '5m' }> = [
  { sensorId: 'all', travelerType: 'all', resolution: '1m' },
  { sensorId: 'all', travelerType: 'all', resolution: '5m' },
  { sensorId: 's-2', travelerType: 'all', resolution: '1m' },
  { sensorId: 'all', travelerType: 'CAR', resolution: '1m' },
  { sensorId: 's-3', travelerType: 'BUS', resolution: '5m' },
  { sensorId: 's-5', travelerType: 'PEDESTRIAN', resolution: '1m' }
]

async function compareAll(api: RunningQueryApi): Promise<string | null> {
  const client = createQueryClient({ url: api.url, token: TOKEN })
  for (const f of FILTERS) {
    const from = T0 - 5 * MIN
    const to = T0 + (MINUTES + 5) * MIN
    const result = await client.traffic.series.query({ ...f, from, to })
    const latest = latestByKey(stats.filter((r) => r.resolution === f.resolution)).values()
    const diff = seriesDifference(result.points, expectedSeries(latest, f.sensorId, f.travelerType, from, to))
    if (diff !== null) return `${JSON.stringify(f)}: ${diff}`
  }
  return null
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'query-it-'))
  registry = await startRegistry({ port: 0, brokers: kafkaBrokers(), topic: uniqueName('_schemas-query') })
  topics = await createOutputTopics(kafkaBrokers(), 'query-it')
  producer = await ContractProducer.open(kafkaBrokers(), registry.url, topics)
  generate()
  await producer.sendStats(stats)
  await producer.sendSessions(sessions)
})

afterAll(async () => {
  for (const api of apis) await api.close()
  await producer?.close()
  await registry?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('query API materializing contract records from the broker', () => {
  it('serves traffic.series equal to the aggregation computed directly from the produced records, for several filters', async () => {
    const api = await start()
    await api.whenReady()
    const health = api.health()
    expect(health).toMatchObject({ status: 'ready', ready: true, progress: { fraction: 1 } })
    expect(health.records.read).toBe(stats.length + sessions.length)
    expect(health.records.refused).toBe(0)
    expect(await compareAll(api)).toBeNull()
  })

  it('deletes tombstoned windows and sessions', async () => {
    const api = apis[0] as RunningQueryApi
    const client = createQueryClient({ url: api.url, token: TOKEN })
    // A key whose last record is a tombstone: its window must be gone from the single-key series.
    const deleted = stats.filter((r, i) => r.value === null && !stats.slice(i + 1).some((later) => later.key === r.key && later.resolution === r.resolution))
    expect(deleted.length).toBeGreaterThan(5)
    for (const r of deleted.slice(0, 5)) {
      const [sensorId, type, start] = r.key.split('|') as [string, TravelerType, string]
      const { points } = await client.traffic.series.query({ sensorId, travelerType: type, from: Number(start), to: Number(start) + MIN, resolution: '1m' })
      expect(points).toEqual([{ windowStart: Number(start), observations: 0, travelers: 0, speedSamples: 0, speedMin: null, speedMax: null, speedMean: null }])
    }
    const latestSessions = latestByKey(sessions)
    const deletedSessions = [...new Set(sessions.filter((s) => s.value === null).map((s) => s.key))]
    expect(deletedSessions.length).toBeGreaterThan(3)
    for (const sensorId of SENSORS) {
      const items: TravelerSession[] = []
      let cursor: string | null | undefined
      do {
        const page = await client.traffic.sessions.query({ sensorId, from: T0, to: T0 + MINUTES * MIN, limit: 7, cursor })
        items.push(
          ...page.items.map((s) => ({
            sensor_id: s.sensorId,
            traveler_id: s.travelerId,
            traveler_type: s.travelerType,
            first_seen: s.firstSeen,
            last_seen: s.lastSeen,
            observations: s.observations,
            distance_m: s.distanceM,
            speed_max: s.speedMax,
            speed_mean: s.speedMean
          }))
        )
        cursor = page.nextCursor
      } while (cursor !== null)
      const expected = [...latestSessions.values()]
        .filter((s) => s.sensor_id === sensorId)
        .sort((a, b) => b.first_seen - a.first_seen || (a.traveler_id < b.traveler_id ? -1 : 1))
      expect(items).toEqual(expected)
    }
  })

  it('lists the sensors and traveler types seen with their first and last window', async () => {
    const api = apis[0] as RunningQueryApi
    const { sensors, travelerTypes } = await createQueryClient({ url: api.url, token: TOKEN }).traffic.sensors.query()
    expect(sensors.map((s) => s.sensorId)).toEqual(SENSORS)
    expect(travelerTypes).toEqual([...TYPES].sort())
    const latest = [...latestByKey(stats).values()]
    for (const s of sensors) {
      const mine = latest.filter((v) => v.sensor_id === s.sensorId)
      expect(s.firstWindowStart).toBe(Math.min(...mine.map((v) => v.window_start)))
      expect(s.lastWindowStart).toBe(Math.max(...mine.map((v) => v.window_start)))
    }
  })

  it('pushes a window update produced later to a traffic.live subscriber, and a tombstone as a deleted window', async () => {
    const api = apis[0] as RunningQueryApi
    const client = createQueryClient({ url: api.url, token: TOKEN })
    const events: LiveEvent[] = []
    const subscribed = Promise.withResolvers<void>()
    const got = Promise.withResolvers<void>()
    const start = T0 + (MINUTES + 1) * MIN
    const sub = client.traffic.live.subscribe(
      { sensorId: 's-4', travelerType: 'all', resolution: '1m' },
      {
        onData: (e) => {
          events.push(e)
          if (e.kind === 'subscribed') subscribed.resolve()
          if (events.filter((x) => x.kind === 'window').length >= 3) got.resolve()
        },
        onError: (err) => got.reject(err)
      }
    )
    try {
      await subscribed.promise
      const car = randomStats(prng(99), 's-4', 'CAR', start, MIN)
      const bus = randomStats(prng(100), 's-4', 'BUS', start, MIN)
      const update: StatsRecord[] = [
        // Another sensor and another resolution: not for this subscriber.
        {
          resolution: '1m',
          key: statsKey({ sensor_id: 's-1', traveler_type: 'CAR', window_start: start }),
          value: randomStats(prng(98), 's-1', 'CAR', start, MIN)
        },
        { resolution: '5m', key: statsKey(car), value: { ...car, window_end: start + 5 * MIN } },
        { resolution: '1m', key: statsKey(car), value: car },
        { resolution: '1m', key: statsKey(bus), value: bus }
      ]
      await producer.sendStats(update)
      stats.push(...update)
      // Wait for both to be applied before the tombstone, so each is delivered (not coalesced away).
      await eventually(() => events.filter((e) => e.kind === 'window').length >= 2, 20_000, 'the two updates')
      const tombstone: StatsRecord = { resolution: '1m', key: statsKey(bus), value: null }
      await producer.sendStats([tombstone])
      stats.push(tombstone)
      await got.promise
    } finally {
      sub.unsubscribe()
    }
    const windows = events.filter((e) => e.kind === 'window')
    expect(windows.every((e) => e.sensorId === 's-4' && e.resolution === '1m')).toBe(true)
    const byType = (type: string): Array<Extract<LiveEvent, { kind: 'window' }>> => windows.filter((e) => e.travelerType === type)
    const car = latestByKey(stats.filter((r) => r.resolution === '1m')).get(`s-4|CAR|${start}`) as TrafficWindowStats
    expect(byType('CAR')[0]?.window).toEqual({
      observations: car.observations,
      travelers: car.travelers,
      speedSamples: car.speed_samples,
      speedMin: car.speed_min,
      speedMax: car.speed_max,
      speedMean: car.speed_mean
    })
    expect(byType('BUS').at(-1)?.window).toBeNull()
    // After the tombstone the combined point of s-4 at that minute is the CAR window alone.
    const [expectedPoint] = expectedSeries(latestByKey(stats.filter((r) => r.resolution === '1m')).values(), 's-4', 'all', start, start + MIN)
    expect(seriesDifference([byType('BUS').at(-1)?.point as never], [expectedPoint as never])).toBeNull()
  })

  it('starts a second instance later (RocksDB store) that reports progress and serves the same answers once ready', async () => {
    const first = apis[0] as RunningQueryApi
    // More data first, so the second instance has something to catch up with.
    const extra: StatsRecord[] = []
    const rand = prng(3)
    for (let m = MINUTES + 2; m < MINUTES + 40; m++) {
      for (const sensorId of SENSORS) {
        for (const type of TYPES)
          extra.push({
            resolution: '1m',
            key: statsKey({ sensor_id: sensorId, traveler_type: type, window_start: T0 + m * MIN }),
            value: randomStats(rand, sensorId, type, T0 + m * MIN, MIN)
          })
      }
    }
    await producer.sendStats(extra)
    stats.push(...extra)

    const second = await start({ store: 'rocksdb' })
    const early = second.health()
    expect(['catching-up', 'ready']).toContain(early.status)
    // The targets are the end offsets at start: every record produced so far.
    expect(early.progress.offsetsToRead).toBe(stats.length + sessions.length)
    await second.whenReady()
    expect(second.health()).toMatchObject({ status: 'ready', progress: { fraction: 1, offsetsRead: stats.length + sessions.length } })
    expect(await compareAll(second)).toBeNull()
    // The first instance followed the same records live.
    await eventually(async () => (await compareAll(first)) === null, 20_000, 'the first instance to agree')
  })

  it('reads committed transactions only: aborted records never show, open ones show once committed', async () => {
    const api = apis[0] as RunningQueryApi
    const client = createQueryClient({ url: api.url, token: TOKEN })
    const tx = new Producer({
      clientId: 'query-it-tx',
      bootstrapBrokers: kafkaBrokers(),
      idempotent: true,
      transactionalId: uniqueName('query-it-tx'),
      acks: -1
    })
    const start = T0 + 300 * MIN
    const value = (type: TravelerType, observations: number): TrafficWindowStats => ({
      ...randomStats(prng(observations), 's-5', type, start, MIN),
      observations
    })
    const message = (v: TrafficWindowStats): { topic: string; partition: number; key: Buffer; value: Buffer } => ({
      topic: topics.stats1m,
      partition: 0,
      key: Buffer.from(statsKey(v)),
      value: producer.encodeStats('1m', v)
    })
    const observed = async (type: TravelerType): Promise<number> =>
      (await client.traffic.series.query({ sensorId: 's-5', travelerType: type, from: start, to: start + MIN })).points[0]?.observations ?? -1
    try {
      const first = await tx.beginTransaction()
      await first.send({ messages: [message(value('CAR', 11))] })
      await first.commit()
      const aborted = await tx.beginTransaction()
      await aborted.send({ messages: [message(value('CAR', 666)), message(value('BUS', 667))] })
      await aborted.abort()
      const third = await tx.beginTransaction()
      await third.send({ messages: [message(value('TRUCK', 13))] })
      await third.commit()
      const open = await tx.beginTransaction()
      await open.send({ messages: [message(value('PEDESTRIAN', 14))] })
      await eventually(async () => (await observed('TRUCK')) === 13, 20_000, 'the third transaction')
      expect(await observed('CAR')).toBe(11)
      expect(await observed('BUS')).toBe(0)
      expect(await observed('PEDESTRIAN')).toBe(0)
      await open.commit()
      await eventually(async () => (await observed('PEDESTRIAN')) === 14, 20_000, 'the committed open transaction')
      expect(await observed('CAR')).toBe(11)
      expect(await observed('BUS')).toBe(0)
    } finally {
      await tx.close()
    }
    stats.push(...[value('CAR', 11), value('TRUCK', 13), value('PEDESTRIAN', 14)].map((v) => ({ resolution: '1m' as const, key: statsKey(v), value: v })))
  })

  it('refuses records that break the contract without stopping, and counts them', async () => {
    const api = apis[0] as RunningQueryApi
    const before = api.health().records.refused
    await producer.sendRaw(topics.stats1m, 'no-pipes-here', Buffer.from([0, 0, 0, 0, 1, 2]))
    await producer.sendRaw(topics.stats1m, `s-1|CAR|${T0}`, Buffer.from('not avro'))
    const good = randomStats(prng(5), 's-1', 'TRUCK', T0 + 200 * MIN, MIN)
    await producer.sendStats([{ resolution: '1m', key: statsKey(good), value: good }])
    stats.push({ resolution: '1m', key: statsKey(good), value: good })
    await eventually(() => api.health().records.refused === before + 2 && api.health().records.windowsWritten > 0, 20_000, 'the refusals')
    const { points } = await createQueryClient({ url: api.url, token: TOKEN }).traffic.series.query({
      sensorId: 's-1',
      travelerType: 'TRUCK',
      from: good.window_start,
      to: good.window_start + MIN
    })
    await eventually(
      async () => {
        const r = await createQueryClient({ url: api.url, token: TOKEN }).traffic.series.query({
          sensorId: 's-1',
          travelerType: 'TRUCK',
          from: good.window_start,
          to: good.window_start + MIN
        })
        return r.points[0]?.observations === good.observations
      },
      20_000,
      'the good record after the bad ones'
    )
    expect(points).toHaveLength(1)
    expect(api.health().records.lastRefusal).toMatch(/not a readable Avro record|key/)
  })
})

/** A client supplier that counts what it is asked for and builds plain clients. */
function countingSupplier(): { supplier: KafkaClientSupplier; counts: Record<keyof KafkaClientSupplier, number> } {
  const counts = { getAdmin: 0, getConsumer: 0, getProducer: 0, getRestoreConsumer: 0 }
  const supplier: KafkaClientSupplier = {
    getAdmin: (o) => (counts.getAdmin++, defaultKafkaClientSupplier.getAdmin(o)),
    getConsumer: (o) => (counts.getConsumer++, defaultKafkaClientSupplier.getConsumer(o)),
    getProducer: (o) => (counts.getProducer++, defaultKafkaClientSupplier.getProducer(o)),
    getRestoreConsumer: (o) => (counts.getRestoreConsumer++, defaultKafkaClientSupplier.getRestoreConsumer(o))
  }
  return { supplier, counts }
}

describe('one client supplier (the place for TLS and authentication)', () => {
  it('builds every Kafka client of the registry and of the query API when one is given', async () => {
    const forRegistry = countingSupplier()
    const ownRegistry = await startRegistry({ port: 0, brokers: kafkaBrokers(), topic: uniqueName('_schemas-supplier'), clients: forRegistry.supplier })
    try {
      // The topic check (admin), the writer (producer) and the log reader (a consumer that joins no group).
      expect(forRegistry.counts).toEqual({ getAdmin: 1, getConsumer: 0, getProducer: 1, getRestoreConsumer: 1 })
    } finally {
      await ownRegistry.close()
    }
    const forApi = countingSupplier()
    const api = await startQueryApi(options(), { logger: pino({ level: 'warn' }), topology: null, clients: forApi.supplier })
    apis.push(api)
    await api.whenReady()
    // The outputs' follower and the status follower read; system.* asks the admin.
    expect(forApi.counts).toEqual({ getAdmin: 1, getConsumer: 0, getProducer: 0, getRestoreConsumer: 2 })
  })
})
