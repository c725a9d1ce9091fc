/**
 * The dashboard end to end, on the real broker and in a real browser: the traffic simulator writes a
 * short deterministic run of observations, a traffic worker (runtime KafkaStreams) turns them into
 * the output topics, the query API materializes them and serves the built dashboard, and Chromium
 * (playwright-core) signs in, filters, compares what the charts plot with `traffic.series`, sees a
 * live update arrive, opens the system page, and saves screenshots under test-results/dashboard/.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Producer, stringSerializer } from '@platformatic/kafka'
import { pino } from 'pino'
import { chromium, type Browser, type Page } from 'playwright-core'
import { ensureChromium } from './support/chromium.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  estimatedObservationsPerSecond,
  groupHasConsumed,
  runSimulator,
  startTrafficWorker,
  TRAFFIC_PROCESSORS,
  type RunningTrafficWorker,
  type TrafficTopics
} from '../apps/traffic/index.ts'
import { buildDashboard } from '../dashboard/index.ts'
import { createQueryClient, startQueryApi, type RunningQueryApi } from '../query-api/index.ts'
import { startRegistry, type RunningRegistry } from '../registry/index.ts'
import { avroSerde, SchemaRegistryClient, type SensorObservation } from '../schemas/index.ts'
import { kafkaBrokers, uniqueName } from './support/kafka.ts'

const TOKEN = 'dashboard-e2e-token-1'
const MIN = 60_000
const SENSORS = 4
/** Simulated minutes of traffic, ending a few minutes before the test starts. */
const SIM_MINUTES = 8
const SENSOR = 's-2'
const TRAVELER_TYPE = 'CAR'
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

let dir: string
let registry: RunningRegistry | undefined
let worker: RunningTrafficWorker | undefined
let api: RunningQueryApi | undefined
let browser: Browser | undefined
let topics: TrafficTopics
let applicationId: string
let simulatedUntil: number

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

function client() {
  return createQueryClient({ url: (api as RunningQueryApi).url, token: TOKEN })
}

/** What a chart plots: uPlot's own data arrays (x = window start, then one column per series). */
async function chartData(page: Page, id: string): Promise<Array<Array<number | null>> | null> {
  return page.evaluate((chartId) => {
    const chart = window.__runnelCharts?.[chartId]
    return chart === undefined ? null : chart.data.map((column) => Array.from(column as ArrayLike<number | null>, (v) => v ?? null))
  }, id)
}

/** `traffic.series` for the range a chart shows, in the chart's column layout. */
async function seriesColumns(
  x: ReadonlyArray<number | null>,
  resolution: '1m' | '5m'
): Promise<{ speed: Array<Array<number | null>>; counts: Array<Array<number | null>> }> {
  const from = x[0] as number
  const to = (x[x.length - 1] as number) + MIN
  const result = await client().traffic.series.query({ sensorId: SENSOR, travelerType: TRAVELER_TYPE, from, to, resolution })
  const p = result.points
  return {
    speed: [p.map((w) => w.windowStart), p.map((w) => w.speedMin), p.map((w) => w.speedMean), p.map((w) => w.speedMax)],
    counts: [p.map((w) => w.windowStart), p.map((w) => w.observations), p.map((w) => w.travelers)]
  }
}

