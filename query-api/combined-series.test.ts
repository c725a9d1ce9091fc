import { describe, expect, it } from 'vitest'
import { aggregateSeries } from './aggregate.ts'
import { CombinedSeriesCache } from './combined-series.ts'
import { SeriesIndex, type Resolution, type WindowStats } from './series-index.ts'
import type { TravelerType } from '../schemas/index.ts'
import { seededRandom } from '../test/support/random.ts'

const MIN = 60_000
const T0 = 1_763_726_400_000

function stats(rand: () => number): WindowStats {
  const n = Math.floor(rand() * 3)
  const speeds = Array.from({ length: n }, () => Math.round(rand() * 1000) / 10)
  return {
    observations: 1 + Math.floor(rand() * 9),
    travelers: 1,
    speedSamples: n,
    speedMin: n > 0 ? Math.min(...speeds) : null,
    speedMax: n > 0 ? Math.max(...speeds) : null,
    speedMean: n > 0 ? speeds.reduce((a, b) => a + b) / n : null
  }
}

describe('CombinedSeriesCache', () => {
  it('answers exactly like a fresh aggregation through random writes, deletes, evictions and queries', () => {
    const rand = seededRandom(2024)
    const index = new SeriesIndex()
    const cache = new CombinedSeriesCache(index)
    const sensors = ['a', 'b', 'c']
    const types: TravelerType[] = ['CAR', 'BUS']
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T
    let queries = 0
    for (let step = 0; step < 4000; step++) {
      const r = rand()
      const resolution: Resolution = rand() < 0.7 ? '1m' : '5m'
      if (r < 0.55) {
        index.put(resolution, pick(sensors), pick(types), T0 + Math.floor(rand() * 120) * MIN, stats(rand))
      } else if (r < 0.65) {
        index.put(resolution, pick(sensors), pick(types), T0 + Math.floor(rand() * 120) * MIN, null)
      } else if (r < 0.66) {
        index.deleteBefore(resolution, T0 + Math.floor(rand() * 30) * MIN)
      } else {
        const sensorId = pick(['all', 'all', ...sensors])
        const travelerType = pick(['all', 'all', ...types] as const)
        const from = T0 + Math.floor(rand() * 100) * MIN - Math.floor(rand() * 2) * 17_000
        const to = from + Math.floor(rand() * 60) * MIN + Math.floor(rand() * 2) * 5_000
        const cached = cache.series(resolution, sensorId, travelerType, from, to)
        expect(cached).toEqual(aggregateSeries(index.select(resolution, sensorId, travelerType), from, to))
        queries++
      }
    }
    expect(queries).toBeGreaterThan(1000)
    expect(cache.size).toBeGreaterThan(0)
  })

  it('recomputes only a changed minute of a cached range', () => {
    const index = new SeriesIndex()
    const cache = new CombinedSeriesCache(index)
    for (let m = 0; m < 60; m++)
      index.put('1m', 'a', 'CAR', T0 + m * MIN, { observations: 1, travelers: 1, speedSamples: 0, speedMin: null, speedMax: null, speedMean: null })
    const before = cache.series('1m', 'all', 'all', T0, T0 + 60 * MIN)
    index.put('1m', 'b', 'BUS', T0 + 7 * MIN, { observations: 5, travelers: 2, speedSamples: 1, speedMin: 3, speedMax: 3, speedMean: 3 })
    const after = cache.series('1m', 'all', 'all', T0, T0 + 60 * MIN)
    expect(after[7]).toEqual({ windowStart: T0 + 7 * MIN, observations: 6, travelers: 3, speedSamples: 1, speedMin: 3, speedMax: 3, speedMean: 3 })
    // Untouched minutes are the very same cached objects.
    expect(after.filter((p, i) => p === before[i])).toHaveLength(59)
  })

  it('starts a filter over instead of growing past its point cap', () => {
    const index = new SeriesIndex()
    const cache = new CombinedSeriesCache(index, 100)
    cache.series('1m', 'all', 'all', T0, T0 + 80 * MIN)
    expect(cache.size).toBe(80)
    cache.series('1m', 'all', 'all', T0 + 1000 * MIN, T0 + 1050 * MIN)
    expect(cache.size).toBe(50)
  })
})
