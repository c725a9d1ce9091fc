import { afterEach, describe, expect, it } from 'vitest'
import { DropReason, DeserializationFailure } from '../../processors/index.ts'
import type { SensorObservation, TravelerType } from '../../schemas/index.ts'
import { TRAFFIC_PROCESSORS, TRAFFIC_STORES, buildTrafficTopology } from './topology.ts'
import { trafficHarness, type TrafficHarness } from './test-support.ts'

/** A minute boundary (2025-11-21T12:00:00Z). */
const M = 1_763_726_400_000
const MIN = 60_000

let harness: TrafficHarness | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
})

function obs(travelerId: string, timestamp: number, x: number, y: number, type: TravelerType = 'CAR', sensorId = 's-1'): SensorObservation {
  return { sensor_id: sensorId, traveler_id: travelerId, traveler_type: type, x, y, timestamp }
}

describe('traffic topology: speed samples', () => {
  it('applies the contract rules: first, normal, duplicate, out of order, new visit after more than 30 s, and exactly 30 s', async () => {
    harness = await trafficHarness()
    const h = harness
    h.observe(obs('t1', M, 0, 0)) // first: no sample
    h.observe(obs('t1', M + 1000, 3, 4)) // 5 m in 1 s
    h.observe(obs('t1', M + 1000, 100, 100)) // duplicate time: ignored
    h.observe(obs('t1', M + 500, 50, 50)) // out of order: ignored
    h.observe(obs('t1', M + 3000, 6, 8)) // 5 m in 2 s from the last accepted (3, 4)
    h.observe(obs('t1', M + 33_001, 0, 0)) // 30.001 s later: a new visit, no sample
    h.observe(obs('t1', M + 63_001, 0, 10)) // exactly 30 s later: 10 m in 30 s

    const stats = h.latest('stats1m')
    expect(stats.get(`s-1|CAR|${M}`)).toEqual({
      sensor_id: 's-1',
      traveler_type: 'CAR',
      window_start: M,
      window_end: M + MIN,
      observations: 6,
      travelers: 1,
      speed_samples: 2,
      speed_min: 2.5,
      speed_max: 5,
      speed_mean: 3.75
    })
    expect(stats.get(`s-1|CAR|${M + MIN}`)).toMatchObject({ observations: 1, speed_samples: 1, speed_min: 10 / 30, speed_max: 10 / 30 })

    const sessions = h.latest('sessions')
    expect([...sessions.keys()].sort()).toEqual([`s-1|t1|${M}`, `s-1|t1|${M + 33_001}`])
    expect(sessions.get(`s-1|t1|${M}`)).toEqual({
      sensor_id: 's-1',
      traveler_id: 't1',
      traveler_type: 'CAR',
      first_seen: M,
      last_seen: M + 3000,
      observations: 5,
      distance_m: 10,
      speed_max: 5,
      speed_mean: 3.75
    })
    expect(sessions.get(`s-1|t1|${M + 33_001}`)).toMatchObject({ last_seen: M + 63_001, observations: 2, distance_m: 10, speed_max: 10 / 30 })
  })

  it('counts a sample under the type of the observation that produced it, and gives a session the type of its latest observation', async () => {
    harness = await trafficHarness()
    const h = harness
    h.observe(obs('w', M, 0, 0, 'CAR'))
    h.observe(obs('w', M + 1000, 5, 0, 'CAR'))
    h.observe(obs('w', M + 2000, 10, 0, 'UNKNOWN'))
    h.observe(obs('w', M + 2000, 11, 0, 'BUS')) // same time, arrived last: the session's type
    h.observe(obs('w', M + 1500, 12, 0, 'TRUCK')) // arrived later but older: not the session's type

    const stats = h.latest('stats1m')
    expect(stats.get(`s-1|CAR|${M}`)).toMatchObject({ observations: 2, travelers: 1, speed_samples: 1, speed_mean: 5 })
    expect(stats.get(`s-1|UNKNOWN|${M}`)).toMatchObject({ observations: 1, travelers: 1, speed_samples: 1, speed_mean: 5 })
    expect(stats.get(`s-1|BUS|${M}`)).toMatchObject({ observations: 1, travelers: 1, speed_samples: 0, speed_min: null, speed_max: null, speed_mean: null })
    expect(stats.get(`s-1|TRUCK|${M}`)).toMatchObject({ observations: 1, speed_samples: 0 })
    expect(h.latest('sessions').get(`s-1|w|${M}`)).toMatchObject({ traveler_type: 'BUS', observations: 5, distance_m: 10, speed_max: 5, speed_mean: 5 })
  })
})

