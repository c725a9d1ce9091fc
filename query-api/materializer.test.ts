import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Materializer, type WindowChange } from './materializer.ts'
import { SeriesIndex } from './series-index.ts'
import { SessionIndex } from './session-index.ts'
import { openQueryStore } from './store.ts'
import type { FollowedRecord } from './topic-follower.ts'
import { MemoryLog, serveRegistry, type RunningRegistry } from '../registry/index.ts'
import { avroSerde, SchemaRegistryClient, type TrafficWindowStats, type TravelerSession } from '../schemas/index.ts'
import type { KeyValueStore } from '../state/index.ts'

const MIN = 60_000
const T0 = 1_763_726_400_000
const TOPICS = { stats1m: 'm.stats1m', stats5m: 'm.stats5m', sessions: 'm.sessions' }

let registry: RunningRegistry
let dir: string
const stores: Array<KeyValueStore<Buffer, Buffer>> = []
let offset = 0

beforeAll(async () => {
  registry = await serveRegistry(new MemoryLog().open(), { port: 0 })
  dir = await mkdtemp(join(tmpdir(), 'query-api-materializer-'))
})

afterAll(async () => {
  for (const s of stores) await s.close()
  await registry?.close()
  await rm(dir, { recursive: true, force: true })
})

async function setup(registryUrl = registry.url): Promise<{ m: Materializer; series: SeriesIndex; sessions: SessionIndex; changes: WindowChange[] }> {
  const store = await openQueryStore('memory', dir)
  stores.push(store)
  const series = new SeriesIndex()
  const sessions = new SessionIndex(store)
  const m = new Materializer({ topics: TOPICS, registry: new SchemaRegistryClient({ url: registryUrl, requestTimeoutMs: 2000 }), series, sessions })
  const changes: WindowChange[] = []
  m.onWindowChanges((c) => changes.push(...c))
  return { m, series, sessions, changes }
}

async function writer(): Promise<{ stats: (topic: string, v: TrafficWindowStats) => Buffer; session: (v: TravelerSession) => Buffer }> {
  const client = new SchemaRegistryClient({ url: registry.url })
  const stats = avroSerde('runnel.traffic.TrafficWindowStats', { registry: client })
  const session = avroSerde('runnel.traffic.TravelerSession', { registry: client })
  await stats.configure(TOPICS.stats1m, false)
  await stats.configure(TOPICS.stats5m, false)
  await session.configure(TOPICS.sessions, false)
  return { stats: (topic, v) => stats.serialize(topic, v), session: (v) => session.serialize(TOPICS.sessions, v) }
}

function rec(topic: string, key: string | null, value: Buffer | null): FollowedRecord {
  return { topic, partition: 0, offset: offset++, key: key === null ? null : Buffer.from(key), value, timestampMs: 0 }
}

const window = (start: number, size = MIN, over: Partial<TrafficWindowStats> = {}): TrafficWindowStats => ({
  sensor_id: 's-1',
  traveler_type: 'CAR',
  window_start: start,
  window_end: start + size,
  observations: 4,
  travelers: 2,
  speed_samples: 2,
  speed_min: 3,
  speed_max: 5,
  speed_mean: 4,
  ...over
})

