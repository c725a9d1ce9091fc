/**
 * The query API's admission limits over real HTTP on a real instance: calls per batch, points per
 * series, the response-size cap, per-token rate, live-subscription caps per token and in total,
 * failed authentications per client address, header and idle timeouts, the token only in the
 * header for queries, the access log (never a token), the public health answer and the security
 * headers of the dashboard files. Then a soak: hundreds of SSE clients and oversized batches
 * against a query API in its own process, whose RSS must come back near its baseline while
 * `/livez` keeps answering.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { get as httpGet, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startQueryApi, type RunningQueryApi } from '../query-api/index.ts'
import type { RunningRegistry } from '../registry/index.ts'
import { kafkaBrokers, uniqueName } from './support/kafka.ts'
import { eventually, MIN, oneSensorHour, recentStart, type OutputTopics } from './query-support.ts'

const T0 = recentStart()
const DAY = 24 * 60 * MIN
const TOKENS = {
  read: 'limits-read-00001',
  admin: 'limits-admin-0001',
  batch: 'limits-batch-0001',
  rate: 'limits-rate-00001',
  cap: 'limits-cap-000001',
  sub1: 'limits-sub1-00001',
  sub2: 'limits-sub2-00001',
  live: 'limits-live-00001'
} as const
const LIMITS = {
  maxSeriesPoints: 600,
  maxRequestPoints: 6000,
  maxResponseBytes: 256 * 1024,
  tokenRatePerSecond: 5,
  tokenRateBurst: 40,
  maxSubscriptionsPerToken: 3,
  maxSubscriptions: 5,
  authFailuresPerMinute: 20,
  idleTimeoutMs: 2000,
  headersTimeoutMs: 1000,
  requestTimeoutMs: 2000
}

let registry: RunningRegistry
let topics: OutputTopics
let dir: string
let api: RunningQueryApi
const logLines: string[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'query-limits-it-'))
  await mkdir(join(dir, 'static', 'assets'), { recursive: true })
  await writeFile(join(dir, 'static', 'index.html'), '<!doctype html><title>dash</title>')
  await writeFile(join(dir, 'static', 'assets', 'app-1.js'), 'console.log(1)')
  const fixture = await oneSensorHour(kafkaBrokers(), 'query-limits', T0, 5)
  registry = fixture.registry
  topics = fixture.topics
  // The access log is captured as pino writes it.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== '')
      )
      done()
    }
  })
  api = await startQueryApi(
    {
      port: 0,
      brokers: kafkaBrokers(),
      registryUrl: registry.url,
      store: 'memory',
      stateDir: dir,
      instanceId: uniqueName('qa-limits'),
      staticDir: join(dir, 'static'),
      topics,
      trafficApplicationId: uniqueName('limits-app'),
      maxRangeMs: 7 * DAY,
      tokens: Object.entries(TOKENS).map(([name, token]) => ({ token, scopes: name === 'admin' ? ['admin' as const] : ['read' as const] })),
      limits: LIMITS
    },
    { logger: pino({ level: 'info' }, sink) }
  )
  await api.whenReady()
})

afterAll(async () => {
  await api?.close()
  await registry?.close()
  await rm(dir, { recursive: true, force: true })
})

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** A GET with node:http (to choose the local address), the whole body read. */
function get(url: string, options: { token?: string; localAddress?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
        agent: false,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress })
      },
      (res) => {
        let body = ''
        res
          .setEncoding('utf8')
          .on('data', (c: string) => {
            body += c
          })
          .on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      }
    )
    req.on('error', reject)
    req.end()
  })
}

function errorOf(answer: Answer): { message: string; data: { errorCode: string | null; httpStatus: number } } {
  return (JSON.parse(answer.body) as { error: { message: string; data: { errorCode: string | null; httpStatus: number } } }).error
}

const seriesInput = (to: number): Record<string, unknown> => ({ sensorId: 's-1', travelerType: 'all', from: T0, to, resolution: '1m' })
const trpc = (path: string, input?: unknown): string =>
  `${api.url}/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`
const batch = (path: string, inputs: unknown[]): string =>
  `${api.url}/trpc/${inputs.map(() => path).join(',')}?batch=1&input=${encodeURIComponent(JSON.stringify(Object.fromEntries(inputs.map((input, i) => [String(i), input]))))}`

