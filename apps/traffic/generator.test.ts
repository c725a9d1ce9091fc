import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MemoryLog, serveRegistry, type RunningRegistry } from '../../registry/index.ts'
import { avroSerde, SchemaRegistryClient, SerdeError, SerdeNeedsResolution, type SensorObservation, type TravelerType } from '../../schemas/index.ts'
import {
  estimatedObservationsPerSecond,
  generateObservations,
  generateTrafficRecords,
  malformedBytes,
  TYPICAL_SPEED_MPS,
  type MalformedVariant
} from './generator.ts'

const M = 1_763_726_400_000

function byTraveler(observations: readonly SensorObservation[]): Map<string, SensorObservation[]> {
  const out = new Map<string, SensorObservation[]>()
  for (const o of observations) {
    const key = `${o.sensor_id}|${o.traveler_id}`
    const list = out.get(key) ?? []
    list.push(o)
    out.set(key, list)
  }
  return out
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? NaN
}

describe('traffic generator', () => {
  it('repeats exactly for a seed and differs for another', () => {
    const a = generateTrafficRecords({ seed: 5, observations: 3000, startMs: M })
    const b = generateTrafficRecords({ seed: 5, observations: 3000, startMs: M })
    const c = generateTrafficRecords({ seed: 6, observations: 3000, startMs: M })
    expect(b).toEqual(a)
    expect(c).not.toEqual(a)
  })

  it('produces exactly the requested observations, keyed by sensor, from the start time on', () => {
    const records = generateTrafficRecords({ seed: 1, sensors: 7, observations: 20_000, startMs: M, malformedFraction: 0.01 })
    const observations = records.filter((r) => r.kind === 'observation')
    expect(observations).toHaveLength(20_000)
    expect(records.every((r) => r.key === r.value.sensor_id)).toBe(true)
    expect(new Set(observations.map((r) => r.value.sensor_id))).toEqual(new Set(Array.from({ length: 7 }, (_, i) => `s-${i + 1}`)))
    expect(Math.min(...observations.map((r) => r.value.timestamp))).toBeGreaterThanOrEqual(M)
    const malformed = records.length - observations.length
    expect(malformed).toBeGreaterThan(100)
    expect(malformed).toBeLessThan(300)
  })

  it('moves travelers at plausible speeds for their type, observed about once a second', () => {
    const observations = generateObservations({
      seed: 2,
      observations: 60_000,
      startMs: M,
      outOfOrderFraction: 0,
      lateFraction: 0,
      duplicateFraction: 0,
      unknownFraction: 0,
      occlusionFraction: 0
    })
    const speeds = new Map<TravelerType, number[]>()
    const intervals: number[] = []
    for (const list of byTraveler(observations).values()) {
      for (let i = 1; i < list.length; i++) {
        const [a, b] = [list[i - 1] as SensorObservation, list[i] as SensorObservation]
        intervals.push(b.timestamp - a.timestamp)
        // Over 5 observations the position noise (0.25 m) matters little even for pedestrians.
        const c = list[i + 4]
        if (c !== undefined)
          (speeds.get(a.traveler_type) ?? (speeds.set(a.traveler_type, []).get(a.traveler_type) as number[])).push(
            Math.hypot(c.x - a.x, c.y - a.y) / ((c.timestamp - a.timestamp) / 1000)
          )
      }
    }
    expect(median(intervals)).toBeGreaterThanOrEqual(950)
    expect(median(intervals)).toBeLessThanOrEqual(1050)
    for (const [type, typical] of Object.entries(TYPICAL_SPEED_MPS)) {
      const m = median(speeds.get(type as TravelerType) ?? [])
      expect(m, type).toBeGreaterThan(typical * 0.85)
      expect(m, type).toBeLessThan(typical * 1.15)
    }
    const spanS = (Math.max(...observations.map((o) => o.timestamp)) - M) / 1000
    expect(observations.length / spanS).toBeGreaterThan(estimatedObservationsPerSecond(20) * 0.7)
    expect(observations.length / spanS).toBeLessThan(estimatedObservationsPerSecond(20) * 1.3)
  })

  it('delivers the requested fractions out of order, late, duplicated and misclassified', () => {
    const observations = generateObservations({
      seed: 3,
      sensors: 5,
      observations: 100_000,
      startMs: M,
      outOfOrderFraction: 0.02,
      lateFraction: 0.005,
      duplicateFraction: 0.01,
      unknownFraction: 0.02
    })
    let maxSeen = -1
    let behind = 0
    let late = 0
    let duplicates = 0
    observations.forEach((o, i) => {
      if (o.timestamp < maxSeen - 90_000) late++
      else if (o.timestamp < maxSeen) behind++
      maxSeen = Math.max(maxSeen, o.timestamp)
      if (i > 0 && JSON.stringify(observations[i - 1]) === JSON.stringify(o)) duplicates++
    })
    const n = observations.length
    expect(late / n).toBeGreaterThan(0.003)
    expect(late / n).toBeLessThan(0.006)
    expect(behind / n).toBeGreaterThan(0.015)
    expect(duplicates / n).toBeGreaterThan(0.007)
    expect(duplicates / n).toBeLessThan(0.013)
    const unknown = observations.filter((o) => o.traveler_type === 'UNKNOWN').length / n
    expect(unknown).toBeGreaterThan(0.015)
    expect(unknown).toBeLessThan(0.025)
  })

  it('rejects bad options naming them', () => {
    expect(() => generateObservations({ seed: -1, observations: 1, startMs: M })).toThrow(/seed/)
    expect(() => generateObservations({ seed: 1, observations: 1.5, startMs: M })).toThrow(/observations/)
    expect(() => generateObservations({ seed: 1, observations: 1, startMs: M, lateFraction: 2 })).toThrow(/lateFraction/)
    expect(() => generateObservations({ seed: 1, observations: 1, startMs: M, sensors: 0 })).toThrow(/sensors/)
  })
})

describe('malformed records', () => {
  let registry: RunningRegistry
  beforeAll(async () => {
    registry = await serveRegistry(new MemoryLog().open(), { port: 0 })
  })
  afterAll(async () => {
    await registry.close()
  })

  it('are bytes the Avro serde rejects, for every variant', async () => {
    const serde = avroSerde('runnel.traffic.SensorObservation', { registry: new SchemaRegistryClient({ url: registry.url }) })
    await serde.configure('obs', false)
    const value: SensorObservation = { sensor_id: 's-1', traveler_id: 'car-1', traveler_type: 'CAR', x: 1.5, y: -2, timestamp: M }
    const valid = serde.serialize('obs', value)
    expect(serde.deserialize('obs', valid)).toEqual(value)
    for (const variant of ['json-text', 'truncated', 'trailing-bytes', 'short-header'] as MalformedVariant[]) {
      const bytes = malformedBytes(variant, valid, value)
      let error: unknown
      try {
        serde.deserialize('obs', bytes)
      } catch (err) {
        error = err
      }
      expect(error, variant).toBeInstanceOf(SerdeError)
      expect(error, variant).not.toBeInstanceOf(SerdeNeedsResolution)
    }
  })
})
