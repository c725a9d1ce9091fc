import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CommerceMaterializer, type CommerceChange } from './commerce-materializer.ts'
import { lastHourSales, productSales, topProducts } from './commerce-queries.ts'
import { Materializer } from './materializer.ts'
import { RatingsIndex } from './ratings-index.ts'
import { RefusalCounter } from './refusals.ts'
import { SalesIndex } from './sales-index.ts'
import { SeriesIndex } from './series-index.ts'
import { SessionIndex } from './session-index.ts'
import { openQueryStore } from './store.ts'
import type { FollowedRecord } from './topic-follower.ts'
import { MemoryLog, serveRegistry, type RunningRegistry } from '../registry/index.ts'
import { avroSerde, SchemaRegistryClient, type CategoryRating, type ProductRating, type ProductSalesWindow, type TrafficWindowStats } from '../schemas/index.ts'
import type { KeyValueStore } from '../state/index.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const T0 = 1_763_726_400_000
const TOPICS = { sales1h: 'c.sales1h', productRatings: 'c.product-ratings', categoryRatings: 'c.category-ratings' }
const TRAFFIC = { stats1m: 'c.stats1m', stats5m: 'c.stats5m', sessions: 'c.sessions' }

let registry: RunningRegistry
let offset = 0

beforeAll(async () => {
  registry = await serveRegistry(new MemoryLog().open(), { port: 0 })
})

afterAll(async () => {
  await registry?.close()
})

interface Writers {
  sales: (v: ProductSalesWindow) => Buffer
  product: (v: ProductRating) => Buffer
  category: (v: CategoryRating) => Buffer
  stats: (v: TrafficWindowStats) => Buffer
}

async function writers(): Promise<Writers> {
  const client = new SchemaRegistryClient({ url: registry.url })
  const sales = avroSerde('runnel.commerce.ProductSalesWindow', { registry: client })
  const product = avroSerde('runnel.commerce.ProductRating', { registry: client })
  const category = avroSerde('runnel.commerce.CategoryRating', { registry: client })
  const stats = avroSerde('runnel.traffic.TrafficWindowStats', { registry: client })
  await sales.configure(TOPICS.sales1h, false)
  await product.configure(TOPICS.productRatings, false)
  await category.configure(TOPICS.categoryRatings, false)
  await stats.configure(TRAFFIC.stats1m, false)
  return {
    sales: (v) => sales.serialize(TOPICS.sales1h, v),
    product: (v) => product.serialize(TOPICS.productRatings, v),
    category: (v) => category.serialize(TOPICS.categoryRatings, v),
    stats: (v) => stats.serialize(TRAFFIC.stats1m, v)
  }
}

function setup(registryUrl = registry.url): {
  m: CommerceMaterializer
  sales: SalesIndex
  ratings: RatingsIndex
  refusals: RefusalCounter
  changes: CommerceChange[]
} {
  const sales = new SalesIndex()
  const ratings = new RatingsIndex()
  const refusals = new RefusalCounter()
  const m = new CommerceMaterializer({
    topics: TOPICS,
    registry: new SchemaRegistryClient({ url: registryUrl, requestTimeoutMs: 2000 }),
    sales,
    ratings,
    refusals
  })
  const changes: CommerceChange[] = []
  m.onCommerceChanges((c) => changes.push(...c))
  return { m, sales, ratings, refusals, changes }
}

function rec(topic: string, key: string | null, value: Buffer | null): FollowedRecord {
  return { topic, partition: 0, offset: offset++, key: key === null ? null : Buffer.from(key), value, timestampMs: 0 }
}

const salesWindow = (productId: number, start: number, over: Partial<ProductSalesWindow> = {}): ProductSalesWindow => ({
  product_id: productId,
  window_start: start,
  window_end: start + HOUR,
  orders: 2,
  units: 5,
  amount_cents: 4250,
  ...over
})

const productRating = (productId: number, over: Partial<ProductRating> = {}): ProductRating => ({
  product_id: productId,
  product_name: `Product ${productId}`,
  category: 'Software',
  count: 3,
  sum: 12,
  average: 4,
  histogram: [0, 0, 1, 1, 1],
  ...over
})

const categoryRating = (category: string, over: Partial<CategoryRating> = {}): CategoryRating => ({
  category,
  count: 2,
  sum: 9,
  average: 4.5,
  histogram: [0, 0, 0, 1, 1],
  ...over
})

