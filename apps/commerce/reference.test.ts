import { afterEach, describe, expect, it } from 'vitest'
import { DropReason } from '../../processors/index.ts'
import type { ProductRated, ProductSold } from '../../schemas/index.ts'
import { diffLatestValues } from '../shared/index.ts'
import { generateCommerceRecords, toSeedJson, type CommerceRecord } from './generator.ts'
import { referenceCommerceOutputs, type CommerceReferenceResult } from './reference.ts'
import { commerceHarness, type CommerceHarness } from './test-support.ts'

const T = 1_763_726_400_000
let harness: CommerceHarness | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
})

/** Pipes records in send order (typed, or as seed JSON through the bridge), committing every `commitEvery`. */
async function runDriver(
  records: readonly CommerceRecord[],
  options: { partitions: number; commitEvery: number; cacheMaxBytes?: number; seedJson?: boolean }
): Promise<CommerceHarness> {
  harness = await commerceHarness({
    partitions: options.partitions,
    driver: { autoCommit: false, ...(options.cacheMaxBytes !== undefined ? { cacheMaxBytes: options.cacheMaxBytes } : {}) }
  })
  let n = 0
  for (const record of records) {
    if (options.seedJson === true) {
      if (record.kind === 'invalid') harness.sendAnalytics(record.text, record.timestampMs)
      else harness.sendAnalytics(toSeedJson(record), record.value.timestamp, { key: String(record.value.product_id) })
    } else if (record.kind === 'sold') {
      harness.sold(record.value)
    } else if (record.kind === 'rated') {
      harness.rated(record.value)
    }
    if (++n % options.commitEvery === 0) harness.driver.commit()
  }
  harness.driver.commit()
  return harness
}

function expectSameOutputs(expected: CommerceReferenceResult, h: CommerceHarness): void {
  for (const role of ['sales1h', 'productRatings', 'categoryRatings'] as const) {
    const actual = h.latest(role) as Map<string, object>
    expect(diffLatestValues(expected[role] as Map<string, object>, actual), role).toEqual([])
    expect(actual.size, role).toBe(expected[role].size)
  }
  expect(h.driver.droppedRecords(DropReason.LATE)).toBe(expected.lateDrops)
}

const disorderly = {
  startMs: T,
  products: 40,
  categories: 6,
  meanGapMs: 2000,
  outOfOrderFraction: 0.1,
  lateFraction: 0.01,
  recategorizeFraction: 0.02
} as const

describe('commerce reference implementation', () => {
  it('computes a hand-checked case: a late sale at the grace boundary, the latest category, an emptied category', () => {
    const s = (t: number, cents: number): CommerceRecord => ({
      kind: 'sold',
      value: { product_id: 1, product_name: 'A', units: 1, amount_cents: cents, timestamp: t } as ProductSold
    })
    const r = (t: number, stars: number, category: string): CommerceRecord => ({
      kind: 'rated',
      value: { product_id: 1, product_name: 'A', rating: stars, category, timestamp: t } as ProductRated
    })
    const result = referenceCommerceOutputs([s(T + 61 * 60_000 - 1, 5), s(T + 1000, 7), r(T + 2000, 2, 'Books'), r(T + 1000, 5, 'Toys')], { partitions: 1 })
    expect(result.lateDrops).toBe(59)
    expect(result.sales1h.get(`1|${T}`)).toEqual({ product_id: 1, window_start: T, window_end: T + 3_600_000, orders: 1, units: 1, amount_cents: 7 })
    expect(result.sales1h.size).toBe(60 + 1)
    expect(result.productRatings.get('1')).toEqual({
      product_id: 1,
      product_name: 'A',
      category: 'Books',
      count: 2,
      sum: 7,
      average: 3.5,
      histogram: [0, 1, 0, 0, 1]
    })
    expect([...result.categoryRatings.keys()]).toEqual(['Books'])
  })

  it('equals the topology on 5,000 out-of-order typed events across 3 partitions with the default cache', async () => {
    const records = generateCommerceRecords({ seed: 21, events: 5000, ...disorderly })
    const expected = referenceCommerceOutputs(records, { partitions: 3 })
    // The input exercises what it should: late drops, several partitions, more than one category, a moved product.
    expect(expected.lateDrops).toBeGreaterThan(100)
    expect(expected.salesByPartition.filter((n) => n > 0)).toHaveLength(3)
    expect(expected.categoryRatings.size).toBeGreaterThan(3)
    const h = await runDriver(records, { partitions: 3, commitEvery: 100 })
    expectSameOutputs(expected, h)
    expect(h.driver.readTopic('test-app-commerce-ratings-by-category-repartition').length).toBeGreaterThan(0)
  })

  it('still equals it without a record cache (every update emitted, subtract and add seen apart)', async () => {
    const records = generateCommerceRecords({ seed: 22, events: 4000, ...disorderly })
    const h = await runDriver(records, { partitions: 4, commitEvery: 1000, cacheMaxBytes: 0 })
    expectSameOutputs(referenceCommerceOutputs(records, { partitions: 4 }), h)
    // Without a cache, a category update is a subtraction then an addition: both reach the output.
    expect(h.records('categoryRatings').length).toBeGreaterThan(h.records('productRatings').length)
  })

  it('equals it when the same events arrive as seed JSON through the bridge, with invalid events mixed in', async () => {
    const records = generateCommerceRecords({ seed: 23, events: 3000, invalidFraction: 0.05, ...disorderly })
    const invalid = records.filter((r) => r.kind === 'invalid').length
    expect(invalid).toBeGreaterThan(50)
    const h = await runDriver(records, { partitions: 3, commitEvery: 250, seedJson: true })
    expectSameOutputs(referenceCommerceOutputs(records, { partitions: 3 }), h)
    expect(h.rawRecords('analytics.dlq')).toHaveLength(invalid)
    const typed = records.filter((r) => r.kind !== 'invalid').length
    expect(h.typed('productSold').length + h.typed('productRated').length).toBe(typed)
  })
})
