import { afterEach, describe, expect, it } from 'vitest'
import { DropReason } from '../../processors/index.ts'
import type { SensorObservation } from '../../schemas/index.ts'
import { generateTrafficRecords, type GeneratedRecord } from './generator.ts'
import { diffLatestValues } from '../shared/index.ts'
import { referenceTrafficOutputs, type TrafficReferenceResult } from './reference.ts'
import { TRAFFIC_PROCESSORS } from './topology.ts'
import { trafficHarness, type TrafficHarness } from './test-support.ts'

const M = 1_763_726_400_000
let harness: TrafficHarness | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
})

/** Pipes records in send order, committing every `commitEvery` records; returns the driver's view. */
async function runDriver(
  records: readonly GeneratedRecord[],
  options: { partitions: number; commitEvery: number; cacheMaxBytes?: number }
): Promise<TrafficHarness> {
  harness = await trafficHarness({
    partitions: options.partitions,
    driver: { autoCommit: false, ...(options.cacheMaxBytes !== undefined ? { cacheMaxBytes: options.cacheMaxBytes } : {}) }
  })
  let n = 0
  for (const record of records) {
    if (record.kind === 'observation') harness.observe(record.value)
    if (++n % options.commitEvery === 0) harness.driver.commit()
  }
  harness.driver.commit()
  return harness
}

function expectSameOutputs(expected: TrafficReferenceResult, h: TrafficHarness): void {
  for (const role of ['stats1m', 'stats5m', 'sessions'] as const) {
    const actual = h.latest(role as 'sessions') as Map<string, object>
    expect(diffLatestValues(expected[role] as Map<string, object>, actual), role).toEqual([])
    expect(actual.size, role).toBe(expected[role].size)
  }
  expect({
    stats1m: h.driver.droppedRecords(DropReason.LATE, TRAFFIC_PROCESSORS.stats1m),
    stats5m: h.driver.droppedRecords(DropReason.LATE, TRAFFIC_PROCESSORS.stats5m),
    sessions: h.driver.droppedRecords(DropReason.LATE, TRAFFIC_PROCESSORS.sessions)
  }).toEqual(expected.lateDrops)
}

const disorderly = {
  sensors: 3,
  startMs: M,
  outOfOrderFraction: 0.05,
  lateFraction: 0.02,
  duplicateFraction: 0.01,
  occlusionFraction: 0.3,
  unknownFraction: 0.03,
  malformedFraction: 0
} as const

describe('traffic reference implementation', () => {
  it('computes a hand-checked case: late drops at the grace boundary and a merged session', () => {
    const o = (traveler: string, t: number, x: number): SensorObservation => ({
      sensor_id: 's-1',
      traveler_id: traveler,
      traveler_type: 'CAR',
      x,
      y: 0,
      timestamp: t
    })
    const result = referenceTrafficOutputs(
      [o('a', M, 0), o('a', M + 1000, 2), o('a', M + 40_000, 3), o('a', M + 20_000, 9), o('b', M + 90_000, 0), o('c', M + 1000, 0)],
      { partitions: 1 }
    )
    expect(result.stats1m.get(`s-1|CAR|${M}`)).toEqual({
      sensor_id: 's-1',
      traveler_type: 'CAR',
      window_start: M,
      window_end: M + 60_000,
      observations: 4,
      travelers: 1,
      speed_samples: 1,
      speed_min: 2,
      speed_max: 2,
      speed_mean: 2
    })
    expect(result.lateDrops).toEqual({ stats1m: 1, stats5m: 1, sessions: 1 })
    expect([...result.sessions.keys()].sort()).toEqual([`s-1|a|${M}`, `s-1|b|${M + 90_000}`])
    expect(result.sessions.get(`s-1|a|${M}`)).toMatchObject({ last_seen: M + 40_000, observations: 4, distance_m: 2, speed_max: 2 })
  })

  it('equals the topology in the multi-partition driver on a generated input of 6,000 observations', async () => {
    const records = generateTrafficRecords({ seed: 11, observations: 6000, ...disorderly })
    const expected = referenceTrafficOutputs(records, { partitions: 3 })
    // The input exercises what it should: late drops in every output, merged sessions, several partitions.
    expect(expected.lateDrops.stats1m).toBeGreaterThan(20)
    expect(expected.lateDrops.sessions).toBeGreaterThan(20)
    expect(expected.observationsByPartition.filter((n) => n > 0).length).toBeGreaterThan(1)
    const h = await runDriver(records, { partitions: 3, commitEvery: 100 })
    expectSameOutputs(expected, h)
    expect(h.records('sessions').some((r) => r.value === null)).toBe(true)
  })

  it('still equals it with a tiny record cache (evictions between commits) and rare commits', async () => {
    const records = generateTrafficRecords({ seed: 12, observations: 6000, ...disorderly })
    const h = await runDriver(records, { partitions: 3, commitEvery: 1000, cacheMaxBytes: 2000 })
    expectSameOutputs(referenceTrafficOutputs(records, { partitions: 3 }), h)
  })

  it('reports differences between expected and actual values', () => {
    const a = new Map([
      ['k', { n: 1, x: 0.1 + 0.2 }],
      ['gone', { n: 1, x: 0 }]
    ])
    const b = new Map([
      ['k', { n: 1, x: 0.3 }],
      ['new', { n: 2, x: 0 }]
    ])
    expect(diffLatestValues(a, b)).toEqual(['missing gone: expected {"n":1,"x":0}', 'unexpected new: {"n":2,"x":0}'])
    expect(diffLatestValues(new Map([['k', { n: 1 }]]), new Map([['k', { n: 2 }]]))).toEqual(['differs k: expected {"n":1}, got {"n":2}'])
  })
})