describe('CommerceMaterializer', () => {
  it('applies sales windows and ratings, and the queries answer from them', async () => {
    const { m, sales, ratings, changes } = setup()
    const w = await writers()
    // 3 sold at 12:00:30 in cents 4250 (counted by the windows starting 11:01 .. 12:00), product 4 in one window only.
    const records: FollowedRecord[] = []
    for (let start = T0 - 59 * MIN; start <= T0; start += MIN) records.push(rec(TOPICS.sales1h, `3|${start}`, w.sales(salesWindow(3, start))))
    records.push(rec(TOPICS.sales1h, `4|${T0}`, w.sales(salesWindow(4, T0, { orders: 1, units: 1, amount_cents: 99 }))))
    records.push(rec(TOPICS.productRatings, '3', w.product(productRating(3, { product_name: 'Product A' }))))
    records.push(rec(TOPICS.categoryRatings, 'Software', w.category(categoryRating('Software'))))
    await m.apply(records)

    expect(sales.size).toBe(61)
    const data = { sales, ratings }
    expect(lastHourSales(data, 3, T0 + HOUR + 59_999)).toEqual({ windowStart: T0, windowEnd: T0 + HOUR, orders: 2, units: 5, amountCents: 4250 })
    expect(lastHourSales(data, 3, T0 + HOUR + MIN)).toMatchObject({ orders: 0 })
    expect(topProducts(data, T0 + HOUR, 5).items.map((i) => [i.productId, i.productName, i.amountCents])).toEqual([
      [3, 'Product A', 4250],
      [4, null, 99]
    ])
    const series = productSales(data, 3, T0 + HOUR, T0, T0 + 2 * HOUR)
    expect(series.points.filter((p) => p.orders > 0).map((p) => p.windowEnd)).toEqual(Array.from({ length: 60 }, (_, i) => T0 + i * MIN + MIN))
    expect(ratings.product(3)).toEqual({
      productId: 3,
      productName: 'Product A',
      category: 'Software',
      count: 3,
      sum: 12,
      average: 4,
      histogram: [0, 0, 1, 1, 1]
    })
    expect(ratings.category('Software')).toEqual({ category: 'Software', count: 2, sum: 9, average: 4.5, histogram: [0, 0, 0, 1, 1] })
    expect(changes).toHaveLength(63)
    expect(changes.at(-1)).toEqual({ kind: 'categoryRating', category: 'Software', rating: ratings.category('Software') })
    expect(m.counts).toEqual({
      salesWindowsWritten: 61,
      salesWindowsDeleted: 0,
      productRatingsWritten: 1,
      productRatingsDeleted: 0,
      categoryRatingsWritten: 1,
      categoryRatingsDeleted: 0
    })
  })

  it('keeps the latest value per key and deletes on tombstones, announcing the deletions', async () => {
    const { m, sales, ratings, changes } = setup()
    const w = await writers()
    await m.apply([
      rec(TOPICS.sales1h, `7|${T0}`, w.sales(salesWindow(7, T0, { orders: 1 }))),
      rec(TOPICS.sales1h, `7|${T0}`, w.sales(salesWindow(7, T0, { orders: 3 }))),
      rec(TOPICS.productRatings, '7', w.product(productRating(7))),
      rec(TOPICS.categoryRatings, 'Books', w.category(categoryRating('Books')))
    ])
    expect(sales.get(7, T0)?.orders).toBe(3)
    await m.apply([rec(TOPICS.sales1h, `7|${T0}`, null), rec(TOPICS.productRatings, '7', null), rec(TOPICS.categoryRatings, 'Books', null)])
    expect(sales.size).toBe(0)
    expect(ratings.product(7)).toBeUndefined()
    expect(ratings.category('Books')).toBeUndefined()
    // Deleted, but seen: still a known product.
    expect(sales.hasSeen(7) && ratings.hasSeen(7)).toBe(true)
    expect(changes.slice(-3)).toEqual([
      { kind: 'sales', productId: 7, windowStart: T0, sales: null },
      { kind: 'productRating', productId: 7, rating: null },
      { kind: 'categoryRating', category: 'Books', rating: null }
    ])
    expect(m.counts).toMatchObject({ salesWindowsDeleted: 1, productRatingsDeleted: 1, categoryRatingsDeleted: 1 })
  })

  it('refuses each kind of contract violation with a reason, and applies the good records around them', async () => {
    const { m, sales, ratings, refusals } = setup()
    const w = await writers()
    const cases: Array<[FollowedRecord, RegExp]> = [
      [rec(TOPICS.sales1h, null, w.sales(salesWindow(1, T0))), /key null is not "product_id\|window_start_ms"/],
      [rec(TOPICS.sales1h, `1-${T0}`, w.sales(salesWindow(1, T0))), /is not "product_id\|window_start_ms"/],
      [rec(TOPICS.sales1h, `01|${T0}`, w.sales(salesWindow(1, T0))), /is not "product_id\|window_start_ms"/],
      [rec(TOPICS.sales1h, `1|${T0 + 1}`, w.sales(salesWindow(1, T0 + 1))), /not on a minute boundary/],
      [rec(TOPICS.sales1h, `2|${T0}`, w.sales(salesWindow(1, T0))), /does not match its key/],
      [rec(TOPICS.sales1h, `1|${T0}`, w.sales(salesWindow(1, T0, { window_end: T0 + 5 * MIN }))), /is not 1 hour long/],
      [rec(TOPICS.sales1h, `1|${T0}`, w.sales(salesWindow(1, T0, { amount_cents: -5 }))), /amount_cents -5 is not a non-negative integer/],
      [rec(TOPICS.sales1h, `1|${T0}`, Buffer.from('{"json":true}')), /not a readable Avro record/],
      [rec(TOPICS.productRatings, 'one', w.product(productRating(1))), /key "one" is not a product id/],
      [rec(TOPICS.productRatings, '2', w.product(productRating(1))), /does not match its key/],
      [rec(TOPICS.productRatings, '1', w.product(productRating(1, { histogram: [1, 1, 1, 1] }))), /histogram has 4 counts, not 5/],
      [rec(TOPICS.productRatings, '1', w.product(productRating(1, { count: 4 }))), /count 4 is not the histogram's total 3/],
      [rec(TOPICS.productRatings, '1', w.product(productRating(1, { sum: 11 }))), /sum 11 is not the histogram's stars 12/],
      [rec(TOPICS.productRatings, '1', w.product(productRating(1, { average: 3.9 }))), /average 3.9 is not sum \/ count/],
      [
        rec(TOPICS.productRatings, '1', w.product(productRating(1, { histogram: [0, 0, -1, 2, 2], count: 3, sum: 15 }))),
        /histogram\[2\] -1 is not a non-negative integer/
      ],
      [rec(TOPICS.productRatings, '1', w.product(productRating(1, { category: ' ' }))), /category is blank/],
      [rec(TOPICS.categoryRatings, '', w.category(categoryRating('Software'))), /key "" is not a category/],
      [rec(TOPICS.categoryRatings, 'Books', w.category(categoryRating('Software'))), /does not match its key/],
      [
        rec(TOPICS.categoryRatings, 'Software', w.category(categoryRating('Software', { count: 0, sum: 0, average: 0, histogram: [0, 0, 0, 0, 0] }))),
        /at least 1/
      ]
    ]
    for (const [record, reason] of cases) {
      const before = refusals.refused
      await m.apply([record, rec(TOPICS.sales1h, `9|${T0}`, w.sales(salesWindow(9, T0)))])
      expect(refusals.refused, String(reason)).toBe(before + 1)
      expect(refusals.lastRefusal).toMatch(reason)
    }
    expect(sales.get(1, T0)).toBeUndefined()
    expect(ratings.product(1)).toBeUndefined()
    expect(ratings.category('Software')).toBeUndefined()
    expect(sales.get(9, T0)?.amountCents).toBe(4250)
  })

  it('through the traffic Materializer: one batch of both kinds, one refusal count, and nothing applied when the registry is down', async () => {
    const w = await writers()
    const dir = await mkdtemp(join(tmpdir(), 'query-api-commerce-'))
    const stores: Array<KeyValueStore<Buffer, Buffer>> = []
    try {
      const build = async (registryUrl: string): Promise<{ materializer: Materializer; series: SeriesIndex; sales: SalesIndex }> => {
        const store = await openQueryStore('memory', dir)
        stores.push(store)
        const client = new SchemaRegistryClient({ url: registryUrl, requestTimeoutMs: 2000 })
        const sales = new SalesIndex()
        const refusals = new RefusalCounter()
        const commerce = new CommerceMaterializer({ topics: TOPICS, registry: client, sales, ratings: new RatingsIndex(), refusals })
        const series = new SeriesIndex()
        const materializer = new Materializer({ topics: TRAFFIC, registry: client, series, sessions: new SessionIndex(store), refusals, commerce })
        return { materializer, series, sales }
      }
      const stats: TrafficWindowStats = {
        sensor_id: 's-1',
        traveler_type: 'CAR',
        window_start: T0,
        window_end: T0 + MIN,
        observations: 4,
        travelers: 2,
        speed_samples: 2,
        speed_min: 3,
        speed_max: 5,
        speed_mean: 4
      }
      const batch = [
        rec(TRAFFIC.stats1m, `s-1|CAR|${T0}`, w.stats(stats)),
        rec(TOPICS.sales1h, `5|${T0}`, w.sales(salesWindow(5, T0))),
        rec(TOPICS.sales1h, 'bad key', w.sales(salesWindow(5, T0))),
        rec(TRAFFIC.stats1m, 'bad key', w.stats(stats))
      ]
      const down = await build('http://127.0.0.1:1')
      await expect(down.materializer.apply(batch)).rejects.toThrow(/registry/)
      expect(down.series.size + down.sales.size).toBe(0)
      expect(down.materializer.counts.refused).toBe(0)

      const up = await build(registry.url)
      await up.materializer.apply(batch)
      expect(up.series.get('1m', 's-1', 'CAR', T0)?.observations).toBe(4)
      expect(up.sales.get(5, T0)?.amountCents).toBe(4250)
      expect(up.materializer.counts.refused).toBe(2)
    } finally {
      for (const s of stores) await s.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
