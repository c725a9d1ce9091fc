import { describe, expect, it } from 'vitest'
import {
  categoryRatings,
  currencyUnits,
  isKnownProduct,
  knownProductCount,
  lastHourSales,
  productRatings,
  productSales,
  productSummaries,
  topProducts,
  type CommerceData
} from './commerce-queries.ts'
import { QueryApiError } from './errors.ts'
import { RatingsIndex, type ProductRatingView, type StarHistogram } from './ratings-index.ts'
import { SalesIndex, type SalesFigures } from './sales-index.ts'
import { seededRandom } from '../test/support/random.ts'

const MIN = 60_000
const HOUR = 60 * MIN
/** 2025-11-21 12:00:00 UTC. */
const NOON = Date.UTC(2025, 10, 21, 12, 0, 0)

interface Sale {
  productId: number
  timestamp: number
  units: number
  amountCents: number
}

/** What the topology writes for `sales`, by brute force: every minute-aligned 1-hour window that contains each sale. */
function windowsOf(sales: readonly Sale[]): Map<string, { productId: number; start: number; figures: SalesFigures }> {
  const out = new Map<string, { productId: number; start: number; figures: SalesFigures }>()
  for (const s of sales) {
    for (let start = Math.floor(s.timestamp / MIN) * MIN; start > s.timestamp - HOUR; start -= MIN) {
      const key = `${s.productId}|${start}`
      const old = out.get(key)?.figures ?? { orders: 0, units: 0, amountCents: 0 }
      out.set(key, {
        productId: s.productId,
        start,
        figures: { orders: old.orders + 1, units: old.units + s.units, amountCents: old.amountCents + s.amountCents }
      })
    }
  }
  return out
}

function dataOf(sales: readonly Sale[]): CommerceData {
  const index = new SalesIndex()
  for (const w of windowsOf(sales).values()) index.put(w.productId, w.start, w.figures)
  return { sales: index, ratings: new RatingsIndex() }
}

function rating(productId: number, category: string, histogram: StarHistogram, productName = `Product ${productId}`): ProductRatingView {
  const count = histogram.reduce((s, n) => s + n, 0)
  const sum = histogram.reduce((s, n, i) => s + n * (i + 1), 0)
  return { productId, productName, category, count, sum, average: sum / count, histogram }
}

describe('the last hour', () => {
  it('at 12:34:56.789 is the window [11:34, 12:34): a sale at 11:34:00 counts, one at 12:34:00.000 and one at 11:33:59.999 do not', () => {
    const at = NOON + 34 * MIN + 56_789
    const data = dataOf([
      { productId: 3, timestamp: NOON - 26 * MIN, units: 1, amountCents: 100 }, // 11:34:00.000, first instant of the window
      { productId: 3, timestamp: NOON + 34 * MIN - 1, units: 2, amountCents: 250 }, // 12:33:59.999, last instant
      { productId: 3, timestamp: NOON + 34 * MIN, units: 4, amountCents: 1000 }, // 12:34:00.000, the current minute
      { productId: 3, timestamp: NOON - 26 * MIN - 1, units: 8, amountCents: 5000 } // 11:33:59.999, before
    ])
    expect(lastHourSales(data, 3, at)).toEqual({ windowStart: NOON - 26 * MIN, windowEnd: NOON + 34 * MIN, orders: 2, units: 3, amountCents: 350 })
    // One minute later, the sale of 12:34 is in and the one of 11:34 is out.
    expect(lastHourSales(data, 3, at + MIN)).toMatchObject({ orders: 2, units: 6, amountCents: 1250 })
  })

  it('equals the sum of the sales in [floor_minute(T) - 1 h, floor_minute(T)) at random moments', () => {
    const next = seededRandom(14)
    const sales: Sale[] = Array.from({ length: 400 }, () => ({
      productId: Math.floor(next() * 4),
      timestamp: NOON + Math.floor(next() * 3 * HOUR),
      units: 1 + Math.floor(next() * 5),
      amountCents: Math.floor(next() * 10_000)
    }))
    const data = dataOf(sales)
    for (let i = 0; i < 200; i++) {
      const at = NOON + Math.floor(next() * 4 * HOUR)
      const end = Math.floor(at / MIN) * MIN
      for (let productId = 0; productId < 4; productId++) {
        const inWindow = sales.filter((s) => s.productId === productId && s.timestamp >= end - HOUR && s.timestamp < end)
        expect(lastHourSales(data, productId, at)).toEqual({
          windowStart: end - HOUR,
          windowEnd: end,
          orders: inWindow.length,
          units: inWindow.reduce((s, x) => s + x.units, 0),
          amountCents: inWindow.reduce((s, x) => s + x.amountCents, 0)
        })
      }
    }
  })

  it('is zero for a known product without sales in it', () => {
    const data = dataOf([{ productId: 5, timestamp: NOON, units: 1, amountCents: 999 }])
    expect(lastHourSales(data, 5, NOON + 3 * HOUR)).toMatchObject({ orders: 0, units: 0, amountCents: 0 })
    expect(isKnownProduct(data, 5)).toBe(true)
  })
})

