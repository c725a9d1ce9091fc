import { describe, expect, it } from 'vitest'
import type { SeriesPoint } from '../api/types.ts'
import { applyPoints, countColumns, emptyPoint, fromSeriesResult, shiftRange, slotOf, speedColumns, summarize } from './series-data.ts'

const M = 60_000
const BASE = 1_763_726_400_000 // a multiple of one minute

function point(minute: number, observations: number, speed: [number, number, number] | null = null, samples = speed === null ? 0 : observations): SeriesPoint {
  return {
    windowStart: BASE + minute * M,
    observations,
    travelers: Math.ceil(observations / 10),
    speedSamples: samples,
    speedMin: speed?.[0] ?? null,
    speedMean: speed?.[1] ?? null,
    speedMax: speed?.[2] ?? null
  }
}

function result(points: SeriesPoint[], fromMinute = 0, toMinute = 5) {
  return { from: BASE + fromMinute * M, to: BASE + toMinute * M, stepMs: M, points }
}

describe('fromSeriesResult', () => {
  it('keeps one point per window of the answer, in order', () => {
    const points = [point(0, 5), point(1, 0), point(2, 7, [1, 2, 3]), point(3, 0), point(4, 1)]
    const state = fromSeriesResult(result(points))
    expect(state.points).toEqual(points)
    expect(state.from).toBe(BASE)
    expect(state.to).toBe(BASE + 5 * M)
  })

  it('fills a window the answer left out with zeros instead of shifting later ones', () => {
    const state = fromSeriesResult(result([point(0, 5), point(2, 7)], 0, 3))
    expect(state.points.map((p) => p.observations)).toEqual([5, 0, 7])
    expect(state.points[1]).toEqual(emptyPoint(BASE + M))
  })

  it('ignores points off the grid or outside the range', () => {
    const odd = { ...point(1, 9), windowStart: BASE + M + 1 }
    const state = fromSeriesResult(result([odd, point(7, 3)], 0, 3))
    expect(state.points.map((p) => p.observations)).toEqual([0, 0, 0])
  })
})

describe('applyPoints', () => {
  const state = fromSeriesResult(result([point(0, 1), point(1, 2), point(2, 3)], 0, 3))

  it('replaces the windows it is given, the last update of a window winning', () => {
    const next = applyPoints(state, [point(1, 20), point(2, 30), point(1, 21)])
    expect(next.points.map((p) => p.observations)).toEqual([1, 21, 30])
    expect(state.points.map((p) => p.observations)).toEqual([1, 2, 3])
  })

  it('returns the same state when no update falls in the range', () => {
    expect(applyPoints(state, [point(5, 9), point(-1, 9)])).toBe(state)
  })
})

describe('shiftRange', () => {
  it('keeps overlapping windows, zero-fills new ones and applies remembered updates', () => {
    const state = fromSeriesResult(result([point(0, 1), point(1, 2), point(2, 3)], 0, 3))
    const next = shiftRange(state, { from: BASE + M, to: BASE + 5 * M }, [point(4, 40), point(9, 90)])
    expect(next.points.map((p) => [p.windowStart - BASE, p.observations])).toEqual([
      [M, 2],
      [2 * M, 3],
      [3 * M, 0],
      [4 * M, 40]
    ])
  })

  it('slot lookup agrees with the shifted grid', () => {
    const state = shiftRange(fromSeriesResult(result([], 0, 2)), { from: BASE + 10 * M, to: BASE + 12 * M })
    expect(slotOf(state, BASE + 11 * M)).toBe(1)
    expect(slotOf(state, BASE + 12 * M)).toBe(-1)
    expect(slotOf(state, BASE + 10 * M + 5)).toBe(-1)
  })
})

describe('chart columns', () => {
  const state = fromSeriesResult(result([point(0, 10, [1, 2, 4]), point(1, 0), point(2, 20, [3, 5, 9])], 0, 3))

  it('puts window starts first and the speeds as min, mean, max with null where there are no samples', () => {
    expect(speedColumns(state)).toEqual([
      [BASE, BASE + M, BASE + 2 * M],
      [1, null, 3],
      [2, null, 5],
      [4, null, 9]
    ])
  })

  it('plots counts as the API returns them, zeros included', () => {
    expect(countColumns(state)).toEqual([
      [BASE, BASE + M, BASE + 2 * M],
      [10, 0, 20],
      [1, 0, 2]
    ])
  })
})

describe('summarize', () => {
  const state = fromSeriesResult(result([point(0, 10, [1, 2, 4], 4), point(1, 0), point(2, 20, [3, 5, 9], 12), point(3, 0)], 0, 4))

  it('sums 1-minute observations and weights the mean speed by samples', () => {
    const s = summarize(state, '1m')
    expect(s.observations).toBe(30)
    expect(s.observationsLabel).toBe('in range')
    expect(s.meanSpeed).toBeCloseTo((2 * 4 + 5 * 12) / 16, 10)
    expect(s.maxSpeed).toBe(9)
    expect(s.peakTravelers).toBe(2)
    expect(s.lastActiveWindow).toBe(BASE + 2 * M)
    expect(s.activeWindows).toBe(2)
  })

  it('reports the peak window instead of a sum for overlapping 5-minute windows', () => {
    const s = summarize(state, '5m')
    expect(s.observations).toBe(20)
    expect(s.observationsLabel).toBe('peak per window')
  })

  it('has no speeds and no active window when everything is zero', () => {
    const s = summarize(fromSeriesResult(result([], 0, 3)), '1m')
    expect(s).toMatchObject({ observations: 0, meanSpeed: null, maxSpeed: null, lastActiveWindow: null, activeWindows: 0 })
  })
})
