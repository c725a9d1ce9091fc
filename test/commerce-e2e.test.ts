/**
 * The commerce application from the seed's JSON to its REST endpoints and the dashboard, on the real
 * broker and registry: the simulator writes the seed's JSON (with invalid events) to `analytics`, a
 * commerce worker bridges and aggregates it, and
 * - two query API instances, both at the same fixed moment, answer the seed's REST endpoints exactly
 *   as the reference implementation computes them at that moment (401, 403, 400, 404, 405 too);
 * - a third instance on the wall clock serves the dashboard, whose Commerce page (Chromium through
 *   playwright-core) shows the reference's top products and rating histograms, charts the sales of
 *   a chosen product as `commerce.sales` answers, and moves live when a sale is produced. Screenshots
 *   go to test-results/dashboard/.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Producer, stringSerializer } from '@platformatic/kafka'
import { pino } from 'pino'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  generateCommerceRecords,
  lastHourWindow,
  productKey,
  referenceCommerceOutputs,
  salesKey,
  startCommerceWorker,
  type CommerceGeneratorOptions,
  type CommerceReferenceResult,
  type RunningCommerceWorker
} from '../apps/commerce/index.ts'
import { buildDashboard } from '../dashboard/index.ts'
import { createQueryClient, startQueryApi, type RunningQueryApi } from '../query-api/index.ts'
import { ensureChromium } from './support/chromium.ts'
import { COMMERCE_PARTITIONS, CommerceTestEnv, groupConsumedEverything, produceSeedJson, type CommerceDeployment } from './support/commerce.ts'
import { kafkaBrokers, uniqueName } from './support/kafka.ts'
import { waitUntil } from './support/traffic.ts'

const MIN = 60_000
const READER = 'commerce-e2e-reader-1'
const ADMIN_ONLY = 'commerce-e2e-admin-1'
const EVENTS = 6_000
const ARTIFACTS = join(import.meta.dirname, '..', 'test-results', 'dashboard')
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

let env: CommerceTestEnv | undefined
let dir: string
let deployment: CommerceDeployment
let worker: RunningCommerceWorker | undefined
const apis: RunningQueryApi[] = []
let browser: Browser | undefined
let generator: CommerceGeneratorOptions
let expected: CommerceReferenceResult
let products: number[]
/** The fixed moment of the two REST instances: inside the simulated run, between two minutes. */
let fixedAt: number

function startApi(instanceId: string, now: (() => number) | undefined, staticDir: string | null): Promise<RunningQueryApi> {
  const e = env as CommerceTestEnv
  return startQueryApi(
    {
      port: 0,
      brokers: e.brokers,
      registryUrl: e.registryUrl,
      store: 'memory',
      stateDir: join(dir, 'query-api'),
      instanceId,
      staticDir,
      tokens: [
        { token: READER, scopes: ['read'] },
        { token: ADMIN_ONLY, scopes: ['admin'] }
      ],
      // Traffic topics that do not exist: this run has commerce outputs only.
      topics: { stats1m: uniqueName('none-stats1m'), stats5m: uniqueName('none-stats5m'), sessions: uniqueName('none-sessions') },
      commerceTopics: {
        sales1h: deployment.topics.sales1h,
        productRatings: deployment.topics.productRatings,
        categoryRatings: deployment.topics.categoryRatings
      },
      trafficApplicationId: uniqueName('none-traffic'),
      fetchMaxWaitMs: 100
    },
    { logger: pino({ level: 'warn' }), ...(now === undefined ? {} : { now }) }
  )
}

