import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createQueryClient } from './client.ts'
import type { CommerceLiveEvent } from './commerce-router.ts'
import type { ProductRatingView } from './ratings-index.ts'
import { startTestQueryServer, TEST_TOKENS, type TestQueryServer } from './test-support.ts'

const MIN = 60_000
const HOUR = 60 * MIN
/** 2025-11-21 12:34:56.789 UTC: the last hour is [11:34, 12:34). */
const NOW = Date.UTC(2025, 10, 21, 12, 34, 56, 789)
const LAST_HOUR_START = Date.UTC(2025, 10, 21, 11, 34)
const LAST_HOUR_END = LAST_HOUR_START + HOUR

let t: TestQueryServer

const rating = (
  productId: number,
  category: string,
  histogram: [number, number, number, number, number],
  productName = `Product ${productId}`
): ProductRatingView => {
  const count = histogram.reduce((s, n) => s + n, 0)
  const sum = histogram.reduce((s, n, i) => s + n * (i + 1), 0)
  return { productId, productName, category, count, sum, average: sum / count, histogram }
}

beforeAll(async () => {
  t = await startTestQueryServer({ nowMs: NOW, maxRangeMs: 24 * HOUR })
  const { sales, ratings } = t.data
  // Product 1 sells one order every 10 minutes from 10:00 to 12:30, 1 unit at 5.00 each: each window holds the sales in it.
  const saleTimes = Array.from({ length: 16 }, (_, i) => Date.UTC(2025, 10, 21, 10, 0) + i * 10 * MIN)
  for (let start = Date.UTC(2025, 10, 21, 9, 1); start <= Date.UTC(2025, 10, 21, 12, 30); start += MIN) {
    const n = saleTimes.filter((s) => s >= start && s < start + HOUR).length
    if (n > 0) sales.put(1, start, { orders: n, units: n, amountCents: 500 * n })
  }
  sales.put(2, LAST_HOUR_START, { orders: 1, units: 4, amountCents: 8_000 })
  sales.put(3, LAST_HOUR_START, { orders: 2, units: 2, amountCents: 1_500 })
  ratings.putProduct(1, rating(1, 'Software', [0, 0, 1, 2, 3], 'Product A'))
  ratings.putProduct(2, rating(2, 'Books', [1, 0, 0, 0, 1], 'Novel'))
  ratings.putProduct(4, rating(4, 'Software', [0, 0, 0, 0, 1]))
  ratings.putCategory('Software', { category: 'Software', count: 7, sum: 31, average: 31 / 7, histogram: [0, 0, 1, 2, 4] })
  ratings.putCategory('Books', { category: 'Books', count: 2, sum: 6, average: 3, histogram: [1, 0, 0, 0, 1] })
})

afterAll(async () => {
  expect(t?.internalErrors).toEqual([])
  await t?.close()
})

function client(token: string = TEST_TOKENS.read) {
  return createQueryClient({ url: t.server.url, token })
}

async function call(
  path: string,
  input: unknown,
  token: string | null = TEST_TOKENS.read
): Promise<{ status: number; body: { error?: { message: string; data: { code: string; errorCode: string | null } } } }> {
  const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`
  const res = await fetch(`${t.server.url}/trpc/${path}${query}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } })
  return { status: res.status, body: (await res.json()) as never }
}

