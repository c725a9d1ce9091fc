import { afterEach, describe, expect, it } from 'vitest'
import { DropReason } from '../../processors/index.ts'
import { DeadLetterHeaders, type ProductRated, type ProductSold } from '../../schemas/index.ts'
import { lastHourWindow, salesKey } from './config.ts'
import { DEAD_LETTER_FIELD_HEADER } from './dead-letters.ts'
import { buildCommerceTopology, CATEGORY_REPARTITION, COMMERCE_STORES, TypedInputErrorCodes } from './topology.ts'
import { commerceHarness, type CommerceHarness } from './test-support.ts'

/** A minute boundary (2025-11-21T12:00:00Z). */
const T = 1_763_726_400_000
const MIN = 60_000
const HOUR = 60 * MIN

let harness: CommerceHarness | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
})

function sale(productId: number, timestamp: number, units = 1, cents = 1000): ProductSold {
  return { product_id: productId, product_name: `Product ${productId}`, units, amount_cents: cents, timestamp }
}

function rating(productId: number, stars: number, timestamp: number, category = 'Software', name = `Product ${productId}`): ProductRated {
  return { product_id: productId, product_name: name, rating: stars, category, timestamp }
}

describe('commerce topology: sales in hopping 1-hour windows', () => {
  it('counts a sale in the 60 windows that contain it, keyed product_id|window_start_ms', async () => {
    harness = await commerceHarness()
    harness.sold(sale(3, T + 90_000, 2, 2500))
    const sales = harness.latest('sales1h')
    const starts = Array.from({ length: 60 }, (_, i) => T + MIN - i * MIN)
    expect([...sales.keys()].sort()).toEqual(starts.map((s) => salesKey(3, s)).sort())
    expect(sales.get(`3|${T + MIN}`)).toEqual({ product_id: 3, window_start: T + MIN, window_end: T + MIN + HOUR, orders: 1, units: 2, amount_cents: 2500 })
    expect(sales.get(`3|${T + MIN - 59 * MIN}`)).toMatchObject({ window_end: T + 2 * MIN, orders: 1 })
  })

  it('answers "sales in the last hour" at a moment with the window ending at that moment rounded down to the minute', async () => {
    harness = await commerceHarness()
    const h = harness
    h.sold(sale(3, T + 33 * MIN, 1, 100)) // before the last hour at 13:34:56
    h.sold(sale(3, T + 34 * MIN, 2, 200)) // the first ms of it
    h.sold(sale(3, T + 80 * MIN, 3, 300))
    h.sold(sale(3, T + 94 * MIN - 1, 4, 400)) // its last ms
    h.sold(sale(3, T + 94 * MIN, 5, 500)) // the next minute: not yet in
    const { windowStartMs, windowEndMs } = lastHourWindow(T + 94 * MIN + 56_000)
    expect([windowStartMs, windowEndMs]).toEqual([T + 34 * MIN, T + 94 * MIN])
    expect(h.latest('sales1h').get(salesKey(3, windowStartMs))).toEqual({
      product_id: 3,
      window_start: T + 34 * MIN,
      window_end: T + 94 * MIN,
      orders: 3,
      units: 9,
      amount_cents: 900
    })
  })

  it('drops a sale from a window exactly when window end + grace <= stream time, and counts each such window', async () => {
    harness = await commerceHarness({ partitions: 1 })
    const h = harness
    h.sold(sale(1, T + 61 * MIN - 1)) // stream time: 1 ms before the window [T, T+1h) closes
    h.sold(sale(1, T + 30_000)) // accepted by [T, T+1h) only; the 59 earlier windows are closed
    expect(h.driver.droppedRecords(DropReason.LATE)).toBe(59)
    expect(h.latest('sales1h').get(`1|${T}`)).toMatchObject({ orders: 1 })
    h.sold(sale(1, T + 61 * MIN)) // now [T, T+1h) is closed too
    h.sold(sale(1, T + 40_000))
    expect(h.driver.droppedRecords(DropReason.LATE)).toBe(59 + 60)
    expect(h.latest('sales1h').get(`1|${T}`)).toMatchObject({ orders: 1 })
    expect(h.latest('sales1h').has(`1|${T - MIN}`)).toBe(false)
  })

  it('uses the configured grace', async () => {
    harness = await commerceHarness({ partitions: 1, topology: { graceMs: 0 } })
    harness.sold(sale(1, T + HOUR))
    harness.sold(sale(1, T + 1000))
    expect(harness.driver.droppedRecords(DropReason.LATE)).toBe(60)
  })

  it('emits at most one record per key per commit', async () => {
    harness = await commerceHarness({ driver: { autoCommit: false } })
    const h = harness
    for (let i = 0; i < 10; i++) {
      h.sold(sale(1, T + i * 1000))
      h.rated(rating(1, 1 + (i % 5), T + i * 1000))
    }
    expect(h.records('sales1h')).toEqual([])
    h.driver.commit()
    const keys = h.records('sales1h').map((r) => r.key)
    expect(keys).toHaveLength(60)
    expect(new Set(keys).size).toBe(60)
    expect(h.records('sales1h').every((r) => r.value?.orders === 10)).toBe(true)
    expect(h.records('productRatings')).toEqual([{ key: '1', value: expect.objectContaining({ count: 10, sum: 30 }) as unknown }])
    expect(h.records('categoryRatings')).toEqual([{ key: 'Software', value: expect.objectContaining({ count: 10, sum: 30 }) as unknown }])
  })
})