async function get(api: RunningQueryApi, path: string, token?: string, method = 'GET'): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${api.url}${path}`, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: kept as text, which the assertions name
  }
  return { status: res.status, body }
}

/** What the seed's endpoints must answer at `at`, from the reference. */
function expectedRest(productId: number, at: number): { sale: { total: number }; rating: { average_rating: number | null } } {
  const window = expected.sales1h.get(salesKey(productId, lastHourWindow(at).windowStartMs))
  const rating = expected.productRatings.get(productKey(productId))
  return { sale: { total: (window?.amount_cents ?? 0) / 100 }, rating: { average_rating: rating?.average ?? null } }
}

beforeAll(async () => {
  env = await CommerceTestEnv.start(kafkaBrokers(), 'commerce-e2e')
  dir = await mkdtemp(join(tmpdir(), 'runnel-commerce-e2e-'))
  await mkdir(ARTIFACTS, { recursive: true })
  deployment = env.deployment('commerce-e2e')
  // 6,000 events 250 ms apart on average: about 25 minutes of event time, ending 10-15 minutes ago,
  // so that the wall-clock "last hour" holds all of it and the current minute is free for the live sale.
  const startMs = Math.floor(Date.now() / MIN) * MIN - 40 * MIN
  generator = {
    seed: 4004,
    events: EVENTS,
    invalidFraction: 0.02,
    products: 24,
    categories: 5,
    recategorizeFraction: 0,
    outOfOrderFraction: 0.02,
    lateFraction: 0,
    startMs
  }
  const records = generateCommerceRecords(generator)
  expected = referenceCommerceOutputs(records, { partitions: COMMERCE_PARTITIONS })
  products = [...new Set(records.flatMap((r) => (r.kind === 'sold' || r.kind === 'rated' ? [r.value.product_id] : [])))].sort((a, b) => a - b)
  const saleTimes = records.flatMap((r) => (r.kind === 'sold' ? [r.value.timestamp] : []))
  // Half-way through the run, 30 s into a minute: its last hour holds about half of the sales.
  fixedAt = Math.floor((Math.min(...saleTimes) + Math.max(...saleTimes)) / 2 / MIN) * MIN + 30_000

  const staticDir = await buildDashboard({ outDir: join(dir, 'dist'), logLevel: 'error' })
  worker = await startCommerceWorker({
    brokers: env.brokers,
    registryUrl: env.registryUrl,
    applicationId: deployment.applicationId,
    instanceId: 'commerce-e2e-1',
    stateDir: join(dir, 'worker'),
    topics: deployment.topics,
    typedDeadLetterTopic: deployment.typedDeadLetterTopic,
    inputPartitions: COMMERCE_PARTITIONS,
    commitIntervalMs: 250,
    logger: pino({ level: 'warn' })
  })
  const produced = await produceSeedJson(env, deployment, generator)
  expect(produced.sold + produced.rated).toBe(EVENTS)
  await waitUntil('the worker to consume every commerce input', () => groupConsumedEverything((env as CommerceTestEnv).brokers, deployment), 150_000, 500)

  apis.push(await startApi('commerce-rest-a', () => fixedAt, null), await startApi('commerce-rest-b', () => fixedAt, null))
  apis.push(await startApi('commerce-dash', undefined, staticDir))
  for (const api of apis) await api.ready
  browser = await chromium.launch({ executablePath: ensureChromium(), args: CHROMIUM_ARGS })
}, 300_000)

afterAll(async () => {
  await browser?.close()
  for (const api of apis) await api.close()
  await worker?.close()
  await env?.close()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

describe("the seed's REST endpoints on two query API instances at a fixed moment", () => {
  it("answer every product's last-hour total and average rating exactly as the reference, the same on both instances", async () => {
    const [a, b] = apis as [RunningQueryApi, RunningQueryApi]
    expect(products.length).toBe(24)
    let withSales = 0
    for (const id of products) {
      const want = expectedRest(id, fixedAt)
      if (want.sale.total > 0) withSales++
      for (const api of [a, b]) {
        await expect(get(api, `/api/product/sale/${id}`, READER), `sale ${id}`).resolves.toEqual({ status: 200, body: want.sale })
        await expect(get(api, `/api/product/rating/${id}`, READER), `rating ${id}`).resolves.toEqual({ status: 200, body: want.rating })
      }
    }
    // The moment is inside the run: most products sold in its last hour, but not everything counts.
    expect(withSales).toBeGreaterThan(products.length / 2)
    const total = products.reduce((s, id) => s + expectedRest(id, fixedAt).sale.total, 0)
    const allSales = [...expected.sales1h.values()].reduce((m, w) => Math.max(m, w.amount_cents), 0)
    expect(total).toBeGreaterThan(allSales / 100)
  })

  it('refuse without a token (401), without the read scope (403), a malformed id (400), an unknown product (404) and another method (405), with a JSON error', async () => {
    const [a] = apis as [RunningQueryApi]
    const known = products[0] as number
    const cases: Array<[string, string | undefined, string, number]> = [
      [`/api/product/sale/${known}`, undefined, 'GET', 401],
      [`/api/product/rating/${known}`, 'not-a-token-0000', 'GET', 401],
      [`/api/product/sale/${known}`, ADMIN_ONLY, 'GET', 403],
      ['/api/product/sale/abc', READER, 'GET', 400],
      ['/api/product/rating/007', READER, 'GET', 400],
      ['/api/product/sale/-1', READER, 'GET', 400],
      ['/api/product/sale/999999', READER, 'GET', 404],
      ['/api/product/rating/999999', READER, 'GET', 404],
      ['/api/product/price/1', READER, 'GET', 404],
      [`/api/product/sale/${known}`, READER, 'POST', 405]
    ]
    for (const [path, token, method, status] of cases) {
      const res = await get(a, path, token, method)
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(status)
      const error = (res.body as { error?: { message?: unknown; status?: unknown } }).error
      expect(typeof error?.message, `${method} ${path}`).toBe('string')
      expect(error?.status).toBe(status)
    }
  })
})

describe("the dashboard's Commerce page in a real browser", () => {
  async function open(page: Page): Promise<void> {
    const api = apis[2] as RunningQueryApi
    await page.goto(`${api.url}/#/commerce?token=${READER}`)
    await page.waitForSelector('[data-testid="commerce-page"]')
  }

  it("shows the reference's top products and histograms, charts a chosen product as commerce.sales answers, and moves live on a new sale", async () => {
    const api = apis[2] as RunningQueryApi
    const client = createQueryClient({ url: api.url, token: READER })
    const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 900 } })
    await open(page)

    // Top products: the reference's windows of the last hour at the moment the page asked for.
    await page.waitForSelector('[data-testid="top-products"] tbody tr')
    const top = await client.commerce.top.query({ limit: 10 })
    const rows = async (): Promise<Array<{ id: number; amount: string }>> =>
      page
        .locator('[data-testid="top-products"] tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr) => ({ id: Number(tr.getAttribute('data-product-id')), amount: tr.querySelector('[data-testid="top-amount"]')?.textContent ?? '' }))
        )
    const lastHour = lastHourWindow(top.at)
    const reference = products
      .map((id) => ({ id, cents: expected.sales1h.get(salesKey(id, lastHour.windowStartMs))?.amount_cents ?? 0 }))
      .filter((p) => p.cents > 0)
      .sort((x, y) => y.cents - x.cents || x.id - y.id)
    expect(top.items.map((p) => p.amountCents)).toEqual(reference.slice(0, top.items.length).map((p) => p.cents))
    await waitUntil(
      'the top products table to equal commerce.top',
      async () => JSON.stringify((await rows()).map((r) => r.id)) === JSON.stringify(top.items.map((p) => p.productId)),
      20_000
    )

    // Ratings: every category's histogram as the reference has it.
    const categories = await page
      .locator('[data-testid="category-ratings"] tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => ({ category: tr.getAttribute('data-category'), counts: tr.querySelector('[data-testid="histogram"]')?.getAttribute('data-counts') }))
      )
    expect(categories.length).toBe(expected.categoryRatings.size)
    for (const c of categories) expect(c.counts, String(c.category)).toBe(expected.categoryRatings.get(c.category ?? '')?.histogram.join(','))
    const productRows = await page.locator('[data-testid="product-ratings"] tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        id: Number(tr.getAttribute('data-product-id')),
        counts: tr.querySelector('[data-testid="histogram"]')?.getAttribute('data-counts')
      }))
    )
    expect(productRows.length).toBeGreaterThan(0)
    for (const p of productRows) expect(p.counts, `product ${p.id}`).toBe(expected.productRatings.get(productKey(p.id))?.histogram.join(','))

    // A chosen product's series: what the chart plots is what commerce.sales answers.
    const chosen = (top.items[1] ?? top.items[0])?.productId as number
    await page.selectOption('[data-testid="product-select"]', String(chosen))
    await waitUntil(
      'the sales chart of the chosen product',
      async () => {
        const plotted = await page.evaluate(() =>
          window.__runnelCharts?.['commerce-sales']?.data.map((c) => Array.from(c as ArrayLike<number | null>, (v) => v ?? null))
        )
        if (plotted === undefined || (plotted[0]?.length ?? 0) === 0) return false
        const x = plotted[0] as number[]
        const sales = await client.commerce.sales.query({ productId: chosen, from: x[0] as number, to: (x[x.length - 1] as number) + 1 })
        const amounts = sales.points.map((p) => p.amountCents / 100)
        return JSON.stringify(plotted[1]) === JSON.stringify(amounts)
      },
      30_000
    )
    await page.screenshot({ path: join(ARTIFACTS, 'commerce-1280x900.png'), fullPage: true })

    // Live: a sale of the top product, timed in the last full minute so that it is in "the last hour" now.
    const leader = top.items[0]
    if (leader === undefined) throw new Error('no top product')
    if (Date.now() % MIN > MIN - 5_000) await new Promise((resolve) => setTimeout(resolve, 6_000))
    const at = Math.floor(Date.now() / MIN) * MIN - 1_000
    const updatesBefore = Number(await page.getAttribute('[data-testid="commerce-page"]', 'data-live-updates'))
    const amountOf = async (): Promise<number> =>
      (await client.commerce.top.query({ limit: 50 })).items.find((p) => p.productId === leader.productId)?.amountCents ?? 0
    const before = await amountOf()
    await produceSeedSale(leader.productId, leader.productName ?? 'Live product', 123_456, at)
    await waitUntil('the live sale in commerce.top', async () => (await amountOf()) >= before + 12_345_600, 30_000)
    const after = await client.commerce.top.query({ limit: 10 })
    await waitUntil(
      'the page to move live',
      async () => {
        const shown = await rows()
        return (
          Number(await page.getAttribute('[data-testid="commerce-page"]', 'data-live-updates')) > updatesBefore &&
          shown[0]?.id === leader.productId &&
          JSON.stringify(shown.map((r) => r.id)) === JSON.stringify(after.items.map((p) => p.productId))
        )
      },
      30_000
    )
    await page.screenshot({ path: join(ARTIFACTS, 'commerce-live-1280x900.png'), fullPage: true })
    await page.close()
  })

  it('is usable at phone width', async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
    await open(page)
    await page.waitForSelector('[data-testid="top-products"] tbody tr')
    await page.waitForSelector('[data-testid="category-ratings"] tbody tr')
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0)
    await page.screenshot({ path: join(ARTIFACTS, 'commerce-390x844.png'), fullPage: true })
    await page.close()
  })
})

/** A sale in the seed's JSON on the deployment's `analytics`, with record timestamp `at` (its event time). */
async function produceSeedSale(productId: number, name: string, amount: number, at: number): Promise<void> {
  const producer = new Producer<string, string, string, string>({
    clientId: 'commerce-e2e-producer',
    bootstrapBrokers: kafkaBrokers(),
    acks: -1,
    serializers: { key: stringSerializer, value: stringSerializer, headerKey: stringSerializer, headerValue: stringSerializer }
  })
  try {
    const value = JSON.stringify({ event_name: 'productSold', name_of_product: name, product_id: productId, no_of_units: 1, amount })
    await producer.send({ messages: [{ topic: deployment.topics.analytics, key: String(productId), value, timestamp: BigInt(at) }] })
  } finally {
    await producer.close()
  }
}
