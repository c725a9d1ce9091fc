import { describe, expect, it } from 'vitest'
import type { CategoryRating, ProductRating, SalesPoint } from '../api/types.ts'
import {
  applyCategoryRating,
  applyProductRating,
  applySalesPoints,
  emptySalesPoint,
  fromSalesResult,
  hasSales,
  histogramShares,
  productLabel,
  salesColumns
} from './commerce-data.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const T0 = Date.UTC(2025, 10, 21, 12, 0)

const sold = (windowEnd: number, orders: number, amountCents: number): SalesPoint => ({
  windowStart: windowEnd - HOUR,
  windowEnd,
  orders,
  units: orders,
  amountCents
})

const product = (productId: number, count: number, category = 'Software'): ProductRating => ({
  productId,
  productName: `P${productId}`,
  category,
  count,
  sum: count * 4,
  average: 4,
  histogram: [0, 0, 0, count, 0]
})

const category = (name: string, count: number): CategoryRating => ({ category: name, count, sum: count * 3, average: 3, histogram: [0, 0, count, 0, 0] })

describe('sales series', () => {
  it('fills the slots of an answer by window end, zero for missing ones', () => {
    const state = fromSalesResult({ productId: 3, from: T0, to: T0 + 4 * MIN, stepMs: MIN, points: [sold(T0 + MIN, 2, 500), sold(T0 + 3 * MIN, 1, 250)] })
    expect(state.points).toEqual([emptySalesPoint(T0), sold(T0 + MIN, 2, 500), emptySalesPoint(T0 + 2 * MIN), sold(T0 + 3 * MIN, 1, 250)])
    expect(state.points[0]).toEqual({ windowStart: T0 - HOUR, windowEnd: T0, orders: 0, units: 0, amountCents: 0 })
  })

  it('applies live windows of its product inside its range, the latest of a window winning, and nothing else', () => {
    const state = fromSalesResult({ productId: 3, from: T0, to: T0 + 3 * MIN, stepMs: MIN, points: [] })
    const next = applySalesPoints(state, [
      { productId: 3, point: sold(T0 + MIN, 1, 100) },
      { productId: 3, point: sold(T0 + MIN, 2, 300) },
      { productId: 4, point: sold(T0 + 2 * MIN, 9, 900) },
      { productId: 3, point: sold(T0 + 3 * MIN, 9, 900) },
      { productId: 3, point: sold(T0 + 30_000, 9, 900) }
    ])
    expect(next.points.map((p) => p.amountCents)).toEqual([0, 300, 0])
    expect(applySalesPoints(state, [{ productId: 4, point: sold(T0, 1, 1) }])).toBe(state)
  })

  it('plots window ends, the amount in currency units and the orders', () => {
    const state = fromSalesResult({ productId: 1, from: T0, to: T0 + 2 * MIN, stepMs: MIN, points: [sold(T0 + MIN, 3, 123_456)] })
    expect(salesColumns(state)).toEqual([
      [T0, T0 + MIN],
      [0, 1234.56],
      [0, 3]
    ])
    expect(hasSales(state)).toBe(true)
    expect(hasSales(fromSalesResult({ productId: 1, from: T0, to: T0 + MIN, stepMs: MIN, points: [] }))).toBe(false)
  })
})

describe('rating lists', () => {
  it('replaces, adds and removes a product, keeping the order of most ratings then id, and the limit', () => {
    const items = [product(1, 5), product(2, 3), product(3, 3)]
    expect(applyProductRating(items, 3, product(3, 6), null, 10).map((p) => p.productId)).toEqual([3, 1, 2])
    expect(applyProductRating(items, 9, product(9, 4), null, 10).map((p) => p.productId)).toEqual([1, 9, 2, 3])
    expect(applyProductRating(items, 9, product(9, 4), null, 2).map((p) => p.productId)).toEqual([1, 9])
    expect(applyProductRating(items, 1, null, null, 10).map((p) => p.productId)).toEqual([2, 3])
  })

  it('drops a product that moved out of the filtered category and ignores one of another category', () => {
    const items = [product(1, 5), product(2, 3)]
    expect(applyProductRating(items, 2, product(2, 4, 'Books'), 'Software', 10).map((p) => p.productId)).toEqual([1])
    expect(applyProductRating(items, 7, product(7, 9, 'Books'), 'Software', 10).map((p) => p.productId)).toEqual([1, 2])
  })

  it('keeps categories ordered by ratings then name, removing deleted ones', () => {
    const items = [category('Software', 7), category('Books', 2)]
    expect(applyCategoryRating(items, 'Art', category('Art', 2)).map((c) => c.category)).toEqual(['Software', 'Art', 'Books'])
    expect(applyCategoryRating(items, 'Books', category('Books', 9)).map((c) => c.category)).toEqual(['Books', 'Software'])
    expect(applyCategoryRating(items, 'Software', null).map((c) => c.category)).toEqual(['Books'])
  })
})

describe('histogramShares and productLabel', () => {
  it('gives each star its share of the ratings', () => {
    expect(histogramShares([1, 0, 1, 0, 2])).toEqual([0.25, 0, 0.25, 0, 0.5])
    expect(histogramShares([0, 0, 0, 0, 0])).toEqual([0, 0, 0, 0, 0])
  })

  it('names a product by its name, or by its id without one', () => {
    expect(productLabel({ productId: 3, productName: 'Product A' })).toBe('Product A')
    expect(productLabel({ productId: 3, productName: null })).toBe('Product #3')
    expect(productLabel({ productId: 3, productName: ' ' })).toBe('Product #3')
  })
})