describe('traffic topology: window statistics', () => {
  it('fills every 1-minute and 5-minute window with exact distinct travelers and null speeds without samples', async () => {
    harness = await trafficHarness()
    const h = harness
    h.observe(obs('p1', M + 10_000, 0, 0, 'PEDESTRIAN'))
    h.observe(obs('p2', M + 70_000, 0, 0, 'PEDESTRIAN'))
    h.observe(obs('p1', M + 130_000, 1, 0, 'PEDESTRIAN')) // 120 s after its last: a new visit, no sample

    const oneMinute = h.latest('stats1m')
    expect([...oneMinute.keys()].sort()).toEqual([0, 1, 2].map((i) => `s-1|PEDESTRIAN|${M + i * MIN}`).sort())
    expect(oneMinute.get(`s-1|PEDESTRIAN|${M}`)).toEqual({
      sensor_id: 's-1',
      traveler_type: 'PEDESTRIAN',
      window_start: M,
      window_end: M + MIN,
      observations: 1,
      travelers: 1,
      speed_samples: 0,
      speed_min: null,
      speed_max: null,
      speed_mean: null
    })

    const fiveMinutes = h.latest('stats5m')
    const starts = [-4, -3, -2, -1, 0, 1, 2].map((i) => M + i * MIN)
    expect([...fiveMinutes.keys()].sort()).toEqual(starts.map((s) => `s-1|PEDESTRIAN|${s}`).sort())
    const expected = (start: number): { observations: number; travelers: number } => {
      const times = [M + 10_000, M + 70_000, M + 130_000].filter((t) => t >= start && t < start + 5 * MIN)
      const travelers = new Set(times.map((t) => (t === M + 70_000 ? 'p2' : 'p1')))
      return { observations: times.length, travelers: travelers.size }
    }
    for (const start of starts) {
      expect(fiveMinutes.get(`s-1|PEDESTRIAN|${start}`)).toMatchObject({
        window_start: start,
        window_end: start + 5 * MIN,
        speed_samples: 0,
        speed_mean: null,
        ...expected(start)
      })
    }
    // The window [M, M+5min) holds p1 twice and p2 once: 3 observations, 2 travelers.
    expect(fiveMinutes.get(`s-1|PEDESTRIAN|${M}`)).toMatchObject({ observations: 3, travelers: 2 })
  })

  it('drops a record from a window exactly when window end + grace <= stream time, and counts it', async () => {
    harness = await trafficHarness()
    const h = harness
    h.observe(obs('a', M + 59_999, 0, 0))
    h.observe(obs('b', M + 89_999, 0, 0)) // stream time: 1 ms before [M, M+1min) closes
    h.observe(obs('c', M + 1000, 0, 0)) // still accepted by the windows (its session is late: sessions close by their end)
    expect(h.driver.droppedRecords(DropReason.LATE, TRAFFIC_PROCESSORS.stats1m)).toBe(0)
    expect(h.driver.droppedRecords(DropReason.LATE, TRAFFIC_PROCESSORS.stats5m)).toBe(0)
    h.observe(obs('d', M + 90_000, 0, 0)) // stream time reaches end + grace
    h.observe(obs('e', M + 2000, 0, 0)) // late for the 1-minute window and the 5-minute window ending at M+1min
    expect(h.latest('stats1m').get(`s-1|CAR|${M}`)).toMatchObject({ observations: 2, travelers: 2 })
    expect(h.driver.droppedRecords(DropReason.LATE, TRAFFIC_PROCESSORS.stats1m)).toBe(1)
    expect(h.driver.droppedRecords(DropReason.LATE, TRAFFIC_PROCESSORS.stats5m)).toBe(1)
    // The still-open 5-minute windows took it.
    expect(h.latest('stats5m').get(`s-1|CAR|${M}`)).toMatchObject({ observations: 5, travelers: 5 })
    expect(h.latest('stats5m').get(`s-1|CAR|${M - 4 * MIN}`)).toMatchObject({ observations: 2, travelers: 2 })
    // Sessions of c and e end long before stream time - grace: late there.
    expect(h.driver.droppedRecords(DropReason.LATE, TRAFFIC_PROCESSORS.sessions)).toBe(2)
    expect(h.latest('sessions').has(`s-1|e|${M + 2000}`)).toBe(false)
  })

  it('closes a session only when its end is before stream time - grace (strictly), as Kafka Streams does', async () => {
    harness = await trafficHarness()
    const h = harness
    h.observe(obs('a', M + 90_000, 0, 0))
    h.observe(obs('g', M + 60_000, 0, 0)) // end == stream time - grace: accepted
    h.observe(obs('h', M + 59_999, 0, 0)) // 1 ms older: late
    const sessions = h.latest('sessions')
    expect(sessions.has(`s-1|g|${M + 60_000}`)).toBe(true)
    expect(sessions.has(`s-1|h|${M + 59_999}`)).toBe(false)
    expect(h.driver.droppedRecords(DropReason.LATE, TRAFFIC_PROCESSORS.sessions)).toBe(1)
  })

  it('uses the configured grace', async () => {
    harness = await trafficHarness({ settings: { graceMs: 5_000 } })
    const h = harness
    h.observe(obs('a', M + 64_999, 0, 0))
    h.observe(obs('b', M + 1000, 0, 0))
    h.observe(obs('c', M + 65_000, 0, 0))
    h.observe(obs('d', M + 2000, 0, 0))
    expect(h.latest('stats1m').get(`s-1|CAR|${M}`)).toMatchObject({ observations: 1 })
    expect(h.driver.droppedRecords(DropReason.LATE, TRAFFIC_PROCESSORS.stats1m)).toBe(1)
  })

  it('emits at most one record per key per commit', async () => {
    harness = await trafficHarness({ driver: { autoCommit: false } })
    const h = harness
    for (let i = 0; i < 10; i++) {
      h.observe(obs('u', M + 1000 * i, i, 0))
      h.observe(obs('v', M + 1000 * i + 500, 0, i))
    }
    expect(h.records('stats1m')).toEqual([])
    h.driver.commit()
    expect(h.records('stats1m').map((r) => r.key)).toEqual([`s-1|CAR|${M}`])
    expect(h.records('stats1m')[0]?.value).toMatchObject({ observations: 20, travelers: 2, speed_samples: 18, speed_min: 1, speed_max: 1 })
    expect(
      h
        .records('stats5m')
        .map((r) => r.key)
        .sort()
    ).toEqual([-4, -3, -2, -1, 0].map((i) => `s-1|CAR|${M + i * MIN}`).sort())
    expect(
      h
        .records('sessions')
        .map((r) => r.key)
        .sort()
    ).toEqual([`s-1|u|${M}`, `s-1|v|${M + 500}`])
  })
})

