import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aggregateSeries } from './aggregate.ts'
import { parseApiTokens, TokenAuthenticator } from './auth.ts'
import { createTRPCClient, httpSubscriptionLink } from '@trpc/client'
import { createQueryClient } from './client.ts'
import { NodeEventSource } from './event-source.ts'
import { QueryApiError, QueryApiErrorCodes } from './errors.ts'
import type { HealthReport } from './health.ts'
import type { WindowChange } from './materializer.ts'
import { createAppRouter, type AppRouter, type LiveEvent, type QueryServices } from './router.ts'
import { RatingsIndex } from './ratings-index.ts'
import { SalesIndex } from './sales-index.ts'
import { SeriesIndex } from './series-index.ts'
import { DEFAULT_SERVER_LIMITS } from './limits.ts'
import { createQueryServer, type QueryServer } from './server.ts'
import { SessionIndex } from './session-index.ts'
import { openQueryStore } from './store.ts'
import { testHealthReport } from './test-support.ts'
import type { TravelerType } from '../schemas/index.ts'
import type { KeyValueStore } from '../state/index.ts'

const MIN = 60_000
const T0 = 1_763_726_400_000
const READ = 'reader-token-0001'
const ADMIN = 'admin-token-00001'
const BOTH = 'both-token-000001'

let server: QueryServer
let store: KeyValueStore<Buffer, Buffer>
let dir: string
const series = new SeriesIndex()
const listeners = new Set<(changes: readonly WindowChange[]) => void>()
const internalErrors: Array<{ error: unknown; path: string | undefined }> = []
let instancesBug = false

const health = (): HealthReport => testHealthReport(true, series.size)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'query-api-server-'))
  await mkdir(join(dir, 'static', 'assets'), { recursive: true })
  await writeFile(join(dir, 'static', 'index.html'), '<!doctype html><title>dash</title>')
  await writeFile(join(dir, 'static', 'assets', 'app-1234.js'), 'console.log(1)')
  await writeFile(join(dir, 'secret.txt'), 'secret')
  store = await openQueryStore('memory', dir)
  const sessions = new SessionIndex(store)
  const types: TravelerType[] = ['CAR', 'BUS']
  for (const sensorId of ['s-1', 's-2']) {
    for (const type of types) {
      for (let m = 0; m < 30; m += 2) {
        series.put('1m', sensorId, type, T0 + m * MIN, {
          observations: m + 1,
          travelers: 1,
          speedSamples: m % 4,
          speedMin: m % 4 ? 1 : null,
          speedMax: m % 4 ? 9 : null,
          speedMean: m % 4 ? 5 : null
        })
      }
    }
    sessions.apply(
      Array.from({ length: 7 }, (_, i) => ({
        key: { sensorId, travelerId: `t-${i}`, sessionStart: T0 + i * 1000 },
        value: {
          sensorId,
          travelerId: `t-${i}`,
          travelerType: 'CAR' as const,
          firstSeen: T0 + i * 1000,
          lastSeen: T0 + i * 1000 + 500,
          observations: 3,
          distanceM: 10,
          speedMax: 4,
          speedMean: 3
        }
      }))
    )
  }
  const services: QueryServices = {
    instanceId: 'unit',
    maxRangeMs: 24 * 60 * MIN,
    series,
    sessions,
    changes: {
      onWindowChanges: (listener) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      }
    },
    health,
    commerce: { data: { sales: new SalesIndex(), ratings: new RatingsIndex() }, changes: { onCommerceChanges: () => () => undefined } },
    system: {
      lag: async () => ({ groupId: 'g', partitions: [], totalLag: 0, measuredAt: 1 }),
      instances: async () => {
        if (instancesBug) throw new TypeError('cannot read properties of undefined (secret detail)')
        return { groupId: 'g', state: 'EMPTY', instances: [], unattachedReports: [], measuredAt: 1 }
      },
      topology: () => {
        throw new QueryApiError(QueryApiErrorCodes.NOT_AVAILABLE, 'no topology provider configured')
      }
    }
  }
  server = await createQueryServer({
    router: createAppRouter(services),
    authenticator: new TokenAuthenticator(parseApiTokens(`${READ}:read,${ADMIN}:admin,${BOTH}:read+admin`)),
    ready: () => true,
    host: '127.0.0.1',
    port: 0,
    tls: null,
    staticDir: join(dir, 'static'),
    onInternalError: (error, path) => {
      internalErrors.push({ error, path })
    }
  })
})

