import { describe, expect, it } from 'vitest'
import { SeriesIndex, WindowColumns, type WindowStats } from './series-index.ts'

const MIN = 60_000
const w = (observations: number): WindowStats => ({ observations, travelers: 1, speedSamples: 0, speedMin: null, speedMax: null, speedMean: null })

describe('WindowColumns', () => {
  it('keeps windows ordered by start whatever the insertion order, and updates in place', () => {
    const c = new WindowColumns('s', 'CAR')
    for (const m of [5, 1, 3, 9, 0, 7]) expect(c.put(m * MIN, w(m))).toBe(true)
    expect(c.put(3 * MIN, w(33))).toBe(false)
    expect(c.starts).toEqual([0, 1, 3, 5, 7, 9].map((m) => m * MIN))
    expect(c.observations).toEqual([0, 1, 33, 5, 7, 9])
    expect(c.get(3 * MIN)?.observations).toBe(33)
    expect(c.get(4 * MIN)).toBeUndefined()
  })

  it('finds the first window at or after a start with lowerBound', () => {
    const c = new WindowColumns('s', 'CAR')
    for (const m of [2, 4, 6]) c.put(m * MIN, w(m))
    expect([0, 2, 3, 6, 7].map((m) => c.lowerBound(m * MIN))).toEqual([0, 0, 1, 2, 3])
  })

  it('deletes one window and every window before a start', () => {
    const c = new WindowColumns('s', 'CAR')
    for (let m = 0; m < 10; m++) c.put(m * MIN, w(m))
    expect(c.delete(4 * MIN)).toBe(true)
    expect(c.delete(4 * MIN)).toBe(false)
    expect(c.deleteBefore(3 * MIN)).toBe(3)
    expect(c.starts).toEqual([3, 5, 6, 7, 8, 9].map((m) => m * MIN))
    expect(c.observations).toEqual([3, 5, 6, 7, 8, 9])
  })

  it('stores null speeds and gives them back as null', () => {
    const c = new WindowColumns('s', 'CAR')
    c.put(0, { observations: 2, travelers: 1, speedSamples: 1, speedMin: 3.5, speedMax: 3.5, speedMean: 3.5 })
    c.put(MIN, w(1))
    expect(c.get(0)).toEqual({ observations: 2, travelers: 1, speedSamples: 1, speedMin: 3.5, speedMax: 3.5, speedMean: 3.5 })
    expect(c.get(MIN)).toEqual(w(1))
  })
})

describe('SeriesIndex', () => {
  it('counts windows, deletes with null and forgets a sensor whose last window is deleted', () => {
    const index = new SeriesIndex()
    index.put('1m', 'a', 'CAR', 0, w(1))
    index.put('1m', 'a', 'CAR', 0, w(2))
    index.put('5m', 'a', 'BUS', MIN, w(3))
    index.put('1m', 'b', 'CAR', MIN, w(4))
    expect(index.size).toBe(3)
    index.put('1m', 'b', 'CAR', MIN, null)
    index.put('1m', 'b', 'CAR', MIN, null)
    expect(index.size).toBe(2)
    expect(index.hasSensor('b')).toBe(false)
    expect(index.hasSensor('a')).toBe(true)
    expect(index.get('1m', 'a', 'CAR', 0)?.observations).toBe(2)
  })

  it('summarizes sensors with their types and first and last window over both resolutions', () => {
    const index = new SeriesIndex()
    index.put('1m', 's-2', 'CAR', 5 * MIN, w(1))
    index.put('1m', 's-1', 'TRUCK', 2 * MIN, w(1))
    index.put('1m', 's-1', 'CAR', 3 * MIN, w(1))
    index.put('5m', 's-1', 'CAR', MIN, w(1))
    index.put('5m', 's-1', 'CAR', 4 * MIN, w(1))
    expect(index.sensors()).toEqual([
      { sensorId: 's-1', travelerTypes: ['CAR', 'TRUCK'], firstWindowStart: MIN, lastWindowStart: 4 * MIN, windows: { '1m': 2, '5m': 2 } },
      { sensorId: 's-2', travelerTypes: ['CAR'], firstWindowStart: 5 * MIN, lastWindowStart: 5 * MIN, windows: { '1m': 1, '5m': 0 } }
    ])
  })

  it('selects series by sensor and type, with all as a wildcard', () => {
    const index = new SeriesIndex()
    index.put('1m', 'a', 'CAR', 0, w(1))
    index.put('1m', 'a', 'BUS', 0, w(1))
    index.put('1m', 'b', 'CAR', 0, w(1))
    const names = (s: WindowColumns[]): string[] => s.map((c) => `${c.sensorId}/${c.travelerType}`).sort()
    expect(names(index.select('1m', 'all', 'all'))).toEqual(['a/BUS', 'a/CAR', 'b/CAR'])
    expect(names(index.select('1m', 'all', 'CAR'))).toEqual(['a/CAR', 'b/CAR'])
    expect(names(index.select('1m', 'a', 'all'))).toEqual(['a/BUS', 'a/CAR'])
    expect(names(index.select('1m', 'zzz', 'all'))).toEqual([])
    expect(names(index.select('5m', 'all', 'all'))).toEqual([])
  })

  it('drops windows past retention for one resolution only', () => {
    const index = new SeriesIndex()
    for (let m = 0; m < 5; m++) {
      index.put('1m', 'a', 'CAR', m * MIN, w(m))
      index.put('5m', 'a', 'CAR', m * MIN, w(m))
    }
    expect(index.deleteBefore('1m', 3 * MIN)).toBe(3)
    expect(index.size).toBe(7)
    expect(index.select('1m', 'a', 'CAR')[0]?.starts).toEqual([3 * MIN, 4 * MIN])
  })
})