describe('commerce procedures', () => {
  it('commerce.sales: the last hour and one point per minute, each the window ending at that minute', async () => {
    const result = await client().commerce.sales.query({ productId: 1 })
    // Sales at 11:40, 11:50, 12:00, 12:10, 12:20, 12:30 are in [11:34, 12:34).
    expect(result.lastHour).toEqual({ windowStart: LAST_HOUR_START, windowEnd: LAST_HOUR_END, orders: 6, units: 6, amountCents: 3000 })
    expect(result).toMatchObject({
      productId: 1,
      productName: 'Product A',
      category: 'Software',
      at: NOW,
      stepMs: MIN,
      to: LAST_HOUR_END + MIN,
      from: LAST_HOUR_END + MIN - 6 * HOUR
    })
    expect(result.points).toHaveLength(360)
    expect(result.points.at(-1)).toEqual(result.lastHour)
    for (const p of result.points) {
      const inWindow = Array.from({ length: 16 }, (_, i) => Date.UTC(2025, 10, 21, 10, 0) + i * 10 * MIN).filter(
        (s) => s >= p.windowEnd - HOUR && s < p.windowEnd
      ).length
      expect(p, String(new Date(p.windowEnd).toISOString())).toEqual({
        windowStart: p.windowEnd - HOUR,
        windowEnd: p.windowEnd,
        orders: inWindow,
        units: inWindow,
        amountCents: 500 * inWindow
      })
    }
  })

  it('commerce.sales: takes another moment and range', async () => {
    const at = Date.UTC(2025, 10, 21, 10, 30, 5)
    const result = await client().commerce.sales.query({ productId: 1, at, from: at - 10 * MIN, to: at })
    expect(result.lastHour).toMatchObject({ windowEnd: Date.UTC(2025, 10, 21, 10, 30), orders: 3 })
    expect(result.points.map((p) => p.windowEnd)).toEqual(Array.from({ length: 10 }, (_, i) => Date.UTC(2025, 10, 21, 10, 21) + i * MIN))
  })

  it('commerce.top: products of the last hour by amount, with names from their ratings', async () => {
    const top = await client().commerce.top.query({ limit: 2 })
    expect(top).toMatchObject({
      at: NOW,
      windowStart: LAST_HOUR_START,
      windowEnd: LAST_HOUR_END,
      productsWithSales: 3,
      totals: { orders: 9, units: 12, amountCents: 12_500 }
    })
    expect(top.items).toEqual([
      { rank: 1, productId: 2, productName: 'Novel', category: 'Books', orders: 1, units: 4, amountCents: 8_000 },
      { rank: 2, productId: 1, productName: 'Product A', category: 'Software', orders: 6, units: 6, amountCents: 3_000 }
    ])
  })

  it('commerce.products: every product seen, by id', async () => {
    const result = await client().commerce.products.query({})
    expect(result.products.map((p) => [p.productId, p.lastHour.amountCents, p.ratingCount])).toEqual([
      [1, 3000, 6],
      [2, 8000, 2],
      [3, 1500, 0],
      [4, 0, 1]
    ])
  })

  it('commerce.productRatings and commerce.categoryRatings: with their 1-5 histograms', async () => {
    const all = await client().commerce.productRatings.query({})
    expect(all.items.map((p) => p.productId)).toEqual([1, 2, 4])
    expect(all.items[0]).toEqual({
      productId: 1,
      productName: 'Product A',
      category: 'Software',
      count: 6,
      sum: 26,
      average: 26 / 6,
      histogram: [0, 0, 1, 2, 3]
    })
    const software = await client().commerce.productRatings.query({ category: 'Software', limit: 1 })
    expect(software).toMatchObject({ total: 2, items: [{ productId: 1 }] })
    const categories = await client().commerce.categoryRatings.query()
    expect(categories.items).toEqual([
      { category: 'Software', count: 7, sum: 31, average: 31 / 7, histogram: [0, 0, 1, 2, 4] },
      { category: 'Books', count: 2, sum: 6, average: 3, histogram: [1, 0, 0, 0, 1] }
    ])
  })
})