afterAll(async () => {
  // Nothing else in this file is a bug: no other internal error may have been reported.
  expect(internalErrors).toEqual([])
  await server?.close()
  await store?.close()
  await rm(dir, { recursive: true, force: true })
})

async function call(
  path: string,
  input?: unknown,
  token?: string,
  method = 'GET'
): Promise<{ status: number; body: { result?: { data: unknown }; error?: { message: string; data: { code: string; errorCode: string | null } } } }> {
  const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`
  const res = await fetch(`${server.url}/trpc/${path}${query}`, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  return { status: res.status, body: (await res.json()) as never }
}

describe('query API over HTTP: auth', () => {
  it('answers system.health without a token with its readiness only, and the full report with a token', async () => {
    const { status, body } = await call('system.health')
    expect(status).toBe(200)
    expect(body.result?.data).toEqual({ status: 'ready', ready: true })
    expect((await call('system.health', undefined, 'nobody-knows-me')).body.result?.data).toEqual({ status: 'ready', ready: true })
    for (const token of [READ, ADMIN]) {
      expect((await call('system.health', undefined, token)).body.result?.data).toMatchObject({
        status: 'ready',
        ready: true,
        instanceId: 'unit',
        kafka: { topics: [] }
      })
    }
  })

  it('accepts a token in connectionParams only on subscription requests, never on queries', async () => {
    const params = `connectionParams=${encodeURIComponent(JSON.stringify({ token: READ }))}`
    expect((await fetch(`${server.url}/trpc/traffic.sensors?${params}`)).status).toBe(401)
    expect((await fetch(`${server.url}/trpc/traffic.sensors,traffic.sensors?batch=1&${params}&input=%7B%7D`)).status).toBe(401)
    const live = await fetch(`${server.url}/trpc/traffic.live?${params}&input=${encodeURIComponent(JSON.stringify({ sensorId: 'all' }))}`)
    expect(live.status).toBe(200)
    expect(live.headers.get('content-type')).toMatch(/text\/event-stream/)
    await live.body?.cancel()
  })

  it('answers 401 without a token, with an unknown one or a malformed header', async () => {
    expect((await call('traffic.sensors')).status).toBe(401)
    expect((await call('traffic.sensors', undefined, 'nobody-knows-me')).status).toBe(401)
    const res = await fetch(`${server.url}/trpc/traffic.sensors`, { headers: { authorization: `Token ${READ}` } })
    expect(res.status).toBe(401)
    expect((await call('system.lag')).status).toBe(401)
  })

  it('answers 403 for a token without the scope and 200 with it', async () => {
    expect((await call('traffic.sensors', undefined, ADMIN)).status).toBe(403)
    expect((await call('system.lag', undefined, READ)).status).toBe(403)
    expect((await call('system.instances', undefined, READ)).status).toBe(403)
    expect((await call('traffic.sensors', undefined, READ)).status).toBe(200)
    expect((await call('system.lag', undefined, ADMIN)).status).toBe(200)
    expect((await call('traffic.sensors', undefined, BOTH)).status).toBe(200)
    expect((await call('system.instances', undefined, BOTH)).status).toBe(200)
  })

  it('checks the token before the input, so a bad query without a token is a 401', async () => {
    expect((await call('traffic.series', { from: 'x' })).status).toBe(401)
  })
})

describe('query API over HTTP: bad input', () => {
  const valid = { sensorId: 'all', travelerType: 'all', from: T0, to: T0 + 10 * MIN, resolution: '1m' }
  const cases: Array<[string, string, unknown, RegExp]> = [
    ['a string for a number', 'traffic.series', { ...valid, from: 'yesterday' }, /from: must be a number/],
    ['a fraction of a millisecond', 'traffic.series', { ...valid, to: T0 + 0.5 }, /to: must be an integer/],
    ['a negative time', 'traffic.series', { ...valid, from: -1 }, /from: must not be negative/],
    ['a huge number', 'traffic.series', { ...valid, to: 1e300 }, /to: .*largest date/],
    ['from after to', 'traffic.series', { ...valid, from: T0 + MIN, to: T0 }, /from \(\d+\) must not be after to/],
    ['a range past the maximum', 'traffic.series', { ...valid, to: T0 + 25 * 60 * MIN }, /at most 86400000 ms/],
    ['an unknown sensor', 'traffic.series', { ...valid, sensorId: 's-999' }, /unknown sensor "s-999"/],
    ['an unknown traveler type', 'traffic.series', { ...valid, travelerType: 'SPACESHIP' }, /travelerType: must be one of PEDESTRIAN/],
    ['an unknown resolution', 'traffic.series', { ...valid, resolution: '10m' }, /resolution: must be "1m" or "5m"/],
    ['an unknown field', 'traffic.series', { ...valid, sensor: 's-1' }, /Unrecognized key/],
    ['no input at all', 'traffic.series', undefined, /invalid input/],
    ['an array instead of an object', 'traffic.series', [1, 2], /invalid input/],
    ['a limit of 0', 'traffic.sessions', { from: T0, to: T0 + MIN, limit: 0 }, /limit: must be at least 1/],
    ['a limit past 500', 'traffic.sessions', { from: T0, to: T0 + MIN, limit: 501 }, /limit: must be at most 500/],
    ['a cursor this API did not issue', 'traffic.sessions', { from: T0, to: T0 + MIN, cursor: 'bm9wZQ' }, /cursor is not one this API issued/],
    ['an unknown sensor for sessions', 'traffic.sessions', { sensorId: 'nope', from: T0, to: T0 + MIN }, /unknown sensor/],
    ['an unknown sensor for live updates', 'traffic.live', { sensorId: 'nope' }, /unknown sensor "nope"/],
    ['a bad resolution for live updates', 'traffic.live', { resolution: 'hourly' }, /resolution: must be "1m" or "5m"/]
  ]
  for (const [what, path, input, message] of cases) {
    it(`answers 400 with a clear message for ${what}`, async () => {
      const { status, body } = await call(path, input, READ)
      expect(status).toBe(400)
      expect(body.error?.data.code).toBe('BAD_REQUEST')
      expect(body.error?.message).toMatch(message)
    })
  }

  it('answers 400 for input that is not JSON', async () => {
    const res = await fetch(`${server.url}/trpc/traffic.series?input=%7Bnot-json`, { headers: { authorization: `Bearer ${READ}` } })
    expect(res.status).toBe(400)
  })

  it('answers 405 for methods other than GET and 404 for an unknown procedure', async () => {
    expect((await call('traffic.series', valid, READ, 'POST')).status).toBe(405)
    expect((await call('traffic.series', valid, READ, 'DELETE')).status).toBe(405)
    expect((await call('traffic.nothing', valid, READ)).status).toBe(404)
  })

  it('answers a bug with a bare 500 and reports it to the server, never to the client', async () => {
    instancesBug = true
    try {
      const { status, body } = await call('system.instances', undefined, ADMIN)
      expect(status).toBe(500)
      expect(body.error?.message).toBe('internal error')
      expect(JSON.stringify(body)).not.toContain('secret detail')
    } finally {
      instancesBug = false
    }
    expect(internalErrors).toHaveLength(1)
    expect(internalErrors[0]?.path).toBe('system.instances')
    expect((internalErrors[0]?.error as Error).message).toContain('secret detail')
    internalErrors.length = 0
  })

  it('answers 412, not a 5xx, when a system procedure has no data source', async () => {
    const { status, body } = await call('system.topology', undefined, ADMIN)
    expect(status).toBe(412)
    expect(body.error?.data.errorCode).toBe('QUERY_NOT_AVAILABLE')
  })
})

describe('query API over HTTP: typed client', () => {
  it('serves traffic.series equal to the aggregation of the index, for several filters', async () => {
    const client = createQueryClient({ url: server.url, token: READ })
    for (const [sensorId, travelerType] of [
      ['all', 'all'],
      ['s-1', 'all'],
      ['all', 'BUS'],
      ['s-2', 'CAR']
    ] as const) {
      const result = await client.traffic.series.query({ sensorId, travelerType, from: T0 - 3 * MIN, to: T0 + 40 * MIN, resolution: '1m' })
      expect(result.points).toHaveLength(43)
      expect(result.points).toEqual(aggregateSeries(series.select('1m', sensorId, travelerType), T0 - 3 * MIN, T0 + 40 * MIN))
      expect(result).toMatchObject({ stepMs: MIN, windowSizeMs: MIN })
    }
  })

  it('pages traffic.sessions newest first with the cursor', async () => {
    const client = createQueryClient({ url: server.url, token: READ })
    const seen: string[] = []
    let cursor: string | null | undefined
    do {
      const page = await client.traffic.sessions.query({ sensorId: 's-1', from: T0, to: T0 + MIN, limit: 3, cursor })
      seen.push(...page.items.map((s) => s.travelerId))
      cursor = page.nextCursor
    } while (cursor !== null)
    expect(seen).toEqual(['t-6', 't-5', 't-4', 't-3', 't-2', 't-1', 't-0'])
  })

  it('pushes a changed window to a traffic.live subscriber with its combined point', async () => {
    const client = createQueryClient({ url: server.url, token: READ })
    const events: LiveEvent[] = []
    const subscribed = Promise.withResolvers<void>()
    const windowSeen = Promise.withResolvers<void>()
    const sub = client.traffic.live.subscribe(
      { sensorId: 'all', travelerType: 'CAR', resolution: '1m' },
      {
        onData: (event) => {
          events.push(event)
          if (event.kind === 'subscribed') subscribed.resolve()
          if (event.kind === 'window') windowSeen.resolve()
        },
        onError: (err) => windowSeen.reject(err)
      }
    )
    try {
      await subscribed.promise
      const stats = { observations: 100, travelers: 4, speedSamples: 2, speedMin: 2, speedMax: 20, speedMean: 11 }
      series.put('1m', 's-1', 'CAR', T0 + 2 * MIN, stats)
      const changes: WindowChange[] = [
        { resolution: '1m', sensorId: 's-1', travelerType: 'BUS', windowStart: T0, stats },
        { resolution: '1m', sensorId: 's-1', travelerType: 'CAR', windowStart: T0 + 2 * MIN, stats }
      ]
      for (const l of listeners) l(changes)
      await windowSeen.promise
    } finally {
      sub.unsubscribe()
    }
    const windows = events.filter((e) => e.kind === 'window')
    // The BUS change does not match the CAR filter.
    expect(windows).toHaveLength(1)
    const s2 = series.get('1m', 's-2', 'CAR', T0 + 2 * MIN)
    expect(windows[0]).toEqual({
      kind: 'window',
      resolution: '1m',
      sensorId: 's-1',
      travelerType: 'CAR',
      windowStart: T0 + 2 * MIN,
      window: { observations: 100, travelers: 4, speedSamples: 2, speedMin: 2, speedMax: 20, speedMean: 11 },
      point: { windowStart: T0 + 2 * MIN, observations: 100 + (s2?.observations ?? 0), travelers: 5, speedSamples: 4, speedMin: 1, speedMax: 20, speedMean: 8 }
    })
  })

  it('accepts the token as an SSE connection parameter, as browsers send it', async () => {
    const client = createTRPCClient<AppRouter>({
      links: [httpSubscriptionLink({ url: `${server.url}/trpc`, EventSource: NodeEventSource, connectionParams: () => ({ token: READ }) })]
    })
    const first = await new Promise<unknown>((resolve, reject) => {
      const sub = client.traffic.live.subscribe(
        { sensorId: 's-1' },
        {
          onData: (e) => {
            sub.unsubscribe()
            resolve(e)
          },
          onError: reject
        }
      )
    })
    expect(first).toEqual({ kind: 'subscribed', instanceId: 'unit', ready: true })
  })

  it('answers refused subscriptions with real status codes before any stream starts', async () => {
    const live = async (input: unknown, token?: string): Promise<{ status: number; type: string | null; body: string }> => {
      const res = await fetch(`${server.url}/trpc/traffic.live?input=${encodeURIComponent(JSON.stringify(input))}`, {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` }
      })
      return { status: res.status, type: res.headers.get('content-type'), body: await res.text() }
    }
    expect(await live({}, undefined)).toMatchObject({ status: 401, type: 'application/json' })
    expect(await live({}, ADMIN)).toMatchObject({ status: 403 })
    const unknown = await live({ sensorId: 'ghost' }, READ)
    expect(unknown.status).toBe(400)
    expect(JSON.parse(unknown.body)).toMatchObject({
      error: { message: expect.stringMatching(/unknown sensor "ghost"/), data: { code: 'BAD_REQUEST', errorCode: 'QUERY_UNKNOWN_SENSOR' } }
    })
    const bad = await fetch(`${server.url}/trpc/traffic.live?input=%7Boops`, { headers: { authorization: `Bearer ${READ}` } })
    expect(bad.status).toBe(400)
    const params = await fetch(`${server.url}/trpc/traffic.live?connectionParams=%7Boops`)
    expect(params.status).toBe(400)
  })

  it('refuses a live subscription without a token', async () => {
    const client = createQueryClient({ url: server.url })
    const error = await new Promise<unknown>((resolve) => {
      const sub = client.traffic.live.subscribe({}, { onData: () => resolve(undefined), onError: (err) => resolve(err) })
      setTimeout(() => sub.unsubscribe(), 5000)
    })
    expect((error as { data?: { code?: string } })?.data?.code).toBe('UNAUTHORIZED')
  })
})