describe('traffic topology: sessions', () => {
  it('replaces sessions that a late observation joins: the merged session is emitted, the replaced key gets a tombstone', async () => {
    harness = await trafficHarness()
    const h = harness
    h.observe(obs('w', M, 0, 0, 'PEDESTRIAN'))
    h.observe(obs('w', M + 40_000, 0, 0, 'PEDESTRIAN'))
    h.observe(obs('w', M + 20_000, 0, 0, 'PEDESTRIAN'))
    expect(h.records('sessions').map((r) => [r.key, r.value === null ? null : [r.value.first_seen, r.value.last_seen, r.value.observations]])).toEqual([
      [`s-1|w|${M}`, [M, M, 1]],
      [`s-1|w|${M + 40_000}`, [M + 40_000, M + 40_000, 1]],
      [`s-1|w|${M + 40_000}`, null],
      [`s-1|w|${M}`, [M, M + 40_000, 3]]
    ])
    expect([...h.latest('sessions').keys()]).toEqual([`s-1|w|${M}`])
  })

  it('moves a session to a new key when an out-of-order observation makes it start earlier', async () => {
    harness = await trafficHarness()
    const h = harness
    h.observe(obs('w', M + 10_000, 0, 0))
    h.observe(obs('w', M + 11_000, 1, 0))
    h.observe(obs('w', M + 5_000, 2, 0))
    expect(
      h
        .records('sessions')
        .filter((r) => r.value === null)
        .map((r) => r.key)
    ).toEqual([`s-1|w|${M + 10_000}`])
    expect(h.latest('sessions').get(`s-1|w|${M + 5_000}`)).toMatchObject({ first_seen: M + 5_000, last_seen: M + 11_000, observations: 3, distance_m: 1 })
  })

  it('updates a growing session in place, without tombstones', async () => {
    harness = await trafficHarness()
    const h = harness
    for (let i = 0; i < 5; i++) h.observe(obs('w', M + 1000 * i, i, 0))
    const records = h.records('sessions')
    expect(records.every((r) => r.key === `s-1|w|${M}` && r.value !== null)).toBe(true)
    expect(records.at(-1)?.value).toMatchObject({ last_seen: M + 4000, observations: 5, distance_m: 4, speed_mean: 1 })
  })
})