/** Opens an SSE stream; resolves once its status is known (the response stays open when 200). */
function openStream(url: string, headers: Record<string, string> = {}): Promise<{ res: IncomingMessage; body: () => string; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (c: string) => {
        body += c
      })
      res.on('error', () => undefined)
      resolve({ res, body: () => body, close: () => req.destroy() })
    })
    req.on('error', reject)
  })
}

const liveUrl = (): string => trpc('traffic.live', { sensorId: 'all' })

describe('query API limits over real HTTP', () => {
  it('answers a batch with more calls than the limit with 400 naming the limit, and admits a full one', async () => {
    const tooMany = await get(
      batch(
        'traffic.sensors',
        Array.from({ length: 21 }, () => ({}))
      ),
      { token: TOKENS.batch }
    )
    expect(tooMany.status).toBe(400)
    expect(errorOf(tooMany)).toMatchObject({
      message: 'the batch has 21 calls; at most 20 calls may be sent in one request (limits.maxBatchCalls)',
      data: { errorCode: 'QUERY_TOO_MANY_CALLS' }
    })
    // The 13 KB batch of 150 seven-day series of the issue is refused before any of it runs.
    const issue = await get(
      batch(
        'traffic.series',
        Array.from({ length: 150 }, () => ({ from: T0 - 6 * DAY, to: T0 + DAY }))
      ),
      { token: TOKENS.batch }
    )
    expect(issue.status).toBe(400)
    expect(errorOf(issue).message).toMatch(/the batch has 150 calls; at most 20/)
    const full = await get(
      batch(
        'traffic.sensors',
        Array.from({ length: 20 }, () => ({}))
      ),
      { token: TOKENS.batch }
    )
    expect(full.status).toBe(200)
    expect(JSON.parse(full.body)).toHaveLength(20)
  })

  it('answers a series call with more points than the limit with 400, traffic and commerce alike', async () => {
    const over = await get(trpc('traffic.series', seriesInput(T0 + 601 * MIN)), { token: TOKENS.read })
    expect(over.status).toBe(400)
    expect(errorOf(over)).toMatchObject({
      message: `the series from ${T0} to ${T0 + 601 * MIN} would have 601 points (one per 60000 ms); at most 600 points may be asked for in one call (limits.maxSeriesPoints)`,
      data: { errorCode: 'QUERY_TOO_MANY_POINTS' }
    })
    const atLimit = await get(trpc('traffic.series', seriesInput(T0 + 600 * MIN)), { token: TOKENS.read })
    expect(atLimit.status).toBe(200)
    expect((JSON.parse(atLimit.body) as { result: { data: { points: unknown[] } } }).result.data.points).toHaveLength(600)
    const sales = await get(trpc('commerce.sales', { productId: 1, from: T0, to: T0 + 601 * MIN }), { token: TOKENS.read })
    expect(sales.status).toBe(400)
    expect(errorOf(sales).message).toMatch(/would have 601 points .* at most 600 points/)
  })

  it('answers a request asking for more series points over its calls than the limit with 400, before computing any', async () => {
    const over = await get(
      batch(
        'traffic.series',
        Array.from({ length: 11 }, () => seriesInput(T0 + 600 * MIN))
      ),
      { token: TOKENS.read }
    )
    expect(over.status).toBe(400)
    expect(errorOf(over)).toMatchObject({
      message:
        'the request asks for 6600 series points over its calls; at most 6000 may be asked for in one request (limits.maxRequestPoints): split it or shorten the ranges',
      data: { errorCode: 'QUERY_TOO_MANY_POINTS' }
    })
  })

  it('answers a response past the size cap with a complete 413 JSON error instead of the body', async () => {
    // 5 series of 600 points: ~350 KB of JSON.
    const big = await get(
      batch(
        'traffic.series',
        Array.from({ length: 5 }, () => seriesInput(T0 + 600 * MIN))
      ),
      { token: TOKENS.cap }
    )
    expect(big.status).toBe(413)
    expect(big.headers['content-type']).toBe('application/json')
    expect(errorOf(big)).toMatchObject({ data: { errorCode: 'QUERY_RESPONSE_TOO_LARGE', httpStatus: 413 } })
    expect(errorOf(big).message).toMatch(/^the response would be \d+ bytes; at most 262144 bytes may be sent \(limits.maxResponseBytes\)/)
    // One of them fits, sent whole with its length.
    const one = await get(trpc('traffic.series', seriesInput(T0 + 600 * MIN)), { token: TOKENS.cap })
    expect(one.status).toBe(200)
    expect(Number(one.headers['content-length'])).toBe(Buffer.byteLength(one.body))
  })

  it('answers a token past its call rate with 429, Retry-After and a JSON error; other tokens go on', async () => {
    const calls = Array.from({ length: 20 }, () => ({}))
    expect((await get(batch('traffic.sensors', calls), { token: TOKENS.rate })).status).toBe(200)
    expect((await get(batch('traffic.sensors', calls), { token: TOKENS.rate })).status).toBe(200)
    // The burst (40 calls) is spent; refilling 20 more takes 4 s at 5 calls/s.
    const refused = await get(batch('traffic.sensors', calls), { token: TOKENS.rate })
    expect(refused.status).toBe(429)
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(errorOf(refused)).toMatchObject({ data: { errorCode: 'QUERY_RATE_LIMITED', httpStatus: 429 } })
    expect(errorOf(refused).message).toMatch(
      /^token limi…[0-9a-f]{8} is past its rate of 5 calls per second \(burst 40; limits.tokenRatePerSecond\); retry after \d+ s$/
    )
    expect((await get(trpc('traffic.sensors'), { token: TOKENS.read })).status).toBe(200)
  })

  it('caps live subscriptions per token (429) and in total (503), and frees a place when a stream closes', async () => {
    const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })
    const open: Array<{ close: () => void }> = []
    try {
      for (let i = 0; i < 3; i++) {
        const s = await openStream(liveUrl(), auth(TOKENS.sub1))
        open.push(s)
        expect(s.res.statusCode).toBe(200)
      }
      const fourth = await get(liveUrl(), { token: TOKENS.sub1 })
      expect(fourth.status).toBe(429)
      expect(fourth.headers['retry-after']).toBeDefined()
      expect(errorOf(fourth).message).toMatch(/already has 3 live subscriptions; at most 3 per token \(limits.maxSubscriptionsPerToken\)/)
      for (let i = 0; i < 2; i++) {
        const s = await openStream(liveUrl(), auth(TOKENS.sub2))
        open.push(s)
        expect(s.res.statusCode).toBe(200)
      }
      const sixth = await get(liveUrl(), { token: TOKENS.sub2 })
      expect(sixth.status).toBe(503)
      expect(errorOf(sixth)).toMatchObject({ data: { errorCode: 'QUERY_OVERLOADED' } })
      expect(errorOf(sixth).message).toMatch(/already serves 5 live subscriptions, its maximum \(limits.maxSubscriptions\)/)
      open.shift()?.close()
      let again: { res: IncomingMessage; close: () => void } | undefined
      await eventually(
        async () => {
          const s = await openStream(liveUrl(), auth(TOKENS.sub2))
          if (s.res.statusCode === 200) again = s
          else s.close()
          return again !== undefined
        },
        10_000,
        'a place freed by a closed stream'
      )
      if (again !== undefined) open.push(again)
    } finally {
      for (const s of open) s.close()
    }
  })

  it('accepts the token in connectionParams only on subscriptions, and keeps an SSE stream open past the idle timeout', async () => {
    const params = `connectionParams=${encodeURIComponent(JSON.stringify({ token: TOKENS.live }))}`
    expect((await get(`${api.url}/trpc/traffic.sensors?${params}`)).status).toBe(401)
    const stream = await openStream(`${liveUrl()}&${params}`)
    try {
      expect(stream.res.statusCode).toBe(200)
      expect(stream.res.headers['content-type']).toMatch(/text\/event-stream/)
      let closed = false
      stream.res.on('close', () => {
        closed = true
      })
      // Twice the idle timeout: a plain idle socket is closed by then (next test), a stream is not.
      await new Promise((resolve) => setTimeout(resolve, 2 * LIMITS.idleTimeoutMs + 500))
      expect(closed).toBe(false)
      expect(stream.body()).toMatch(/"kind":"subscribed"/)
    } finally {
      stream.close()
    }
  })

  it('closes connections that send nothing, and those that trickle their headers past the headers timeout', async () => {
    const port = api.port
    const silent = new Promise<{ ms: number; data: string }>((resolve) => {
      const started = Date.now()
      const socket = connect(port, '127.0.0.1')
      let data = ''
      socket.on('data', (c) => {
        data += c.toString('latin1')
      })
      socket.on('error', () => undefined)
      socket.on('close', () => resolve({ ms: Date.now() - started, data }))
    })
    const trickle = new Promise<{ ms: number; data: string }>((resolve) => {
      const started = Date.now()
      const socket = connect(port, '127.0.0.1', () => socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n'))
      // A header line every 300 ms keeps the socket from being idle; only the headers timeout ends it.
      const timer = setInterval(() => socket.write(`X-Slow-${Date.now()}: 1\r\n`), 300)
      let data = ''
      socket.on('data', (c) => {
        data += c.toString('latin1')
      })
      socket.on('error', () => undefined)
      socket.on('close', () => {
        clearInterval(timer)
        resolve({ ms: Date.now() - started, data })
      })
    })
    // Bounded waits, far past the configured timeouts (2 s idle, 1 s headers), only so that a broken server fails the test.
    const deadline = <T>(p: Promise<T>, what: string): Promise<T> =>
      Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} was never closed`)), 20_000))])
    const [s, t] = await Promise.all([deadline(silent, 'a silent connection'), deadline(trickle, 'a trickling connection')])
    console.log(`silent connection closed after ${s.ms} ms; trickling headers closed after ${t.ms} ms (${JSON.stringify(t.data.split('\r\n')[0])})`)
    // Node answers 408 when the headers timeout ends a connection, or closes it silently when the idle timeout does.
    for (const closed of [s, t]) expect(closed.data === '' || closed.data.startsWith('HTTP/1.1 408 Request Timeout\r\n')).toBe(true)
  })

  it('answers 429 with Retry-After to an address past its failed authentications, on tRPC and REST, and only to it', async () => {
    // Requests from 127.0.0.2 (loopback) count apart from the other tests' 127.0.0.1.
    const from2 = { localAddress: '127.0.0.2' }
    for (let i = 0; i < LIMITS.authFailuresPerMinute; i++) {
      expect((await get(trpc('traffic.sensors'), { ...from2, token: `wrong-token-${i}` })).status).toBe(401)
    }
    const blocked = await get(trpc('traffic.sensors'), { ...from2, token: TOKENS.read })
    expect(blocked.status).toBe(429)
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60)
    expect(errorOf(blocked)).toMatchObject({
      message: expect.stringMatching(
        /^too many failed authentications from this address \(at most 20 per minute; limits.authFailuresPerMinute\); retry after \d+ s$/
      ),
      data: { errorCode: 'QUERY_RATE_LIMITED' }
    })
    const rest = await get(`${api.url}/api/product/sale/1`, { ...from2, token: TOKENS.read })
    expect(rest.status).toBe(429)
    expect(rest.headers['retry-after']).toBeDefined()
    expect(JSON.parse(rest.body)).toMatchObject({
      error: { code: 'QUERY_RATE_LIMITED', status: 429, message: expect.stringMatching(/^too many failed authentications/) }
    })
    // No credentials at all are not failures, and other addresses are not affected.
    expect((await get(trpc('traffic.sensors'), { token: TOKENS.read })).status).toBe(200)
  })

  it('answers system.health without a token with readiness only, and the full report with a token', async () => {
    const bare = await get(trpc('system.health'))
    expect(bare.status).toBe(200)
    expect((JSON.parse(bare.body) as { result: { data: unknown } }).result.data).toEqual({ status: 'ready', ready: true })
    const full = await get(trpc('system.health'), { token: TOKENS.admin })
    expect((JSON.parse(full.body) as { result: { data: unknown } }).result.data).toMatchObject({
      ready: true,
      instanceId: api.config.instanceId,
      kafka: { topics: expect.arrayContaining([topics.stats1m]) }
    })
  })

  it('sends the security headers with the dashboard files', async () => {
    for (const path of ['/', '/index.html', '/sensors/s-1', '/assets/app-1.js', '/missing.js']) {
      const res = await get(`${api.url}${path}`)
      expect(res.status, path).toBe(path === '/missing.js' ? 404 : 200)
      expect(res.headers['content-security-policy'], path).toBe(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
      )
      expect(res.headers, path).toMatchObject({ 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' })
    }
  })

  it('writes one access-log line per request with path, status, duration and token label, never a token or a query string', async () => {
    const before = logLines.length
    await get(trpc('traffic.series', seriesInput(T0 + 10 * MIN)), { token: TOKENS.read })
    await get(`${api.url}/trpc/traffic.sensors?connectionParams=${encodeURIComponent(JSON.stringify({ token: TOKENS.live }))}`)
    await eventually(() => logLines.length >= before + 2, 5000, 'the access-log lines')
    const access = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request')
    expect(access.length).toBeGreaterThan(30)
    for (const line of access) {
      expect(line).toMatchObject({
        level: 30,
        method: expect.any(String),
        path: expect.any(String),
        status: expect.any(Number),
        durationMs: expect.any(Number)
      })
      expect(String(line.path)).not.toContain('?')
    }
    const series = access.filter((l) => l.path === '/trpc/traffic.series' && l.status === 200)
    expect(series.length).toBeGreaterThan(0)
    expect(series.at(-1)?.token).toMatch(/^limi…[0-9a-f]{8}$/)
    expect(access.some((l) => l.status === 429) && access.some((l) => l.status === 413) && access.some((l) => l.status === 401)).toBe(true)
    // Nothing the instance logged holds a token (the labels are a 4-character prefix and a hash) or connectionParams.
    const all = logLines.join('\n')
    for (const token of Object.values(TOKENS)) expect(all).not.toContain(token)
    expect(all).not.toContain('connectionParams')
    expect(all).not.toContain('wrong-token')
  })
})

/** RSS of a process, bytes (Linux). */
function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kb ?? 0) * 1024
}

const MiB = 1024 * 1024

describe('query API under load in its own process', () => {
  it('keeps answering /livez with hundreds of SSE clients and oversized batches, and its RSS comes back near the baseline', async () => {
    // Six tokens of 50 live streams each (the default cap per token), and one for the heavy batches.
    const liveTokens = Array.from({ length: 6 }, (_, i) => `soak-live-00000${i}`)
    const soakTokens = { heavy: 'soak-heavy-00001' }
    const child: ChildProcess = spawn(process.execPath, ['query-api/main.ts'], {
      env: {
        ...process.env,
        PORT: '0',
        KAFKA_BROKERS: kafkaBrokers().join(','),
        SCHEMA_REGISTRY_URL: registry.url,
        QUERY_API_TOKENS: [...liveTokens, soakTokens.heavy].map((t) => `${t}:read`).join(','),
        QUERY_API_STORE: 'memory',
        STATE_DIR: dir,
        INSTANCE_ID: uniqueName('qa-soak'),
        QUERY_API_TOPIC_STATS_1M: topics.stats1m,
        QUERY_API_TOPIC_STATS_5M: topics.stats5m,
        QUERY_API_TOPIC_SESSIONS: topics.sessions,
        TRAFFIC_APPLICATION_ID: uniqueName('soak-app'),
        LOG_LEVEL: 'warn'
      },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    const streams: Array<{ close: () => void }> = []
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout?.setEncoding('utf8').on('data', (c: string) => {
          out += c
          const m = /listening on (http:\/\/\S+)/.exec(out)
          if (m?.[1] !== undefined) resolve(m[1])
        })
        child.once('exit', (code) => reject(new Error(`the query API exited with ${String(code)}: ${out}`)))
      })
      const pid = child.pid as number
      await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, 30_000, 'the soak instance ready')
      // Warm up every path once, then take the baseline.
      const sevenDays = (n: number): string =>
        `${url}/trpc/${Array.from({ length: n }, () => 'traffic.series').join(',')}?batch=1&input=${encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), { from: T0 - 6 * DAY, to: T0 + DAY }]))))}`
      // The largest request the defaults admit (2 x 10,080 points, ~2.6 MB), 20 of them (past the
      // 20,160 points of a request) and the issue's 13 KB batch of 150 (past the 20 calls of a batch).
      const heavyBatch = sevenDays(2)
      const overPoints = sevenDays(20)
      const oversized = sevenDays(150)
      const warm = await fetch(heavyBatch, { headers: { authorization: `Bearer ${soakTokens.heavy}` } })
      expect(warm.status).toBe(200)
      await warm.arrayBuffer()
      expect((await fetch(overPoints, { headers: { authorization: `Bearer ${soakTokens.heavy}` } })).status).toBe(400)
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const baseline = rssOf(pid)

      // /livez every 100 ms throughout, each on a fresh connection.
      let livezMaxMs = 0
      let livezFailures = 0
      let livezCount = 0
      let probing = true
      const probe = (async () => {
        while (probing) {
          const started = performance.now()
          try {
            const res = await get(`${url}/livez`)
            if (res.status !== 200) livezFailures++
          } catch {
            livezFailures++
          }
          livezCount++
          livezMaxMs = Math.max(livezMaxMs, performance.now() - started)
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      })()
      let peak = baseline
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssOf(pid))
      }, 100)

      // 300 SSE clients.
      const liveUrl = `${url}/trpc/traffic.live?input=${encodeURIComponent(JSON.stringify({ sensorId: 'all' }))}`
      const opened = await Promise.all(Array.from({ length: 300 }, (_, i) => openStream(liveUrl, { authorization: `Bearer ${liveTokens[i % 6] ?? ''}` })))
      streams.push(...opened)
      const accepted = opened.filter((s) => s.res.statusCode === 200).length

      // Load from autocannon in its own process, 8 connections per target: the largest admitted
      // request (then refused by the token's rate and concurrency limits) and the two oversized ones.
      const autocannon = join(createRequire(import.meta.url).resolve('autocannon/package.json'), '..', 'autocannon.js')
      const load = (target: string): Promise<{ statuses: Record<string, number> }> =>
        new Promise((resolve, reject) => {
          const p = spawn(process.execPath, [autocannon, '-c', '8', '-d', '8', '-j', '-H', `authorization=Bearer ${soakTokens.heavy}`, target], {
            stdio: ['ignore', 'pipe', 'ignore']
          })
          let out = ''
          p.stdout.setEncoding('utf8').on('data', (c: string) => {
            out += c
          })
          p.once('exit', (code) => {
            if (code !== 0) reject(new Error(`autocannon exited with ${String(code)}`))
            else {
              const r = JSON.parse(out) as {
                '1xx': number
                '2xx': number
                '3xx': number
                '4xx': number
                '5xx': number
                non2xx: number
                errors: number
                requests: { total: number }
              }
              resolve({ statuses: { '2xx': r['2xx'], '4xx': r['4xx'], '5xx': r['5xx'], errors: r.errors, total: r.requests.total } })
            }
          })
        })
      const [heavy, over, huge] = await Promise.all([load(heavyBatch), load(overPoints), load(oversized)])
      const peakDuringLoad = peak
      for (const s of streams.splice(0)) s.close()
      // The instance lets go of what the load held: give it time and collections.
      let after = rssOf(pid)
      await eventually(
        () => {
          after = rssOf(pid)
          return after < baseline + 150 * MiB
        },
        20_000,
        'RSS back near the baseline'
      ).catch(() => undefined)
      probing = false
      await probe
      clearInterval(sampler)
      console.log(
        [
          `soak: ${accepted}/300 SSE streams accepted; 2 x 7-day batches ${JSON.stringify(heavy.statuses)}; 20 x 7-day ${JSON.stringify(over.statuses)}; 150-call batches ${JSON.stringify(huge.statuses)}`,
          `soak: RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peakDuringLoad / MiB).toFixed(0)} MiB, after ${(after / MiB).toFixed(0)} MiB`,
          `soak: /livez ${livezCount} probes, max latency ${livezMaxMs.toFixed(0)} ms, failures ${livezFailures}`
        ].join('\n')
      )
      expect(accepted).toBe(300)
      expect(heavy.statuses['5xx']).toBe(0)
      expect(heavy.statuses['2xx']).toBeGreaterThan(0)
      expect(over.statuses['5xx']).toBe(0)
      expect(over.statuses['2xx']).toBe(0)
      expect(huge.statuses['5xx']).toBe(0)
      expect(huge.statuses['2xx']).toBe(0)
      expect(livezFailures).toBe(0)
      expect(after).toBeLessThan(baseline + 150 * MiB)
    } finally {
      for (const s of streams) s.close()
      child.kill('SIGTERM')
      await new Promise((resolve) => {
        if (child.exitCode !== null) resolve(undefined)
        else child.once('exit', resolve)
      })
    }
  })
})