describe('query API over HTTP: static files and probes', () => {
  const get = async (path: string): Promise<{ status: number; type: string | null; text: string }> => {
    const res = await fetch(`${server.url}${path}`)
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() }
  }

  it('serves index.html at / and for client-side routes, and files by path', async () => {
    expect(await get('/')).toMatchObject({ status: 200, type: 'text/html; charset=utf-8', text: '<!doctype html><title>dash</title>' })
    expect(await get('/traffic/s-1')).toMatchObject({ status: 200, text: '<!doctype html><title>dash</title>' })
    expect(await get('/assets/app-1234.js')).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8', text: 'console.log(1)' })
    expect((await get('/assets/missing.js')).status).toBe(404)
  })

  it('answers paths under /api/ with a JSON 404 when no REST handler is configured, never with index.html', async () => {
    expect(await get('/api/product/sale/1')).toMatchObject({ status: 404, type: 'application/json' })
    expect(await get('/api')).toMatchObject({ status: 404, type: 'application/json' })
  })

  it('never serves files outside the folder', async () => {
    const raw = (path: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request(`${server.url}${path}`, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on('error', reject)
        req.end()
      })
    expect(await raw('/../secret.txt')).toBe(404)
    expect(await raw('/%2e%2e/secret.txt')).toBe(404)
    expect(await raw('/..%2fsecret.txt')).toBe(404)
    expect(await raw('/%00')).toBe(400)
  })

  it('answers /livez and /readyz', async () => {
    expect(await get('/livez')).toMatchObject({ status: 200 })
    expect(await get('/readyz')).toMatchObject({ status: 200, text: 'ready\n' })
  })
})

