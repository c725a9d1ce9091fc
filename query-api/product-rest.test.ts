import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { QueryApiError } from './errors.ts'
import { matchProductRoute, parseProductIdParam } from './product-rest.ts'
import { startTestQueryServer, TEST_TOKENS, type TestQueryServer } from './test-support.ts'

const MIN = 60_000
const HOUR = 60 * MIN
/** 2025-11-21 12:34:56.789 UTC: the last hour is [11:34, 12:34). */
const NOW = Date.UTC(2025, 10, 21, 12, 34, 56, 789)
const LAST_HOUR_START = Date.UTC(2025, 10, 21, 11, 34)

let t: TestQueryServer

beforeAll(async () => {
  t = await startTestQueryServer({ nowMs: NOW })
  const { sales, ratings } = t.data
  // Product 3: 3000.00 in the last hour, and other amounts in the windows just before and after it.
  sales.put(3, LAST_HOUR_START, { orders: 2, units: 30, amountCents: 300_000 })
  sales.put(3, LAST_HOUR_START - MIN, { orders: 1, units: 10, amountCents: 100_000 })
  sales.put(3, LAST_HOUR_START + MIN, { orders: 3, units: 40, amountCents: 400_000 })
  // Product 5: cents that are not whole currency units.
  sales.put(5, LAST_HOUR_START, { orders: 1, units: 1, amountCents: 123_456 })
  // Product 8: sold two hours ago only; rated.
  sales.put(8, LAST_HOUR_START - 2 * HOUR, { orders: 1, units: 1, amountCents: 999 })
  ratings.putProduct(8, { productId: 8, productName: 'Product X', category: 'Software', count: 2, sum: 9, average: 4.5, histogram: [0, 0, 0, 1, 1] })
  // Product 1: rated only.
  ratings.putProduct(1, { productId: 1, productName: 'Product A', category: 'Software', count: 3, sum: 10, average: 10 / 3, histogram: [0, 1, 0, 1, 1] })
})

afterAll(async () => {
  expect(t?.internalErrors).toEqual([])
  await t?.close()
})

interface Answer {
  status: number
  type: string | null
  headers: Headers
  body: unknown
}

async function get(path: string, token: string | null = TEST_TOKENS.read, method = 'GET'): Promise<Answer> {
  const res = await fetch(`${t.server.url}${path}`, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } })
  const text = await res.text()
  return { status: res.status, type: res.headers.get('content-type'), headers: res.headers, body: text === '' ? undefined : JSON.parse(text) }
}