describe('traffic topology: traveler state expiry', () => {
  it('forgets the last accepted observation once stream time is more than 30 minutes past it', async () => {
    // A large grace keeps the old window open, so that the effect on speed samples is visible.
    harness = await trafficHarness({ settings: { graceMs: 3_600_000, sessionGraceMs: 3_600_000 } })
    const h = harness
    h.observe(obs('a', M, 0, 0))
    h.observe(obs('c', M, 0, 0))
    h.observe(obs('b', M + 30 * MIN, 0, 0, 'BUS')) // exactly 30 minutes past a and c: not expired yet
    h.observe(obs('a', M + 1000, 1, 0)) // a sample: 1 m/s
    h.observe(obs('b', M + 30 * MIN + 1, 0, 0, 'BUS')) // now c's state has expired
    h.observe(obs('c', M + 1000, 1, 0)) // no previous observation: no sample
    expect(h.latest('stats1m').get(`s-1|CAR|${M}`)).toMatchObject({ observations: 4, travelers: 2, speed_samples: 1, speed_max: 1 })
  })

  it('deletes expired entries on the stream-time punctuation, through the time index', async () => {
    harness = await trafficHarness()
    const h = harness
    const travelers = (): ReturnType<typeof h.driver.getKeyValueStore<string, unknown>> => h.driver.getKeyValueStore<string, unknown>(TRAFFIC_STORES.travelers)
    const indexKeys = (): string[] => [...h.driver.getKeyValueStore<string, Buffer>(TRAFFIC_STORES.travelerExpiry).all()].map((e) => e.key)
    h.observe(obs('a', M, 0, 0))
    h.observe(obs('a', M + 1000, 1, 0))
    expect(travelers().get('s-1|a')).toMatchObject({ x: 1, t: M + 1000 })
    expect(indexKeys().filter((k) => k.endsWith('|s-1|a'))).toHaveLength(1)
    // Deletable from M+1000+30min+1 on; the first stream-time punctuation after that minute deletes it.
    h.observe(obs('b', M + 30 * MIN + 1000, 0, 0)) // punctuates: not due yet
    expect(travelers().get('s-1|a')).toBeDefined()
    h.observe(obs('b', M + 30 * MIN + 59_000, 0, 0)) // due, but no punctuation until the next minute
    expect(travelers().get('s-1|a')).toBeDefined()
    h.observe(obs('b', M + 31 * MIN, 0, 0))
    expect(travelers().get('s-1|a')).toBeUndefined()
    expect(indexKeys().filter((k) => k.endsWith('|s-1|a'))).toEqual([])
    expect(travelers().get('s-1|b')).toBeDefined()
  })
})

describe('traffic topology: structure and input', () => {
  it('is one sub-topology without repartition topics, reading the observations with the Avro serde', async () => {
    harness = await trafficHarness()
    const plan = harness.driver.plan
    expect(plan.subtopologies).toHaveLength(1)
    expect(plan.internalTopics.filter((t) => t.kind === 'repartition')).toEqual([])
    expect(plan.internalTopics.map((t) => t.name).sort()).toEqual(
      Object.values(TRAFFIC_STORES)
        .map((s) => `test-app-${s}-changelog`)
        .sort()
    )
    expect([...plan.sinkTopics].sort()).toEqual(['traffic.stats.1m', 'traffic.stats.5m', 'traffic.traveler-sessions'])
    // Bytes that are not Confluent Avro fail at the source: the runtime's handler sends them to the DLQ.
    const h = harness
    harness = undefined
    expect(() => h.driver.pipeRaw({ topic: 'traffic.observations', key: Buffer.from('s-1'), value: Buffer.from('{"x":1}'), timestampMs: M })).toThrow(
      DeserializationFailure
    )
    // The record stays at the head of its partition: closing (which commits) fails on it again.
    await expect(h.close()).rejects.toThrow(DeserializationFailure)
  })

  it('skips malformed records when the deserialization handler says continue, counting them', async () => {
    harness = await trafficHarness({ driver: { onDeserializationError: () => 'continue' } })
    const h = harness
    h.driver.pipeRaw({ topic: 'traffic.observations', key: Buffer.from('s-1'), value: Buffer.from([0, 0, 0]), timestampMs: M })
    h.observe(obs('a', M, 0, 0))
    expect(h.driver.droppedRecords(DropReason.DESERIALIZATION)).toBe(1)
    expect(h.latest('stats1m').get(`s-1|CAR|${M}`)).toMatchObject({ observations: 1 })
  })

  it('rejects bad settings naming the option', () => {
    expect(() => buildTrafficTopology({ graceMs: -1, serdes: {} as never })).toThrow(/graceMs/)
    expect(() => buildTrafficTopology({ topics: { stats1m: 'bad topic' }, serdes: {} as never })).toThrow(/topics\.stats1m/)
    expect(() => buildTrafficTopology({ storeRetentionMs: 60_000, serdes: {} as never })).toThrow(/storeRetentionMs/)
    expect(() => buildTrafficTopology({})).toThrow(/registry/)
  })
})
