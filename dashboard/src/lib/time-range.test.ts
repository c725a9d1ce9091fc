import { describe, expect, it } from 'vitest'
import { formatSpan, fromLocalInputValue, MINUTE_MS, msUntilNextMinute, resolveRange, TimeRangeError, toLocalInputValue } from './time-range.ts'

const T = Date.UTC(2025, 10, 21, 14, 7, 30, 250) // 14:07:30.250 UTC

describe('resolveRange', () => {
  it('ends a preset at the end of the current minute so the filling window is the last point', () => {
    const r = resolveRange({ kind: 'preset', preset: '15m' }, T)
    expect(r.to).toBe(Date.UTC(2025, 10, 21, 14, 8))
    expect(r.from).toBe(Date.UTC(2025, 10, 21, 13, 53))
    expect((r.to - r.from) / MINUTE_MS).toBe(15)
  })

  it('gives 60 and 1,440 one-minute slots for the hour and day presets', () => {
    const h = resolveRange({ kind: 'preset', preset: '1h' }, T)
    const d = resolveRange({ kind: 'preset', preset: '24h' }, T)
    expect((h.to - h.from) / MINUTE_MS).toBe(60)
    expect((d.to - d.from) / MINUTE_MS).toBe(1440)
    expect(d.to).toBe(h.to)
  })

  it('moves a preset on only when the minute changes', () => {
    const a = resolveRange({ kind: 'preset', preset: '1h' }, Date.UTC(2025, 0, 1, 10, 0, 0))
    const b = resolveRange({ kind: 'preset', preset: '1h' }, Date.UTC(2025, 0, 1, 10, 0, 59, 999))
    const c = resolveRange({ kind: 'preset', preset: '1h' }, Date.UTC(2025, 0, 1, 10, 1, 0))
    expect(b).toEqual(a)
    expect(c.from - a.from).toBe(MINUTE_MS)
  })

  it('widens a custom range to whole minutes', () => {
    const r = resolveRange({ kind: 'custom', from: T, to: T + 10 * MINUTE_MS }, 0)
    expect(r.from).toBe(Date.UTC(2025, 10, 21, 14, 7))
    expect(r.to).toBe(Date.UTC(2025, 10, 21, 14, 18))
  })

  it('keeps a custom range that is already on the grid as it is', () => {
    const from = Date.UTC(2025, 10, 21, 12, 0)
    expect(resolveRange({ kind: 'custom', from, to: from + 3_600_000 }, 0)).toEqual({ from, to: from + 3_600_000 })
  })

  it('refuses reversed, empty, invalid and too long custom ranges with a message', () => {
    expect(() => resolveRange({ kind: 'custom', from: T, to: T - 1 }, 0)).toThrow(/before its end/)
    expect(() => resolveRange({ kind: 'custom', from: T, to: T }, 0)).toThrow(TimeRangeError)
    expect(() => resolveRange({ kind: 'custom', from: Number.NaN, to: T }, 0)).toThrow(/start of the range is not a valid/)
    expect(() => resolveRange({ kind: 'custom', from: T, to: Number.NaN }, 0)).toThrow(/end of the range is not a valid/)
    expect(() => resolveRange({ kind: 'custom', from: T, to: T + 8 * 86_400_000 }, 0)).toThrow(/at most 7 d long; this one is 8 d/)
  })

  it('accepts a custom range of exactly the maximum length', () => {
    const from = Date.UTC(2025, 0, 1)
    expect(resolveRange({ kind: 'custom', from, to: from + 2 * 3_600_000 }, 0, 2 * 3_600_000).to).toBe(from + 2 * 3_600_000)
  })
})

describe('msUntilNextMinute', () => {
  it('counts down to the next minute boundary and is never zero', () => {
    expect(msUntilNextMinute(Date.UTC(2025, 0, 1, 0, 0, 30))).toBe(30_000)
    expect(msUntilNextMinute(Date.UTC(2025, 0, 1, 0, 0, 59, 999))).toBe(1)
    expect(msUntilNextMinute(Date.UTC(2025, 0, 1, 0, 1, 0))).toBe(60_000)
  })
})

describe('local datetime inputs', () => {
  it('round-trips a minute through the datetime-local format', () => {
    const ms = new Date(2025, 10, 21, 9, 5).getTime()
    expect(toLocalInputValue(ms)).toBe('2025-11-21T09:05')
    expect(fromLocalInputValue('2025-11-21T09:05')).toBe(ms)
  })

  it('reads seconds when the browser includes them', () => {
    expect(fromLocalInputValue('2025-11-21T09:05:30')).toBe(new Date(2025, 10, 21, 9, 5, 30).getTime())
  })

  it('gives NaN for text that is not a real date and time', () => {
    expect(fromLocalInputValue('')).toBeNaN()
    expect(fromLocalInputValue('yesterday')).toBeNaN()
    expect(fromLocalInputValue('2025-02-30T10:00')).toBeNaN()
    expect(fromLocalInputValue('2025-13-01T10:00')).toBeNaN()
  })
})

describe('formatSpan', () => {
  it('names minutes, hours and days', () => {
    expect(formatSpan(15 * MINUTE_MS)).toBe('15 min')
    expect(formatSpan(90 * MINUTE_MS)).toBe('1 h 30 min')
    expect(formatSpan(24 * 60 * MINUTE_MS)).toBe('1 d')
    expect(formatSpan(50 * 60 * MINUTE_MS)).toBe('2 d 2 h')
  })
})