describe('query API over HTTP: admission limits', () => {
  it('answers 429 with Retry-After to a token past its queries in flight, and admits it again once one ends', async () => {
    let open: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const services: QueryServices = {
      instanceId: 'unit',
      maxRangeMs: 24 * 60 * MIN,
      series,
      sessions: new SessionIndex(store),
      changes: { onWindowChanges: () => () => undefined },
      health,
      commerce: { data: { sales: new SalesIndex(), ratings: new RatingsIndex() }, changes: { onCommerceChanges: () => () => undefined } },
      system: {
        lag: async () => {
          await gate
          return { groupId: 'g', partitions: [], totalLag: 0, measuredAt: 1 }
        },
        instances: async () => ({ groupId: 'g', state: 'EMPTY', instances: [], unattachedReports: [], measuredAt: 1 }),
        topology: () => ({ text: '', subtopologies: [], globalStores: [] }) as never
      }
    }
    const limited = await createQueryServer({
      router: createAppRouter(services),
      authenticator: new TokenAuthenticator(parseApiTokens(`${ADMIN}:admin,${BOTH}:read+admin`)),
      ready: () => true,
      host: '127.0.0.1',
      port: 0,
      tls: null,
      staticDir: null,
      limits: { ...DEFAULT_SERVER_LIMITS, tokenConcurrency: 2 }
    })
    try {
      const lag = (token: string): Promise<Response> => fetch(`${limited.url}/trpc/system.lag`, { headers: { authorization: `Bearer ${token}` } })
      const held = [lag(ADMIN), lag(ADMIN)]
      // Both are admitted before the third is sent: wait until the server holds them.
      await new Promise((resolve) => setTimeout(resolve, 200))
      const refused = await lag(ADMIN)
      expect(refused.status).toBe(429)
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      const body = (await refused.json()) as { error: { message: string; data: { errorCode: string } } }
      expect(body.error.message).toMatch(/already has 2 requests in flight; at most 2 \(limits.tokenConcurrency\)/)
      expect(body.error.data.errorCode).toBe('QUERY_RATE_LIMITED')
      // Another token is not affected.
      const other = lag(BOTH)
      open()
      expect((await Promise.all([...held, other])).map((r) => r.status)).toEqual([200, 200, 200])
      expect((await lag(ADMIN)).status).toBe(200)
    } finally {
      open()
      await limited.close()
    }
  })
})