/** Waits until both traffic charts plot exactly what `traffic.series` answers for the same filters and range. */
async function expectChartsEqualSeries(
  page: Page,
  resolution: '1m' | '5m'
): Promise<{ speed: Array<Array<number | null>>; counts: Array<Array<number | null>> }> {
  let last: unknown
  try {
    return await waitFor(
      'the charts to plot traffic.series',
      async () => {
        await page.waitForSelector('[data-testid="traffic-page"][data-loading="false"]')
        const speed = await chartData(page, 'traffic-speed')
        const counts = await chartData(page, 'traffic-counts')
        if (speed === null || counts === null || (speed[0]?.length ?? 0) === 0) return undefined
        const expected = await seriesColumns(speed[0] as number[], resolution)
        last = { plotted: { speed, counts }, expected }
        return JSON.stringify(speed) === JSON.stringify(expected.speed) && JSON.stringify(counts) === JSON.stringify(expected.counts) ? expected : undefined
      },
      30_000
    )
  } catch (err) {
    const detail = last as { plotted: { counts: unknown[][] }; expected: { counts: unknown[][] } } | undefined
    throw new Error(
      `${(err as Error).message}\nplotted observations ${JSON.stringify(detail?.plotted.counts[1])}\napi     observations ${JSON.stringify(detail?.expected.counts[1])}`,
      { cause: err }
    )
  }
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

async function signIn(page: Page): Promise<void> {
  await page.goto((api as RunningQueryApi).url)
  await page.fill('input[name="token"]', TOKEN)
  await page.click('button[type="submit"]')
  await page.waitForSelector('[data-testid="traffic-page"]')
}

beforeAll(async () => {
  const brokers = kafkaBrokers()
  dir = await mkdtemp(join(tmpdir(), 'runnel-dashboard-e2e-'))
  await mkdir(ARTIFACTS, { recursive: true })
  const staticDir = await buildDashboard({ outDir: join(dir, 'dist'), logLevel: 'error' })

  registry = await startRegistry({ port: 0, brokers, topic: uniqueName('_schemas-dashboard') })
  topics = {
    observations: uniqueName('dash-observations'),
    stats1m: uniqueName('dash-stats1m'),
    stats5m: uniqueName('dash-stats5m'),
    sessions: uniqueName('dash-sessions')
  }
  applicationId = uniqueName('dash-traffic')

  // A deterministic run (seed and start fixed relative to the minute) ending ~3 minutes ago, so the
  // "last hour" view holds it and the current minute is free for the live update.
  const startMs = Math.floor(Date.now() / MIN) * MIN - (SIM_MINUTES + 3) * MIN
  const observations = Math.round(estimatedObservationsPerSecond(SENSORS) * SIM_MINUTES * 60)
  const sim = await runSimulator({
    brokers,
    registryUrl: registry.url,
    topic: topics.observations,
    partitions: 3,
    generator: { seed: 20251121, sensors: SENSORS, observations, startMs, lateFraction: 0, malformedFraction: 0 },
    ratePerSecond: 0,
    batchSize: 2000,
    realtime: false,
    progress: null
  })
  simulatedUntil = sim.lastTimestampMs
  expect(sim.observations).toBe(observations)

  worker = await startTrafficWorker({
    brokers,
    registryUrl: registry.url,
    topics,
    applicationId,
    stateDir: join(dir, 'worker'),
    instanceId: 'dash-worker-1',
    inputPartitions: 3,
    outputPartitions: 3,
    commitIntervalMs: 250
  })
  api = await startQueryApi(
    {
      port: 0,
      brokers,
      registryUrl: registry.url,
      tokens: [{ token: TOKEN, scopes: ['read', 'admin'] }],
      store: 'memory',
      stateDir: join(dir, 'query-api'),
      instanceId: 'dash-query-1',
      staticDir,
      topics: { stats1m: topics.stats1m, stats5m: topics.stats5m, sessions: topics.sessions },
      trafficApplicationId: applicationId,
      fetchMaxWaitMs: 100
    },
    { logger: pino({ level: 'warn' }), observationsTopic: topics.observations }
  )

  await waitFor('the worker to process the simulated run', () => groupHasConsumed(brokers, applicationId, topics.observations), 120_000, 500)
  // The outputs are written before the commit; give the query API its fetch wait to read them.
  await waitFor('the query API to hold every sensor', async () => (await client().traffic.sensors.query()).sensors.length === SENSORS, 30_000)

  browser = await chromium.launch({ executablePath: ensureChromium(), args: CHROMIUM_ARGS })
})

afterAll(async () => {
  await browser?.close()
  await api?.close()
  await worker?.close()
  await registry?.close()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

describe('the dashboard against the real traffic pipeline', () => {
  it('refuses an unknown token on the sign-in screen with a message', async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 800 } })
    await page.goto((api as RunningQueryApi).url)
    await page.fill('input[name="token"]', 'not-a-real-token')
    await page.click('button[type="submit"]')
    await expect(page.locator('[data-testid="sign-in-error"]').textContent()).resolves.toContain('not valid')
    await screenshot(page, 'sign-in-1280x800')
    await page.close()
  })

  it('plots for a chosen sensor and traveler type exactly what traffic.series answers, then a live update', async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 800 } })
    await signIn(page)

    await page.selectOption('[data-testid="filter-sensor"]', SENSOR)
    await page.selectOption('[data-testid="filter-type"]', TRAVELER_TYPE)
    const before = await expectChartsEqualSeries(page, '1m')
    // An hour of one-minute windows, and not all of them empty: the simulated cars are in it.
    expect(before.counts[0]).toHaveLength(60)
    const observed = (before.counts[1] as number[]).reduce((s, v) => s + v, 0)
    expect(observed).toBeGreaterThan(0)
    expect((before.speed[2] as Array<number | null>).some((v) => v !== null && v > 0)).toBe(true)
    await expect(page.locator('[data-testid="stat-observations"] .stat-value').textContent()).resolves.toBe(observed.toLocaleString('en-US'))
    await expect(page.locator('[data-testid="live-status"]').textContent()).resolves.toBe('Live')
    // Windows before the run started are plotted as zeros, not gaps.
    expect(before.counts[1]).toContain(0)

    // Sessions: the first page is traffic.sessions' first page for the same filters and range; "Load more" follows the cursor.
    const from = before.counts[0]?.[0] as number
    const to = (before.counts[0]?.at(-1) as number) + MIN
    const firstPage = await client().traffic.sessions.query({ sensorId: SENSOR, travelerType: TRAVELER_TYPE, from, to, limit: 15 })
    expect(firstPage.items.length).toBe(15)
    expect(firstPage.nextCursor).not.toBeNull()
    const rows = page.locator('[data-testid="sessions-table"] tbody tr')
    await waitFor('the first page of sessions', async () => (await rows.count()) === 15, 20_000)
    const travelerIds = async (): Promise<string[]> => page.locator('[data-testid="sessions-table"] tbody td.cell-main').allTextContents()
    expect(await travelerIds()).toEqual(firstPage.items.map((s) => s.travelerId))
    await screenshot(page, 'traffic-1280x800')
    const secondPage = await client().traffic.sessions.query({
      sensorId: SENSOR,
      travelerType: TRAVELER_TYPE,
      from,
      to,
      limit: 15,
      cursor: firstPage.nextCursor
    })
    await page.click('[data-testid="sessions-more"]')
    await waitFor('the second page of sessions', async () => (await rows.count()) === 15 + secondPage.items.length, 20_000)
    expect(await travelerIds()).toEqual([...firstPage.items, ...secondPage.items].map((s) => s.travelerId))

    // The 5-minute resolution is another query with the same comparison.
    await page.click('[data-testid="segmented-resolution"] button[data-value="5m"]')
    await expectChartsEqualSeries(page, '5m')
    await page.click('[data-testid="segmented-resolution"] button[data-value="1m"]')
    await expectChartsEqualSeries(page, '1m')

    // Live: a new car at the chosen sensor, seen twice one second apart within the current minute
    // (the last point of the hour on screen; a relative range moves on by itself when the minute turns).
    const liveBefore = Number(await page.getAttribute('[data-testid="traffic-page"]', 'data-live-updates'))
    if (Date.now() % MIN > MIN - 3_000) await new Promise((resolve) => setTimeout(resolve, 3_500))
    const t = Math.max(Date.now(), simulatedUntil + 1_000)
    const liveWindow = Math.floor(t / MIN) * MIN
    const current = await chartData(page, 'traffic-counts')
    const slot = current?.[0]?.indexOf(liveWindow) ?? -1
    const plottedBefore = slot < 0 ? 0 : (current?.[1]?.[slot] ?? 0)
    await produceObservations([
      { sensor_id: SENSOR, traveler_id: 'live-car-1', traveler_type: TRAVELER_TYPE, x: 0, y: 1.75, timestamp: t },
      { sensor_id: SENSOR, traveler_id: 'live-car-1', traveler_type: TRAVELER_TYPE, x: 12, y: 1.75, timestamp: t + 1_000 }
    ])
    await waitFor(
      'the live update to reach the chart',
      async () => {
        const counts = await chartData(page, 'traffic-counts')
        const i = counts?.[0]?.indexOf(liveWindow) ?? -1
        return i >= 0 && counts?.[1]?.[i] === plottedBefore + 2
      },
      30_000
    )
    const liveAfter = Number(await page.getAttribute('[data-testid="traffic-page"]', 'data-live-updates'))
    expect(liveAfter).toBeGreaterThan(liveBefore)
    await expect(page.locator('[data-testid="last-update"]').isVisible()).resolves.toBe(true)
    // The window the car drove through now has its speed sample: 12 m in 1 s.
    const speed = await chartData(page, 'traffic-speed')
    const i = speed?.[0]?.indexOf(liveWindow) ?? -1
    expect(speed?.[3]?.[i]).toBeGreaterThanOrEqual(12)
    // And the live-patched chart still equals a fresh read.
    await expectChartsEqualSeries(page, '1m')
    await screenshot(page, 'traffic-live-1280x800')
    await page.close()
  })

  it('shows the topology with every processor, the worker with its tasks, and lag', async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 800 } })
    await signIn(page)
    await page.click('[data-testid="nav-system"]')
    await page.waitForSelector('[data-testid="topology-node"]')
    const names = await page.locator('[data-testid="topology-node"]').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-name')))
    for (const processor of Object.values(TRAFFIC_PROCESSORS)) expect(names).toContain(processor)
    expect(names).toContain(topics.observations)
    expect(names).toContain(topics.stats1m)
    const stores = await page.locator('[data-testid="topology-store"]').allTextContents()
    expect(stores).toContain('traffic-stats-1m-store')
    await waitFor('the worker instance', async () => (await page.locator('[data-testid="instance"]').count()) === 1, 20_000)
    const tasks = await page.locator('[data-testid="task"]').allTextContents()
    expect(tasks.sort()).toEqual(['0_0', '0_1', '0_2'])
    // The worker's own status report (runtime status topic) joins its group membership.
    await waitFor("the worker's status report", async () => (await page.locator('[data-testid="instance-state"]').textContent()) === 'running', 30_000)
    await page.waitForSelector('[data-testid="lag-table"]')
    await waitFor('the throughput chart (two lag readings)', async () => (await chartData(page, 'system-throughput')) !== null, 20_000)
    await screenshot(page, 'system-1280x800')
    await page.close()
  })

  it('is usable at phone width', async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
    await signIn(page)
    await page.selectOption('[data-testid="filter-sensor"]', SENSOR)
    await page.selectOption('[data-testid="filter-type"]', TRAVELER_TYPE)
    await expectChartsEqualSeries(page, '1m')
    await waitFor('the sessions table', async () => (await page.locator('[data-testid="sessions-table"] tbody tr').count()) > 0, 20_000)
    // Nothing wider than the screen except inside the scrollable table and graph containers.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    expect(overflow).toBeLessThanOrEqual(0)
    await screenshot(page, 'traffic-390x844')
    await page.click('[data-testid="nav-system"]')
    await page.waitForSelector('[data-testid="topology-node"]')
    await page.waitForSelector('[data-testid="instance"]')
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0)
    await screenshot(page, 'system-390x844')
    await page.close()
  })

  it('signs in from a link carrying the token in the fragment, then drops it from the address bar', async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 800 } })
    await page.goto(`${(api as RunningQueryApi).url}/#/system?token=${TOKEN}`)
    await page.waitForSelector('[data-testid="system-page"]')
    await page.waitForSelector('[data-testid="topology-node"]')
    expect(await page.evaluate(() => location.hash)).toBe('#/system')
    await page.close()
  })

  it('returns to sign-in with a message when the API stops accepting the token', async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 800 } })
    await signIn(page)
    // A token the API does not know, as if it had been revoked: the next call answers 401.
    await page.evaluate(() => sessionStorage.setItem('runnel.dashboard.token', 'revoked-token-000'))
    await page.reload()
    await page.waitForSelector('[data-testid="sign-in-notice"]')
    await expect(page.locator('[data-testid="sign-in-notice"]').textContent()).resolves.toContain('did not accept your token')
    await expect(page.evaluate(() => sessionStorage.getItem('runnel.dashboard.token'))).resolves.toBeNull()
    await page.close()
  })
})

/** Produces observations to the run's input topic (Avro through the run's registry, key = sensor). */
async function produceObservations(observations: SensorObservation[]): Promise<void> {
  const serde = avroSerde('runnel.traffic.SensorObservation', { registry: new SchemaRegistryClient({ url: (registry as RunningRegistry).url }) })
  await serde.configure(topics.observations, false)
  const producer = new Producer<string, Buffer, string, string>({
    clientId: 'dashboard-e2e-producer',
    bootstrapBrokers: kafkaBrokers(),
    acks: -1,
    serializers: { key: stringSerializer, value: (v) => v, headerKey: stringSerializer, headerValue: stringSerializer }
  })
  try {
    await producer.send({
      messages: observations.map((o) => ({
        topic: topics.observations,
        key: o.sensor_id,
        value: serde.serialize(topics.observations, o),
        timestamp: BigInt(o.timestamp)
      }))
    })
  } finally {
    await producer.close()
  }
}
