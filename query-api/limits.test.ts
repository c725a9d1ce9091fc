import { afterEach, describe, expect, it, vi } from 'vitest'
import { FailureCounter, OpenCounter, seriesPointsOf, TokenRates } from './limits.ts'

describe('TokenRates', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('lets a burst through at once, then refuses until its window ends and says how long to wait', async () => {
    vi.useFakeTimers({ now: 1_000_000 })
    const rates = new TokenRates(5, 20) // windows of 4 s
    expect(await rates.take('a', 20)).toBe(0)
    expect(await rates.take('a', 1)).toBe(4000)
    expect(await rates.take('b', 20)).toBe(0) // keys are independent
    vi.advanceTimersByTime(1500)
    expect(await rates.take('a', 1)).toBe(2500)
    vi.advanceTimersByTime(2500)
    expect(await rates.take('a', 15)).toBe(0)
    // A cost past the burst never passes.
    vi.advanceTimersByTime(4000)
    expect(await rates.take('a', 21)).toBeGreaterThan(0)
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
  afterEach(() => {
    vi.useRealTimers()
  })

  it('blocks an address past the limit until its minute ends, and only that address', async () => {
    vi.useFakeTimers({ now: 1_000_000 })
    const failures = new FailureCounter(3)
    for (let i = 0; i < 2; i++) await failures.record('10.0.0.1')
    expect(await failures.blockedForMs('10.0.0.1')).toBe(0)
    vi.advanceTimersByTime(1000)
    await failures.record('10.0.0.1')
    expect(await failures.blockedForMs('10.0.0.1')).toBe(59_000)
    expect(await failures.blockedForMs('10.0.0.2')).toBe(0)
    vi.advanceTimersByTime(59_000)
    expect(await failures.blockedForMs('10.0.0.1')).toBe(0)
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