describe('productSales', () => {
  it('has one point per minute of [from, to): the window ending at that minute, zero-filled', () => {
    const data = dataOf([{ productId: 1, timestamp: NOON + 30_000, units: 2, amountCents: 700 }])
    const result = productSales(data, 1, NOON + 2 * HOUR, NOON - 5 * MIN + 1, NOON + 70 * MIN)
    expect(result).toMatchObject({ productId: 1, productName: null, category: null, from: NOON - 4 * MIN, to: NOON + 70 * MIN, stepMs: MIN })
    expect(result.points).toHaveLength(74)
    // The sale at 12:00:30 is in the windows ending 12:01 .. 13:00.
    const withSale = result.points.filter((p) => p.orders === 1).map((p) => p.windowEnd)
    expect(withSale).toEqual(Array.from({ length: 60 }, (_, i) => NOON + (i + 1) * MIN))
    for (const p of result.points) {
      expect(p.windowEnd - p.windowStart).toBe(HOUR)
      expect(p.amountCents).toBe(p.orders === 1 ? 700 : 0)
    }
    expect(result.lastHour).toMatchObject({ windowEnd: NOON + 2 * HOUR, orders: 0 })
  })

  it('refuses a product never seen with UNKNOWN_PRODUCT', () => {
    const data = dataOf([{ productId: 1, timestamp: NOON, units: 1, amountCents: 1 }])
    expect(() => productSales(data, 2, NOON, NOON, NOON + MIN)).toThrow(QueryApiError)
    expect(() => productSales(data, 2, NOON, NOON, NOON + MIN)).toThrow(/unknown product 2/)
  })
})

describe('topProducts', () => {
  it('ranks the products of the last hour by amount, then units, orders and id, with totals over all of them', () => {
    const at = NOON + HOUR + 10_000
    const sales: Sale[] = [
      { productId: 10, timestamp: NOON + 5 * MIN, units: 1, amountCents: 500 },
      { productId: 11, timestamp: NOON + 6 * MIN, units: 3, amountCents: 500 },
      { productId: 12, timestamp: NOON + 7 * MIN, units: 1, amountCents: 2000 },
      { productId: 13, timestamp: NOON + 8 * MIN, units: 1, amountCents: 500 },
      { productId: 14, timestamp: NOON - 2 * MIN, units: 9, amountCents: 9000 } // before the last hour
    ]
    const data = dataOf(sales)
    data.ratings.putProduct(12, rating(12, 'Software', [0, 0, 0, 1, 0], 'Product X'))
    const top = topProducts(data, at, 3)
    expect(top).toMatchObject({ windowStart: NOON, windowEnd: NOON + HOUR, productsWithSales: 4, totals: { orders: 4, units: 6, amountCents: 3500 } })
    expect(top.items).toEqual([
      { rank: 1, productId: 12, productName: 'Product X', category: 'Software', orders: 1, units: 1, amountCents: 2000 },
      { rank: 2, productId: 11, productName: null, category: null, orders: 1, units: 3, amountCents: 500 },
      { rank: 3, productId: 10, productName: null, category: null, orders: 1, units: 1, amountCents: 500 }
    ])
  })

  it('is empty when nothing sold in the last hour', () => {
    const data = dataOf([{ productId: 1, timestamp: NOON, units: 1, amountCents: 1 }])
    expect(topProducts(data, NOON + 5 * HOUR, 10)).toMatchObject({ productsWithSales: 0, items: [], totals: { orders: 0, units: 0, amountCents: 0 } })
  })
})

