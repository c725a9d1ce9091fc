import { describe, expect, it } from 'vitest'
import { categoryKey, lastHourWindow, parseProductKey, parseSalesKey, productKey, resolveCommerceSettings, salesKey } from './config.ts'

const T = 1_763_726_400_000

describe('commerce settings and keys', () => {
  it('fills in the contract defaults', () => {
    expect(resolveCommerceSettings()).toEqual({
      topics: {
        analytics: 'analytics',
        analyticsDlq: 'analytics.dlq',
        productSold: 'commerce.product-sold',
        productRated: 'commerce.product-rated',
        sales1h: 'commerce.sales.1h',
        productRatings: 'commerce.product-ratings',
        categoryRatings: 'commerce.category-ratings'
      },
      typedDeadLetterTopic: 'runnel-commerce-dlq',
      graceMs: 60_000,
      outputRetentionMs: 172_800_000,
      storeRetentionMs: 86_400_000,
      inputPartitions: 6,
      outputPartitions: 6
    })
  })

  it('rejects bad settings naming the option', () => {
    expect(() => resolveCommerceSettings({ topics: { nope: 'x' } as never })).toThrow(/topics\.nope/)
    expect(() => resolveCommerceSettings({ outputPartitions: 0 })).toThrow(/outputPartitions/)
    expect(() => resolveCommerceSettings({ outputRetentionMs: 1.5 })).toThrow(/outputRetentionMs/)
    expect(() => resolveCommerceSettings({ typedDeadLetterTopic: 'analytics.dlq' })).toThrow(/distinct/)
  })

  it('encodes and parses the output keys, rejecting anything that is not canonical', () => {
    expect(productKey(233)).toBe('233')
    expect(parseProductKey('233')).toBe(233)
    expect(parseProductKey('0')).toBe(0)
    for (const bad of ['', '-1', '01', '1.0', ' 1', 'abc', '99999999999999999']) expect(parseProductKey(bad), bad).toBeUndefined()
    expect(salesKey(3, T)).toBe('3|1763726400000')
    expect(parseSalesKey('3|1763726400000')).toEqual({ productId: 3, windowStartMs: T })
    for (const bad of ['3', '3|', '|1', '3|x', 'a|1', '3|1|2']) expect(parseSalesKey(bad), bad).toBeUndefined()
    expect(categoryKey('Software')).toBe('Software')
  })

  it('answers "the last hour" with the window ending at the moment rounded down to the minute', () => {
    expect(lastHourWindow(T + 34 * 60_000 + 56_789)).toEqual({ windowStartMs: T + 34 * 60_000 - 3_600_000, windowEndMs: T + 34 * 60_000 })
    expect(lastHourWindow(T)).toEqual({ windowStartMs: T - 3_600_000, windowEndMs: T })
  })
})
