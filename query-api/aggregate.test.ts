import { describe, expect, it } from 'vitest'
import { aggregateSeries, combineAt, windowSlots } from './aggregate.ts'
import { SeriesIndex, type WindowStats } from './series-index.ts'
import type { TravelerType } from '../schemas/index.ts'

const MIN = 60_000
const T0 = 1_763_726_400_000

function stats(observations: number, travelers: number, speeds: number[]): WindowStats {
  const n = speeds.length
  return {
    observations,
    travelers,
    speedSamples: n,
    speedMin: n > 0 ? Math.min(...speeds) : null,
    speedMax: n > 0 ? Math.max(...speeds) : null,
    speedMean: n > 0 ? speeds.reduce((a, b) => a + b, 0) / n : null
  }
}

describe('windowSlots', () => {
  it('lists the minute starts inside [from, to), rounding from up to the next minute', () => {
    expect(windowSlots(T0, T0 + 3 * MIN)).toEqual({ first: T0, count: 3 })
    expect(windowSlots(T0 + 1, T0 + 3 * MIN)).toEqual({ first: T0 + MIN, count: 2 })
    expect(windowSlots(T0, T0 + 3 * MIN + 1)).toEqual({ first: T0, count: 4 })
    expect(windowSlots(T0 + 1, T0 + 2)).toEqual({ first: T0 + MIN, count: 0 })
    expect(windowSlots(T0, T0)).toEqual({ first: T0, count: 0 })
  })
})

