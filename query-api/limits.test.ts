import { describe, expect, it } from 'vitest'
import { FailureCounter, OpenCounter, seriesPointsOf, TokenBuckets } from './limits.ts'

describe('TokenBuckets', () => {
  it('lets a burst through, then refills at the rate and says how long to wait', () => {
    const buckets = new TokenBuckets(5, 20)
    expect(buckets.take('a', 20, 0)).toBe(0)
    expect(buckets.take('a', 1, 0)).toBe(200)
    expect(buckets.take('b', 20, 0)).toBe(0) // keys are independent
    expect(buckets.take('a', 1, 200)).toBe(0)
    expect(buckets.take('a', 5, 200)).toBe(1000)
    expect(buckets.take('a', 5, 1200)).toBe(0)
    // Refill stops at the burst, and a cost past the burst never passes.
    expect(buckets.take('a', 21, 100_000)).toBeGreaterThan(0)
    expect(buckets.take('a', 20, 100_000)).toBe(0)
  })
})

describe('OpenCounter', () => {
  it('counts per key and in total, and a release counts once', () => {
    const open = new OpenCounter()
    const r1 = open.acquire('a')
    const r2 = open.acquire('a')
    open.acquire('b')
    expect([open.count('a'), open.count('b'), open.total]).toEqual([2, 1, 3])
    r1()
    r1()
    expect([open.count('a'), open.total]).toEqual([1, 2])
    r2()
    expect([open.count('a'), open.total]).toEqual([0, 1])
  })
})

describe('FailureCounter', () => {
  it('blocks an address past the limit until its minute ends, and only that address', () => {
    const failures = new FailureCounter(3)
    for (let i = 0; i < 2; i++) failures.record('10.0.0.1', 1000)
    expect(failures.blockedForMs('10.0.0.1', 1000)).toBe(0)
    failures.record('10.0.0.1', 2000)
    expect(failures.blockedForMs('10.0.0.1', 2000)).toBe(59_000)
    expect(failures.blockedForMs('10.0.0.2', 2000)).toBe(0)
    expect(failures.blockedForMs('10.0.0.1', 61_000)).toBe(0)
  })
})

describe('seriesPointsOf', () => {
  it('counts one point per minute start in [from, to) for the series procedures, and nothing for the others', () => {
    const T = 1_763_726_400_000
    expect(seriesPointsOf('traffic.series', { from: T, to: T + 7 * 86_400_000 }, 0)).toBe(10_080)
    expect(seriesPointsOf('traffic.series', { from: T + 1, to: T + 60_001 }, 0)).toBe(1)
    expect(seriesPointsOf('traffic.series', { from: T, to: 'x' }, 0)).toBe(0)
    expect(seriesPointsOf('commerce.sales', { productId: 1 }, T)).toBe(360)
    expect(seriesPointsOf('commerce.sales', { productId: 1, from: T, to: T + 3_600_000 }, 0)).toBe(60)
    expect(seriesPointsOf('traffic.sessions', { from: T, to: T + 86_400_000 }, 0)).toBe(0)
    expect(seriesPointsOf('traffic.series', null, 0)).toBe(0)
  })
})