describe('Materializer', () => {
  it('applies windows of both resolutions and sessions, fetching writer schemas from the registry, and announces window changes', async () => {
    const { m, series, sessions, changes } = await setup()
    const w = await writer()
    const session: TravelerSession = {
      sensor_id: 's-1',
      traveler_id: 't|7',
      traveler_type: 'BUS',
      first_seen: T0 + 5,
      last_seen: T0 + 9000,
      observations: 9,
      distance_m: 80,
      speed_max: 12,
      speed_mean: null
    }
    await m.apply([
      rec(TOPICS.stats1m, `s-1|CAR|${T0}`, w.stats(TOPICS.stats1m, window(T0))),
      rec(TOPICS.stats5m, `s-1|CAR|${T0}`, w.stats(TOPICS.stats5m, window(T0, 5 * MIN, { observations: 20 }))),
      rec(TOPICS.sessions, `s-1|t|7|${T0 + 5}`, w.session(session))
    ])
    expect(series.get('1m', 's-1', 'CAR', T0)).toEqual({ observations: 4, travelers: 2, speedSamples: 2, speedMin: 3, speedMax: 5, speedMean: 4 })
    expect(series.get('5m', 's-1', 'CAR', T0)?.observations).toBe(20)
    expect(sessions.page({ sensorId: 's-1', travelerType: 'all', fromMs: T0, toMs: T0 + MIN, limit: 5 }).items).toEqual([
      {
        sensorId: 's-1',
        travelerId: 't|7',
        travelerType: 'BUS',
        firstSeen: T0 + 5,
        lastSeen: T0 + 9000,
        observations: 9,
        distanceM: 80,
        speedMax: 12,
        speedMean: null
      }
    ])
    expect(changes.map((c) => [c.resolution, c.windowStart, c.stats?.observations])).toEqual([
      ['1m', T0, 4],
      ['5m', T0, 20]
    ])
    expect(m.latestWindowStart('1m')).toBe(T0)
    expect(m.counts).toMatchObject({ windowsWritten: 2, sessionsWritten: 1, refused: 0 })
  })

  it('deletes on tombstones and announces the deletion', async () => {
    const { m, series, sessions, changes } = await setup()
    const w = await writer()
    const s: TravelerSession = {
      sensor_id: 's-2',
      traveler_id: 't',
      traveler_type: 'CAR',
      first_seen: T0,
      last_seen: T0,
      observations: 1,
      distance_m: 0,
      speed_max: null,
      speed_mean: null
    }
    await m.apply([rec(TOPICS.stats1m, `s-1|CAR|${T0}`, w.stats(TOPICS.stats1m, window(T0))), rec(TOPICS.sessions, `s-2|t|${T0}`, w.session(s))])
    await m.apply([rec(TOPICS.stats1m, `s-1|CAR|${T0}`, null), rec(TOPICS.sessions, `s-2|t|${T0}`, null)])
    expect(series.size).toBe(0)
    expect(sessions.size).toBe(0)
    expect(changes.at(-1)).toEqual({ resolution: '1m', sensorId: 's-1', travelerType: 'CAR', windowStart: T0, stats: null })
    expect(m.counts).toMatchObject({ windowsDeleted: 1, sessionsDeleted: 1 })
  })

  it('refuses each kind of contract violation with a reason, and applies the good records around them', async () => {
    const { m, series } = await setup()
    const w = await writer()
    const cases: Array<[FollowedRecord, RegExp]> = [
      [rec(TOPICS.stats1m, null, w.stats(TOPICS.stats1m, window(T0))), /key null is not/],
      [rec(TOPICS.stats1m, 's-1|CAR', w.stats(TOPICS.stats1m, window(T0))), /is not "sensor_id\|traveler_type\|window_start_ms"/],
      [rec(TOPICS.stats1m, `s-1|CAR|${T0 + 1}`, w.stats(TOPICS.stats1m, window(T0 + 1))), /not on a minute boundary/],
      [rec(TOPICS.stats1m, `s-1|BUS|${T0}`, w.stats(TOPICS.stats1m, window(T0))), /does not match its key/],
      [rec(TOPICS.stats1m, `s-1|CAR|${T0}`, w.stats(TOPICS.stats1m, window(T0, 5 * MIN))), /is not 1 minute\(s\) long/],
      [rec(TOPICS.stats1m, `s-1|CAR|${T0}`, w.stats(TOPICS.stats1m, window(T0, MIN, { speed_samples: 0 }))), /exactly when speed_samples/],
      [rec(TOPICS.stats1m, `s-1|CAR|${T0}`, w.stats(TOPICS.stats1m, window(T0, MIN, { speed_mean: null }))), /exactly when speed_samples/],
      [rec(TOPICS.stats1m, `s-1|CAR|${T0}`, w.stats(TOPICS.stats1m, window(T0, MIN, { observations: -1 }))), /observations -1 is not a non-negative integer/],
      [rec(TOPICS.stats1m, `s-1|CAR|${T0}`, Buffer.from('{"json":true}')), /not a readable Avro record/],
      [rec(TOPICS.sessions, `s-1||${T0}`, null), /is not "sensor_id\|traveler_id\|session_start_ms"/]
    ]
    for (const [record, reason] of cases) {
      const before = m.counts.refused
      await m.apply([record, rec(TOPICS.stats1m, `s-9|TRUCK|${T0}`, w.stats(TOPICS.stats1m, window(T0, MIN, { sensor_id: 's-9', traveler_type: 'TRUCK' })))])
      expect(m.counts.refused, String(reason)).toBe(before + 1)
      expect(m.counts.lastRefusal).toMatch(reason)
    }
    expect(series.get('1m', 's-1', 'CAR', T0)).toBeUndefined()
    expect(series.get('1m', 's-9', 'TRUCK', T0)?.observations).toBe(4)
  })

  it('fails the whole batch when the registry cannot be reached, so the records can be read again later', async () => {
    const w = await writer()
    const { m, series } = await setup('http://127.0.0.1:1')
    const records = [rec(TOPICS.stats1m, `s-1|CAR|${T0}`, w.stats(TOPICS.stats1m, window(T0)))]
    await expect(m.apply(records)).rejects.toThrow(/registry/)
    expect(series.size).toBe(0)
    expect(m.counts.refused).toBe(0)
  })

  it('drops windows and sessions past retention before the newest window', async () => {
    const { m, series, sessions } = await setup()
    const w = await writer()
    const batch: FollowedRecord[] = []
    for (let k = 0; k < 10; k++) {
      batch.push(rec(TOPICS.stats1m, `s-1|CAR|${T0 + k * MIN}`, w.stats(TOPICS.stats1m, window(T0 + k * MIN))))
      const s: TravelerSession = {
        sensor_id: 's-1',
        traveler_id: `t-${k}`,
        traveler_type: 'CAR',
        first_seen: T0 + k * MIN,
        last_seen: T0 + k * MIN,
        observations: 1,
        distance_m: 0,
        speed_max: null,
        speed_mean: null
      }
      batch.push(rec(TOPICS.sessions, `s-1|t-${k}|${T0 + k * MIN}`, w.session(s)))
    }
    await m.apply(batch)
    expect(m.evictOlderThan(4 * MIN)).toEqual({ windows: 5, sessions: 5 })
    expect(series.select('1m', 's-1', 'CAR')[0]?.starts[0]).toBe(T0 + 5 * MIN)
    expect(sessions.size).toBe(5)
  })
})
