import { describe, expect, it } from 'vitest'
import { checkCount, checkFraction, checkSeed, checkStartMs, Prng, TimeQueue } from './model.ts'

describe('model building blocks', () => {
  it('draws uniform numbers from a seeded PRNG', () => {
    const rng = new Prng(42)
    const draws = Array.from({ length: 10_000 }, () => rng.next())
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...draws)).toBeLessThan(1)
    expect(draws.reduce((a, b) => a + b, 0) / draws.length).toBeCloseTo(0.5, 1)
    expect(new Prng(42).next()).toBe(draws[0])
    expect(new Prng(43).next()).not.toBe(draws[0])
  })

  it('takes queued items earliest first, and items due together in push order', () => {
    const queue = new TimeQueue<string>()
    expect(queue.peekAt()).toBe(Infinity)
    expect(queue.pop()).toBeUndefined()
    const rng = new Prng(7)
    const pushed: Array<{ at: number; item: string }> = []
    for (let i = 0; i < 500; i++) {
      const at = Math.floor(rng.next() * 50)
      pushed.push({ at, item: `i${i}` })
      queue.push(at, `i${i}`)
    }
    expect(queue.size).toBe(500)
    const expected = [...pushed].sort((a, b) => a.at - b.at).map((p) => p.item)
    const taken: string[] = []
    while (queue.size > 0) {
      const at = queue.peekAt()
      const item = queue.pop() as string
      expect(pushed.find((p) => p.item === item)?.at).toBe(at)
      taken.push(item)
    }
    expect(taken).toEqual(expected)
  })

  it('checks generator options naming them', () => {
    expect(checkFraction('lateFraction', undefined, 0.1)).toBe(0.1)
    expect(() => checkFraction('lateFraction', 1.5, 0)).toThrow(/lateFraction/)
    expect(checkCount('sensors', 3, 20, 1, 10)).toBe(3)
    expect(() => checkCount('sensors', 0, 20, 1, 10)).toThrow(/sensors must be an integer from 1 to 10/)
    expect(() => checkSeed(2 ** 32)).toThrow(/seed/)
    expect(checkSeed(0)).toBe(0)
    expect(() => checkStartMs(-1)).toThrow(/startMs/)
  })
})