describe('commerce topology: ratings', () => {
  it('keeps count, sum, average and the histogram per product, with the name and category of its latest rating by event time', async () => {
    harness = await commerceHarness()
    const h = harness
    h.rated(rating(7, 5, T + 1000, 'Books', 'Old name'))
    h.rated(rating(7, 4, T + 3000, 'Books', 'New name'))
    h.rated(rating(7, 1, T + 2000, 'Toys', 'Out of order')) // older: counted, but not the latest
    h.rated(rating(7, 4, T + 3000, 'Books', 'Same time, later')) // a tie: the last to arrive wins
    expect(h.latest('productRatings').get('7')).toEqual({
      product_id: 7,
      product_name: 'Same time, later',
      category: 'Books',
      count: 4,
      sum: 14,
      average: 3.5,
      histogram: [1, 0, 0, 2, 1]
    })
    expect(h.latest('categoryRatings')).toEqual(new Map([['Books', { category: 'Books', count: 4, sum: 14, average: 3.5, histogram: [1, 0, 0, 2, 1] }]]))
  })

  it('sums products per category through a real repartition topic, and moves a product with all its ratings when its category changes', async () => {
    harness = await commerceHarness({ partitions: 4 })
    const h = harness
    const plan = h.driver.plan
    expect(plan.internalTopics.filter((t) => t.kind === 'repartition').map((t) => t.name)).toEqual([`test-app-${CATEGORY_REPARTITION}-repartition`])
    for (let id = 1; id <= 12; id++) h.rated(rating(id, 1 + (id % 5), T + id * 1000, id % 2 === 0 ? 'Books' : 'Toys'))
    // The products' tasks are several, the category counts exact.
    const productPartitions = new Set(h.driver.readTopic('commerce.product-rated').map((r) => r.partition))
    expect(productPartitions.size).toBeGreaterThan(1)
    expect(h.driver.readTopic(`test-app-${CATEGORY_REPARTITION}-repartition`).length).toBeGreaterThan(0)
    expect(h.latest('categoryRatings').get('Books')).toMatchObject({ count: 6 })
    expect(h.latest('categoryRatings').get('Toys')).toMatchObject({ count: 6 })

    h.rated(rating(2, 5, T + 20_000, 'Toys')) // product 2 moves from Books to Toys with its earlier rating
    expect(h.latest('productRatings').get('2')).toMatchObject({ category: 'Toys', count: 2 })
    const books = h.latest('categoryRatings').get('Books')
    const toys = h.latest('categoryRatings').get('Toys')
    expect(books).toMatchObject({ count: 5 })
    expect(toys).toMatchObject({ count: 8 })
    const products = [...h.latest('productRatings').values()]
    for (const category of ['Books', 'Toys']) {
      const mine = products.filter((p) => p.category === category)
      expect(h.latest('categoryRatings').get(category)).toEqual({
        category,
        count: mine.reduce((a, p) => a + p.count, 0),
        sum: mine.reduce((a, p) => a + p.sum, 0),
        average: mine.reduce((a, p) => a + p.sum, 0) / mine.reduce((a, p) => a + p.count, 0),
        histogram: [0, 1, 2, 3, 4].map((i) => mine.reduce((a, p) => a + (p.histogram[i] ?? 0), 0))
      })
    }
  })

  it('deletes a category (tombstone) when its last product moves to another one', async () => {
    harness = await commerceHarness()
    const h = harness
    h.rated(rating(1, 3, T + 1000, 'Garden'))
    h.rated(rating(1, 4, T + 2000, 'Tools'))
    expect([...h.latest('categoryRatings').keys()]).toEqual(['Tools'])
    expect(
      h
        .records('categoryRatings')
        .filter((r) => r.key === 'Garden')
        .map((r) => r.value?.count ?? null)
    ).toEqual([1, null])
    expect(h.latest('categoryRatings').get('Tools')).toMatchObject({ count: 2, sum: 7, average: 3.5 })
  })
})