describe('aggregateSeries', () => {
  it('zero-fills minutes without data with zero counts and null speeds', () => {
    const index = new SeriesIndex()
    index.put('1m', 's-1', 'CAR', T0 + MIN, stats(4, 2, [10, 14]))
    const points = aggregateSeries(index.select('1m', 's-1', 'CAR'), T0, T0 + 3 * MIN)
    expect(points).toEqual([
      { windowStart: T0, observations: 0, travelers: 0, speedSamples: 0, speedMin: null, speedMax: null, speedMean: null },
      { windowStart: T0 + MIN, observations: 4, travelers: 2, speedSamples: 2, speedMin: 10, speedMax: 14, speedMean: 12 },
      { windowStart: T0 + 2 * MIN, observations: 0, travelers: 0, speedSamples: 0, speedMin: null, speedMax: null, speedMean: null }
    ])
  })

  it('combines sensors and types: counts summed, min of mins, max of maxes, sample-weighted mean', () => {
    const index = new SeriesIndex()
    index.put('1m', 's-1', 'CAR', T0, stats(10, 3, [20, 30, 40]))
    index.put('1m', 's-1', 'BUS', T0, stats(5, 1, [5]))
    index.put('1m', 's-2', 'CAR', T0, stats(7, 2, []))
    index.put('1m', 's-2', 'PEDESTRIAN', T0, stats(2, 2, [1, 2, 3, 4, 5, 6]))
    const [all] = aggregateSeries(index.select('1m', 'all', 'all'), T0, T0 + MIN)
    // The mean of all 10 underlying samples, not the mean of the 3 means (which would be 13.17).
    const samples = [20, 30, 40, 5, 1, 2, 3, 4, 5, 6]
    expect(all?.observations).toBe(24)
    expect(all?.travelers).toBe(8)
    expect(all?.speedSamples).toBe(10)
    expect(all?.speedMin).toBe(1)
    expect(all?.speedMax).toBe(40)
    expect(all?.speedMean).toBeCloseTo(samples.reduce((a, b) => a + b, 0) / samples.length, 12)

    const [cars] = aggregateSeries(index.select('1m', 'all', 'CAR'), T0, T0 + MIN)
    expect(cars).toMatchObject({ observations: 17, travelers: 5, speedSamples: 3, speedMin: 20, speedMax: 40 })
    expect(cars?.speedMean).toBeCloseTo(30, 12)

    const [s2] = aggregateSeries(index.select('1m', 's-2', 'all'), T0, T0 + MIN)
    expect(s2).toMatchObject({ observations: 9, travelers: 4, speedSamples: 6, speedMin: 1, speedMax: 6 })
    expect(s2?.speedMean).toBeCloseTo(3.5, 12)
  })

  it('equals a plain-loop aggregation over random windows, filters and ranges', () => {
    let seed = 42
    const rand = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed / 2_147_483_648
    }
    const types: TravelerType[] = ['CAR', 'BUS', 'PEDESTRIAN']
    const sensors = ['a', 'b', 'c', 'd']
    const rows: Array<{ sensor: string; type: TravelerType; start: number; speeds: number[]; obs: number; trav: number }> = []
    const index = new SeriesIndex()
    // Insert in random order so the columns' inserts in the middle are exercised.
    const keys: Array<[string, TravelerType, number]> = []
    for (const sensor of sensors) for (const type of types) for (let m = 0; m < 60; m++) if (rand() < 0.6) keys.push([sensor, type, T0 + m * MIN])
    keys.sort(() => rand() - 0.5)
    for (const [sensor, type, start] of keys) {
      const speeds = Array.from({ length: Math.floor(rand() * 4) }, () => Math.round(rand() * 3000) / 100)
      const row = { sensor, type, start, speeds, obs: 1 + Math.floor(rand() * 50), trav: 1 + Math.floor(rand() * 5) }
      rows.push(row)
      index.put('1m', sensor, type, start, stats(row.obs, row.trav, speeds))
    }
    for (const sensorFilter of ['all', 'b']) {
      for (const typeFilter of ['all', 'BUS'] as const) {
        const from = T0 + 7 * MIN + 13
        const to = T0 + 41 * MIN
        const points = aggregateSeries(index.select('1m', sensorFilter, typeFilter), from, to)
        expect(points).toHaveLength(33)
        for (const p of points) {
          const match = rows.filter(
            (r) => r.start === p.windowStart && (sensorFilter === 'all' || r.sensor === sensorFilter) && (typeFilter === 'all' || r.type === typeFilter)
          )
          const speeds = match.flatMap((r) => r.speeds)
          expect(p.observations).toBe(match.reduce((a, r) => a + r.obs, 0))
          expect(p.travelers).toBe(match.reduce((a, r) => a + r.trav, 0))
          expect(p.speedSamples).toBe(speeds.length)
          expect(p.speedMin).toBe(speeds.length > 0 ? Math.min(...speeds) : null)
          expect(p.speedMax).toBe(speeds.length > 0 ? Math.max(...speeds) : null)
          if (speeds.length === 0) expect(p.speedMean).toBeNull()
          else expect(p.speedMean).toBeCloseTo(speeds.reduce((a, b) => a + b, 0) / speeds.length, 9)
        }
      }
    }
  })

  it('returns an empty series for a range without a minute start', () => {
    const index = new SeriesIndex()
    index.put('1m', 's-1', 'CAR', T0, stats(1, 1, []))
    expect(aggregateSeries(index.select('1m', 'all', 'all'), T0 + 1, T0 + 59_999)).toEqual([])
  })
})

describe('combineAt', () => {
  it('gives the combined point of one window start, and zeros where nothing is held', () => {
    const index = new SeriesIndex()
    index.put('5m', 's-1', 'CAR', T0, stats(3, 1, [8]))
    index.put('5m', 's-2', 'CAR', T0, stats(1, 1, [4]))
    expect(combineAt(index.select('5m', 'all', 'CAR'), T0)).toEqual({
      windowStart: T0,
      observations: 4,
      travelers: 2,
      speedSamples: 2,
      speedMin: 4,
      speedMax: 8,
      speedMean: 6
    })
    expect(combineAt(index.select('5m', 'all', 'CAR'), T0 + MIN)).toEqual({
      windowStart: T0 + MIN,
      observations: 0,
      travelers: 0,
      speedSamples: 0,
      speedMin: null,
      speedMax: null,
      speedMean: null
    })
  })
})
