import { describe, expect, it } from 'vitest'
import {
  formatAgo,
  formatAmount,
  formatClock,
  formatCompact,
  formatTimeTicks,
  formatCount,
  formatDistance,
  formatDuration,
  formatKmh,
  formatRate,
  formatRating,
  formatSpeed,
  formatTravelerType,
  naturalCompare
} from './format.ts'
import { hashOf, routeFromHash, Routes, takeTokenFromHash } from './route.ts'

describe('number formatting', () => {
  it('shows a dash for missing values instead of 0 or NaN', () => {
    for (const f of [formatCount, formatCompact, formatSpeed, formatRate, formatDistance]) {
      expect(f(null)).toBe('—')
      expect(f(Number.NaN)).toBe('—')
    }
    expect(formatKmh(null)).toBe('')
  })

  it('groups thousands and abbreviates large numbers', () => {
    expect(formatCount(1234567)).toBe('1,234,567')
    expect(formatCompact(9_999)).toBe('9,999')
    expect(formatCompact(12_345)).toBe('12.3k')
    expect(formatCompact(4_560_000)).toBe('4.6M')
    expect(formatCompact(2.25)).toBe('2.3')
  })

  it('formats speeds in m/s and km/h, rates and distances', () => {
    expect(formatSpeed(12.345)).toBe('12.3 m/s')
    expect(formatKmh(10)).toBe('36 km/h')
    expect(formatRate(0.25)).toBe('0.3/s')
    expect(formatRate(1234.5)).toBe('1,235/s')
    expect(formatDistance(850.4)).toBe('850 m')
    expect(formatDistance(1250)).toBe('1.3 km')
  })

  it('formats durations and relative times', () => {
    expect(formatDuration(45_000)).toBe('45 s')
    expect(formatDuration(185_000)).toBe('3 min 5 s')
    expect(formatDuration(2 * 3_600_000 + 600_000)).toBe('2 h 10 min')
    expect(formatAgo(1_000, 3_000)).toBe('just now')
    expect(formatAgo(0, 12_000)).toBe('12 s ago')
    expect(formatAgo(0, 5 * 60_000)).toBe('5 min ago')
  })

  it('title-cases traveler types and sorts sensor ids numerically', () => {
    expect(formatTravelerType('PEDESTRIAN')).toBe('Pedestrian')
    expect(formatTravelerType('all')).toBe('All types')
    expect(['s-10', 's-2', 's-1'].sort(naturalCompare)).toEqual(['s-1', 's-2', 's-10'])
  })
})

describe('commerce formatting', () => {
  it('shows cents as currency units with two decimals, and averages with two decimals', () => {
    expect(formatAmount(123_456)).toBe('1,234.56')
    expect(formatAmount(300_000)).toBe('3,000.00')
    expect(formatAmount(5)).toBe('0.05')
    expect(formatAmount(null)).toBe('—')
    expect(formatRating(10 / 3)).toBe('3.33')
    expect(formatRating(4)).toBe('4.00')
    expect(formatRating(null)).toBe('—')
  })
})

describe('formatTimeTicks', () => {
  it('labels ticks HH:mm with the date under the first tick and at each new day', () => {
    const day1 = new Date(2025, 10, 21, 23, 0).getTime()
    const ticks = formatTimeTicks([day1, day1 + 30 * 60_000, day1 + 60 * 60_000, day1 + 90 * 60_000], 30 * 60_000)
    expect(ticks).toEqual(['23:00\nNov 21', '23:30', '00:00\nNov 22', '00:30'])
  })

  it('adds seconds when ticks are less than a minute apart', () => {
    const t = new Date(2025, 10, 21, 9, 5, 15).getTime()
    expect(formatTimeTicks([t, t + 15_000], 15_000)).toEqual(['09:05:15\nNov 21', '09:05:30'])
    expect(formatClock(t)).toBe('09:05')
  })
})

describe('routes', () => {
  it('maps hashes to pages, defaulting to traffic', () => {
    expect(routeFromHash('#/system')).toBe('system')
    expect(routeFromHash('#system?x=1')).toBe('system')
    expect(routeFromHash('#/traffic')).toBe('traffic')
    expect(routeFromHash('')).toBe('traffic')
    expect(routeFromHash('#/nope')).toBe('traffic')
    expect(hashOf('system')).toBe('#/system')
  })

  it('maps the commerce page, with or without a query or a sub-path, and round-trips every route', () => {
    expect(routeFromHash('#/commerce')).toBe('commerce')
    expect(routeFromHash('#commerce?product=3')).toBe('commerce')
    expect(routeFromHash('#/commerce/3')).toBe('commerce')
    expect(routeFromHash('#/commerce-x')).toBe('traffic')
    expect(routeFromHash('#/COMMERCE')).toBe('traffic')
    for (const route of Object.values(Routes)) expect(routeFromHash(hashOf(route))).toBe(route)
    expect(takeTokenFromHash('#/commerce?token=abc123XYZ')).toEqual({ token: 'abc123XYZ', hash: '#/commerce' })
  })

  it('takes a token handed over in the fragment and leaves the rest of the fragment', () => {
    expect(takeTokenFromHash('#token=abc123XYZ')).toEqual({ token: 'abc123XYZ', hash: '' })
    expect(takeTokenFromHash('#/system?token=abc123XYZ')).toEqual({ token: 'abc123XYZ', hash: '#/system' })
    expect(takeTokenFromHash('#/traffic?x=1&token=t0k3n-value')).toEqual({ token: 't0k3n-value', hash: '#/traffic?x=1' })
    expect(routeFromHash(takeTokenFromHash('#/system?token=a').hash)).toBe('system')
  })

  it('leaves a fragment without a token as it is', () => {
    expect(takeTokenFromHash('#/system')).toEqual({ token: null, hash: '#/system' })
    expect(takeTokenFromHash('')).toEqual({ token: null, hash: '' })
    expect(takeTokenFromHash('#token=')).toEqual({ token: null, hash: '#token=' })
  })
})