describe('commerce procedures: refusals', () => {
  const cases: Array<[string, string, unknown, number, RegExp]> = [
    ['an unknown product', 'commerce.sales', { productId: 99 }, 404, /unknown product 99/],
    ['a product id that is not an integer', 'commerce.sales', { productId: 1.5 }, 400, /productId: must be an integer/],
    ['a negative product id', 'commerce.sales', { productId: -1 }, 400, /productId: must not be negative/],
    ['a product id as a string', 'commerce.sales', { productId: '1' }, 400, /productId: must be a product id/],
    ['an unknown field', 'commerce.sales', { productId: 1, window: '1h' }, 400, /Unrecognized key/],
    ['from after to', 'commerce.sales', { productId: 1, from: NOW, to: NOW - MIN }, 400, /from \(\d+\) must not be after to/],
    ['from after the default to', 'commerce.sales', { productId: 1, from: NOW + HOUR }, 400, /must not be after to/],
    ['a range past the maximum', 'commerce.sales', { productId: 1, from: NOW - 25 * HOUR, to: NOW }, 400, /at most 86400000 ms/],
    ['a top list of 0', 'commerce.top', { limit: 0 }, 400, /limit: must be at least 1/],
    ['a top list past 100', 'commerce.top', { limit: 101 }, 400, /limit: must be at most 100/],
    ['an empty category', 'commerce.productRatings', { category: '' }, 400, /category: must not be empty/],
    ['an unknown field of products', 'commerce.products', { all: true }, 400, /Unrecognized key/],
    ['too many live products', 'commerce.live', { products: Array.from({ length: 51 }, (_, i) => i) }, 400, /products: may name at most 50/]
  ]
  for (const [what, path, input, status, message] of cases) {
    it(`answers ${status} with a clear message for ${what}`, async () => {
      const { status: got, body } = await call(path, input)
      expect(got).toBe(status)
      expect(body.error?.message).toMatch(message)
    })
  }

  it('needs a token with the read scope, checked before the input', async () => {
    expect((await call('commerce.top', {}, null)).status).toBe(401)
    expect((await call('commerce.sales', { productId: 'x' }, null)).status).toBe(401)
    expect((await call('commerce.top', {}, TEST_TOKENS.admin)).status).toBe(403)
    expect((await call('commerce.live', {}, TEST_TOKENS.admin)).status).toBe(403)
    expect((await call('commerce.categoryRatings', undefined, TEST_TOKENS.both)).status).toBe(200)
  })
})

/** Subscribes to commerce.live and collects events until `until` returns true for the list. */
function collect(
  input: { products?: number[]; topLimit?: number },
  act: () => void,
  until: (events: CommerceLiveEvent[]) => boolean
): Promise<CommerceLiveEvent[]> {
  return new Promise((resolve, reject) => {
    const events: CommerceLiveEvent[] = []
    const timer = setTimeout(() => {
      sub.unsubscribe()
      reject(new Error(`timed out; events so far: ${JSON.stringify(events)}`))
    }, 10_000)
    const sub = client().commerce.live.subscribe(input, {
      onData: (event) => {
        events.push(event)
        if (event.kind === 'subscribed') act()
        if (until(events)) {
          clearTimeout(timer)
          sub.unsubscribe()
          resolve(events)
        }
      },
      onError: (err) => {
        clearTimeout(timer)
        reject(err)
      }
    })
  })
}