/** A request with the path exactly as written (fetch would normalise `..` and encodings). */
function raw(path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${t.server.url}${path}`, { headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('matchProductRoute', () => {
  it('matches the two endpoints and decodes the id segment', () => {
    expect(matchProductRoute('/api/product/sale/3')).toEqual({ endpoint: 'sale', id: '3' })
    expect(matchProductRoute('/api/product/rating/12')).toEqual({ endpoint: 'rating', id: '12' })
    expect(matchProductRoute('/api/product/sale/%33')).toEqual({ endpoint: 'sale', id: '3' })
    expect(matchProductRoute('/api/product/sale/')).toEqual({ endpoint: 'sale', id: '' })
    expect(matchProductRoute('/api/product/sale/%ZZ')).toEqual({ endpoint: 'sale', id: '%ZZ' })
  })

  it('matches nothing else', () => {
    for (const path of [
      '/api/product/sale',
      '/api/product/sales/3',
      '/api/product/sale/3/',
      '/api/product/sale/3/x',
      '/api/products/sale/3',
      '/product/sale/3',
      '/api/product/SALE/3'
    ]) {
      expect(matchProductRoute(path), path).toBeUndefined()
    }
  })
})

describe('parseProductIdParam', () => {
  it('takes canonical non-negative decimal integers', () => {
    expect(parseProductIdParam('0')).toBe(0)
    expect(parseProductIdParam('3')).toBe(3)
    expect(parseProductIdParam('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER)
  })

  it('refuses anything else with a BAD_REQUEST error', () => {
    for (const id of ['', 'abc', '-1', '+1', '03', '1.5', '1e3', ' 1', '0x10', '9007199254740992', '99999999999999999999']) {
      expect(() => parseProductIdParam(id), id).toThrow(QueryApiError)
      expect(() => parseProductIdParam(id), id).toThrow(/is not a product id/)
    }
  })
})

describe('GET /api/product/sale/{id}', () => {
  it('answers the amount of the last hour in currency units, exactly {"total": n}', async () => {
    expect(await get('/api/product/sale/3')).toMatchObject({ status: 200, type: 'application/json', body: { total: 3000 } })
    const res = await fetch(`${t.server.url}/api/product/sale/5`, { headers: { authorization: `Bearer ${TEST_TOKENS.read}` } })
    expect(await res.text()).toBe('{"total":1234.56}')
  })

  it('answers {"total": 0} for a known product without sales in the last hour (rated, or sold earlier)', async () => {
    expect(await get('/api/product/sale/8')).toMatchObject({ status: 200, body: { total: 0 } })
    expect(await get('/api/product/sale/1')).toMatchObject({ status: 200, body: { total: 0 } })
  })

  it('follows the clock: one minute later the last hour is the next window', async () => {
    t.clock.now = NOW + MIN
    try {
      expect(await get('/api/product/sale/3')).toMatchObject({ status: 200, body: { total: 4000 } })
      expect(await get('/api/product/sale/5')).toMatchObject({ status: 200, body: { total: 0 } })
    } finally {
      t.clock.now = NOW
    }
  })

  it('answers 404 with a JSON error for a product never seen', async () => {
    const answer = await get('/api/product/sale/42')
    expect(answer).toMatchObject({ status: 404, type: 'application/json', body: { error: { code: 'QUERY_UNKNOWN_PRODUCT', status: 404 } } })
    expect((answer.body as { error: { message: string } }).error.message).toMatch(/unknown product 42/)
  })
})

describe('GET /api/product/rating/{id}', () => {
  it('answers the all-time average, exactly {"average_rating": n}', async () => {
    expect(await get('/api/product/rating/8')).toMatchObject({ status: 200, body: { average_rating: 4.5 } })
    expect((await get('/api/product/rating/1')).body).toEqual({ average_rating: 10 / 3 })
  })

  it('answers {"average_rating": null} for a known product without ratings, 404 for an unknown one', async () => {
    expect((await get('/api/product/rating/3')).body).toEqual({ average_rating: null })
    expect(await get('/api/product/rating/77')).toMatchObject({ status: 404, body: { error: { code: 'QUERY_UNKNOWN_PRODUCT' } } })
  })
})

describe('REST refusals', () => {
  it('answers 401 without a token, with an unknown one and with a header that is not Bearer, saying how to authenticate', async () => {
    for (const path of ['/api/product/sale/3', '/api/product/rating/8']) {
      const none = await get(path, null)
      expect(none).toMatchObject({ status: 401, type: 'application/json', body: { error: { code: 'QUERY_UNAUTHENTICATED', status: 401 } } })
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /)
      expect((await get(path, 'nobody-knows-me')).status).toBe(401)
      expect((await raw(path, { authorization: `Token ${TEST_TOKENS.read}` })).status).toBe(401)
      expect((await raw(path, { authorization: TEST_TOKENS.read })).status).toBe(401)
    }
  })

  it('answers 403 for a token without the read scope, 200 with it', async () => {
    expect(await get('/api/product/sale/3', TEST_TOKENS.admin)).toMatchObject({ status: 403, body: { error: { code: 'QUERY_FORBIDDEN' } } })
    expect(await get('/api/product/rating/8', TEST_TOKENS.admin)).toMatchObject({ status: 403 })
    expect((await get('/api/product/sale/3', TEST_TOKENS.both)).status).toBe(200)
  })

  it('answers 400 with a JSON error for a malformed id, after checking the token', async () => {
    for (const id of ['abc', '-1', '03', '1.5', '99999999999999999999', '%ZZ', '', '%20']) {
      const answer = await get(`/api/product/sale/${id}`)
      expect(answer, id).toMatchObject({ status: 400, type: 'application/json', body: { error: { code: 'QUERY_BAD_REQUEST', status: 400 } } })
      expect((await get(`/api/product/rating/${id}`)).status, id).toBe(400)
    }
    expect((await get('/api/product/sale/abc', null)).status).toBe(401)
  })

  it('answers 404 with JSON (never the dashboard) for other paths under /api/, and 405 for other methods', async () => {
    for (const path of ['/api', '/api/', '/api/product/sale', '/api/product/sale/3/extra', '/api/product/price/3']) {
      expect(await get(path), path).toMatchObject({ status: 404, type: 'application/json', body: { error: { code: 'QUERY_NO_SUCH_ENDPOINT' } } })
    }
    const post = await get('/api/product/sale/3', TEST_TOKENS.read, 'POST')
    expect(post).toMatchObject({ status: 405, body: { error: { status: 405 } } })
    expect(post.headers.get('allow')).toBe('GET')
    expect((await get('/api/product/sale/3', TEST_TOKENS.read, 'DELETE')).status).toBe(405)
  })

  it('answers 503 while the instance is catching up, rather than a total that is not complete yet', async () => {
    t.readiness.ready = false
    try {
      const answer = await get('/api/product/sale/3')
      expect(answer).toMatchObject({ status: 503, body: { error: { code: 'QUERY_NOT_READY' } } })
      expect(answer.headers.get('retry-after')).toBe('5')
      expect((await get('/api/product/rating/42')).status).toBe(503)
      expect((await get('/api/product/sale/3', null)).status).toBe(401)
    } finally {
      t.readiness.ready = true
    }
  })
})