describe('ratings and products', () => {
  it('sorts products by ratings count (then id), filters by category, and sorts categories by count (then name)', () => {
    const data: CommerceData = { sales: new SalesIndex(), ratings: new RatingsIndex() }
    data.ratings.putProduct(1, rating(1, 'Software', [0, 0, 0, 1, 1]))
    data.ratings.putProduct(2, rating(2, 'Books', [1, 1, 1, 0, 0]))
    data.ratings.putProduct(3, rating(3, 'Software', [0, 0, 0, 0, 3]))
    data.ratings.putCategory('Software', { category: 'Software', count: 5, sum: 24, average: 4.8, histogram: [0, 0, 0, 1, 4] })
    data.ratings.putCategory('Books', { category: 'Books', count: 3, sum: 6, average: 2, histogram: [1, 1, 1, 0, 0] })
    data.ratings.putCategory('Art', { category: 'Art', count: 3, sum: 3, average: 1, histogram: [3, 0, 0, 0, 0] })
    expect(productRatings(data, null, 10).items.map((p) => p.productId)).toEqual([2, 3, 1])
    expect(productRatings(data, null, 2)).toMatchObject({ total: 3, items: [{ productId: 2 }, { productId: 3 }] })
    expect(productRatings(data, 'Software', 10).items.map((p) => p.productId)).toEqual([3, 1])
    expect(productRatings(data, 'Garden', 10)).toEqual({ total: 0, items: [] })
    expect(categoryRatings(data).items.map((c) => c.category)).toEqual(['Software', 'Art', 'Books'])
  })

  it('lists every product seen, rated or sold, with its last hour and ratings summary; a tombstone keeps it known', () => {
    const data = dataOf([{ productId: 4, timestamp: NOON + 10 * MIN, units: 2, amountCents: 1234 }])
    data.ratings.putProduct(2, rating(2, 'Books', [0, 1, 0, 0, 1], 'Novel'))
    data.ratings.putProduct(9, rating(9, 'Books', [1, 0, 0, 0, 0]))
    data.ratings.putProduct(9, null)
    const result = productSummaries(data, NOON + HOUR)
    expect(result.products).toEqual([
      { productId: 2, productName: 'Novel', category: 'Books', lastHour: { orders: 0, units: 0, amountCents: 0 }, ratingCount: 2, averageRating: 3.5 },
      { productId: 4, productName: null, category: null, lastHour: { orders: 1, units: 2, amountCents: 1234 }, ratingCount: 0, averageRating: null },
      { productId: 9, productName: null, category: null, lastHour: { orders: 0, units: 0, amountCents: 0 }, ratingCount: 0, averageRating: null }
    ])
    expect(knownProductCount(data)).toBe(3)
    expect(isKnownProduct(data, 9)).toBe(true)
    expect(isKnownProduct(data, 7)).toBe(false)
  })
})

describe('SalesIndex', () => {
  it('deletes on null, drops windows before a cutoff and keeps their products known', () => {
    const index = new SalesIndex()
    index.put(1, NOON, { orders: 1, units: 1, amountCents: 5 })
    index.put(1, NOON + MIN, { orders: 2, units: 2, amountCents: 9 })
    index.put(2, NOON + MIN, { orders: 1, units: 1, amountCents: 1 })
    index.put(2, NOON + MIN, { orders: 3, units: 3, amountCents: 3 })
    expect(index.size).toBe(3)
    expect([...index.productsAt(NOON + MIN)]).toEqual([
      [1, { orders: 2, units: 2, amountCents: 9 }],
      [2, { orders: 3, units: 3, amountCents: 3 }]
    ])
    index.put(1, NOON + MIN, null)
    index.put(1, NOON + 7 * MIN, null)
    expect(index.size).toBe(2)
    expect(index.get(1, NOON + MIN)).toBeUndefined()
    expect(index.deleteBefore(NOON + MIN)).toBe(1)
    expect(index.size).toBe(1)
    expect(index.get(1, NOON)).toBeUndefined()
    expect(index.hasSeen(1)).toBe(true)
    expect(index.latestWindowStart).toBe(NOON + MIN)
  })
})

describe('currencyUnits', () => {
  it('turns cents into currency units', () => {
    expect(currencyUnits(300_000)).toBe(3000)
    expect(currencyUnits(123_456)).toBe(1234.56)
    expect(currencyUnits(5)).toBe(0.05)
    expect(currencyUnits(0)).toBe(0)
  })
})