describe('commerce.live', () => {
  it('pushes sales windows of the subscribed products, the top list when the last hour changes, and rating changes', async () => {
    const events = await collect(
      { products: [3], topLimit: 2 },
      () => {
        const { sales, ratings } = t.data
        sales.put(3, LAST_HOUR_START + 5 * MIN, { orders: 1, units: 1, amountCents: 700 })
        sales.put(3, LAST_HOUR_START, { orders: 3, units: 3, amountCents: 9_500 })
        sales.put(1, LAST_HOUR_START - MIN, { orders: 1, units: 1, amountCents: 1 })
        ratings.putProduct(3, rating(3, 'Books', [0, 0, 0, 0, 2], 'Poems'))
        ratings.putCategory('Books', { category: 'Books', count: 4, sum: 16, average: 4, histogram: [1, 0, 0, 0, 3] })
        t.announce([
          { kind: 'sales', productId: 3, windowStart: LAST_HOUR_START + 5 * MIN, sales: { orders: 1, units: 1, amountCents: 700 } },
          { kind: 'sales', productId: 3, windowStart: LAST_HOUR_START, sales: { orders: 3, units: 3, amountCents: 9_500 } },
          // Not a subscribed product, not the last hour: no event.
          { kind: 'sales', productId: 1, windowStart: LAST_HOUR_START - MIN, sales: { orders: 1, units: 1, amountCents: 1 } },
          { kind: 'productRating', productId: 3, rating: ratings.product(3) ?? null },
          { kind: 'categoryRating', category: 'Books', rating: ratings.category('Books') ?? null }
        ])
      },
      (events) => events.some((e) => e.kind === 'categoryRating')
    )
    expect(events[0]).toEqual({ kind: 'subscribed', instanceId: 'unit', ready: true })
    const rest = events.slice(1)
    expect(rest.filter((e) => e.kind === 'sales')).toEqual([
      {
        kind: 'sales',
        productId: 3,
        point: { windowStart: LAST_HOUR_START + 5 * MIN, windowEnd: LAST_HOUR_END + 5 * MIN, orders: 1, units: 1, amountCents: 700 }
      },
      { kind: 'sales', productId: 3, point: { windowStart: LAST_HOUR_START, windowEnd: LAST_HOUR_END, orders: 3, units: 3, amountCents: 9_500 } }
    ])
    const tops = rest.filter((e) => e.kind === 'top')
    expect(tops).toHaveLength(1)
    expect(tops[0]?.kind === 'top' && tops[0].top.items.map((i) => [i.productId, i.amountCents, i.productName])).toEqual([
      [3, 9_500, 'Poems'],
      [2, 8_000, 'Novel']
    ])
    expect(rest.filter((e) => e.kind === 'productRating')).toEqual([
      { kind: 'productRating', productId: 3, rating: rating(3, 'Books', [0, 0, 0, 0, 2], 'Poems') }
    ])
    expect(rest.filter((e) => e.kind === 'categoryRating')).toEqual([
      { kind: 'categoryRating', category: 'Books', rating: { category: 'Books', count: 4, sum: 16, average: 4, histogram: [1, 0, 0, 0, 3] } }
    ])
    expect(rest).toHaveLength(5)
  })

  it('pushes the top list of the new last hour when the minute turns, without any record', async () => {
    t.clock.now = LAST_HOUR_END + MIN - 300
    try {
      const events = await collect(
        {},
        () => {
          t.clock.now = LAST_HOUR_END + MIN + 1
        },
        (events) => events.some((e) => e.kind === 'top')
      )
      const top = events.find((e) => e.kind === 'top')
      expect(top?.kind === 'top' && top.top).toMatchObject({ windowStart: LAST_HOUR_START + MIN, windowEnd: LAST_HOUR_END + MIN })
    } finally {
      t.clock.now = NOW
    }
  })

  it('tells a subscriber that falls behind to resync', async () => {
    const slow = await startTestQueryServer({ nowMs: NOW, liveMaxPending: 3 })
    try {
      const events = await new Promise<CommerceLiveEvent[]>((resolve, reject) => {
        const seen: CommerceLiveEvent[] = []
        const sub = createQueryClient({ url: slow.server.url, token: TEST_TOKENS.read }).commerce.live.subscribe(
          {},
          {
            onData: (event) => {
              seen.push(event)
              if (event.kind === 'subscribed') {
                slow.announce(Array.from({ length: 5 }, (_, i) => ({ kind: 'productRating' as const, productId: i, rating: null })))
              }
              if (event.kind === 'resync') {
                sub.unsubscribe()
                resolve(seen)
              }
            },
            onError: reject
          }
        )
      })
      expect(events.map((e) => e.kind)).toEqual(['subscribed', 'resync'])
    } finally {
      await slow.close()
    }
  })
})