describe('commerce topology: typed input guard', () => {
  it('sends typed records that break the contract to the dead-letter topic with the reason, and aggregates the rest', async () => {
    harness = await commerceHarness()
    const h = harness
    h.sold(sale(1, T + 1000), '2') // key is not the product id
    h.sold({ ...sale(1, T + 2000), units: 0 })
    h.sold({ ...sale(1, T + 3000), amount_cents: -5 })
    h.sold({ ...sale(1, T + 3500), product_id: -1 }, '-1')
    h.sold(sale(1, T + 4000, 3, 300))
    h.rated(rating(1, 6, T + 5000))
    h.rated({ ...rating(1, 3, T + 6000), category: ' ' })
    h.rated(rating(1, 3, T + 7000))
    const letters = h.rawRecords('runnel-commerce-dlq')
    expect(letters.map((l) => [l.headers[DeadLetterHeaders.ERROR_CODE], l.headers[DEAD_LETTER_FIELD_HEADER]])).toEqual([
      [TypedInputErrorCodes.KEY_MISMATCH, 'key'],
      [TypedInputErrorCodes.INVALID_FIELD, 'units'],
      [TypedInputErrorCodes.NEGATIVE_AMOUNT, 'amount_cents'],
      [TypedInputErrorCodes.INVALID_FIELD, 'product_id'],
      [TypedInputErrorCodes.RATING_OUT_OF_RANGE, 'rating'],
      [TypedInputErrorCodes.INVALID_FIELD, 'category']
    ])
    expect(letters[0]).toMatchObject({ key: '2', timestampMs: T + 1000 })
    expect(JSON.parse(letters[0]?.value ?? 'null')).toEqual(sale(1, T + 1000))
    expect(letters[0]?.headers[DeadLetterHeaders.TOPIC]).toBe('commerce.product-sold')
    expect(letters[4]?.headers[DeadLetterHeaders.TOPIC]).toBe('commerce.product-rated')
    expect(h.latest('sales1h').get(`1|${T}`)).toMatchObject({ orders: 1, units: 3, amount_cents: 300 })
    expect(h.latest('productRatings').get('1')).toMatchObject({ count: 1, sum: 3 })
  })

  it('skips and counts tombstones on the typed topics', async () => {
    harness = await commerceHarness()
    harness.driver.pipeRaw({ topic: 'commerce.product-sold', key: Buffer.from('1'), value: null, timestampMs: T })
    harness.driver.pipeRaw({ topic: 'commerce.product-rated', key: Buffer.from('1'), value: null, timestampMs: T })
    expect(harness.driver.droppedRecords(DropReason.NULL_KEY_OR_VALUE)).toBe(2)
    expect(harness.records('sales1h')).toEqual([])
  })
})

describe('commerce topology: structure and settings', () => {
  it('stores the three aggregates under stable names with changelogs, and writes the contract topics', async () => {
    harness = await commerceHarness()
    const plan = harness.driver.plan
    const changelogs = plan.internalTopics
      .filter((t) => t.kind !== 'repartition')
      .map((t) => t.name)
      .sort()
    expect(changelogs).toEqual(
      Object.values(COMMERCE_STORES)
        .map((s) => `test-app-${s}-changelog`)
        .sort()
    )
    expect([...plan.sinkTopics].sort()).toEqual(
      [
        'analytics.dlq',
        'commerce.category-ratings',
        'commerce.product-rated',
        'commerce.product-ratings',
        'commerce.product-sold',
        'commerce.sales.1h',
        'runnel-commerce-dlq',
        `test-app-${CATEGORY_REPARTITION}-repartition`
      ].sort()
    )
  })

  it('rejects bad settings naming the option', () => {
    expect(() => buildCommerceTopology({ graceMs: -1, serdes: {} as never })).toThrow(/graceMs/)
    expect(() => buildCommerceTopology({ topics: { sales1h: 'bad topic' }, serdes: {} as never })).toThrow(/topics\.sales1h/)
    expect(() => buildCommerceTopology({ topics: { productRatings: 'commerce.sales.1h' }, serdes: {} as never })).toThrow(/distinct/)
    expect(() => buildCommerceTopology({ storeRetentionMs: HOUR, serdes: {} as never })).toThrow(/storeRetentionMs/)
    expect(() => buildCommerceTopology({ bridge: false, analytics: false, serdes: {} as never })).toThrow(/nothing to run/)
    expect(() => buildCommerceTopology({})).toThrow(/registry/)
  })
})
