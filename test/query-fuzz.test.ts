/**
 * Fuzzing the query API's edge: thousands of random requests (random JSON inputs, near-valid
 * inputs, wrong methods, garbage query strings, bodies and headers, huge numbers, batches, raw bytes
 * on the socket) must never get a 5xx, and the server must keep answering correctly afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createQueryClient, startQueryApi, type RunningQueryApi } from '../query-api/index.ts'
import type { RunningRegistry } from '../registry/index.ts'
import { kafkaBrokers, uniqueName } from './support/kafka.ts'
import { MIN, oneSensorHour, prng, recentStart } from './query-support.ts'

const T0 = recentStart()
const TOKENS = { read: 'fuzz-reader-0001', admin: 'fuzz-admin-00001', both: 'fuzz-both-000001' }
const SEED = Number(process.env.QUERY_FUZZ_SEED ?? Date.now() % 1_000_000)
const REQUESTS = 3000
const RAW_REQUESTS = 200

let registry: RunningRegistry
let api: RunningQueryApi
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'query-fuzz-'))
  const fixture = await oneSensorHour(kafkaBrokers(), 'query-fuzz', T0, 11)
  registry = fixture.registry
  const { topics } = fixture
  api = await startQueryApi(
    {
      port: 0,
      brokers: kafkaBrokers(),
      registryUrl: registry.url,
      store: 'memory',
      stateDir: dir,
      instanceId: uniqueName('qa-fuzz'),
      staticDir: null,
      topics,
      trafficApplicationId: uniqueName('fuzz-app'),
      maxRangeMs: 24 * 60 * MIN,
      // Thousands of requests from one address with one token, a seventh of them with bad credentials:
      // the admission limits (tested in query-limits.test.ts) are raised so that the fuzzer reaches the procedures.
      limits: { tokenRatePerSecond: 1_000_000, tokenRateBurst: 1_000_000, tokenConcurrency: 10_000, authFailuresPerMinute: 1_000_000 },
      tokens: [
        { token: TOKENS.read, scopes: ['read'] },
        { token: TOKENS.admin, scopes: ['admin'] },
        { token: TOKENS.both, scopes: ['read', 'admin'] }
      ]
    },
    { logger: pino({ level: 'fatal' }) }
  )
  await api.whenReady()
})

afterAll(async () => {
  await api?.close()
  await registry?.close()
  await rm(dir, { recursive: true, force: true })
})

const PROCEDURES = [
  'traffic.sensors',
  'traffic.series',
  'traffic.sessions',
  'traffic.live',
  'system.health',
  'system.topology',
  'system.lag',
  'system.instances'
]
const FIELDS = ['sensorId', 'travelerType', 'from', 'to', 'resolution', 'limit', 'cursor', 'filters', '__proto__', 'constructor']

/** Random requests from a seeded generator, so a failure can be replayed with QUERY_FUZZ_SEED. */
function fuzzer(seed: number) {
  const rand = prng(seed)
  const int = (n: number): number => Math.floor(rand() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T
  const numbers = [
    0,
    -1,
    1,
    0.5,
    -0,
    1e308,
    -1e308,
    2 ** 53,
    2 ** 64,
    2 ** 53 + 2,
    8.64e15,
    8.64e15 + 1,
    T0,
    T0 + 30 * MIN,
    T0 + 2 * 86_400_000,
    Number.MAX_SAFE_INTEGER,
    1e-300
  ]
  const strings = [
    '',
    'all',
    's-1',
    's-404',
    'CAR',
    'BUS',
    'SPACESHIP',
    '1m',
    '5m',
    '10m',
    'x'.repeat(5000),
    '\u0000',
    '😀🚗',
    '<script>',
    '../../etc/passwd',
    '%00',
    'null',
    '{"a":1}',
    'eyJ2IjoxfQ'
  ]
  const value = (depth: number): unknown => {
    switch (int(depth > 3 ? 4 : 7)) {
      case 0:
        return pick(numbers)
      case 1:
        return pick(strings)
      case 2:
        return rand() < 0.5
      case 3:
        return null
      case 4:
        return Array.from({ length: int(5) }, () => value(depth + 1))
      default:
        return Object.fromEntries(Array.from({ length: int(6) }, () => [rand() < 0.7 ? pick(FIELDS) : pick(strings).slice(0, 20), value(depth + 1)]))
    }
  }
  const nearValid = (): Record<string, unknown> => {
    const input: Record<string, unknown> = { sensorId: pick(['all', 's-1', 's-404']), from: T0 + int(120) * MIN - 60 * MIN, to: T0 + int(120) * MIN }
    if (rand() < 0.5) input.travelerType = pick(['all', 'CAR', 'BUS', 'UNKNOWN', 'car'])
    if (rand() < 0.5) input.resolution = pick(['1m', '5m', '15m'])
    if (rand() < 0.3) input.limit = pick([1, 50, 500, 501, 0, 2.5])
    if (rand() < 0.2) input.cursor = pick(strings)
    if (rand() < 0.3) input[pick(FIELDS)] = value(2)
    return input
  }
  const encodeGarbage = (): string =>
    pick([
      ...['%', '%ZZ', '%E0%A4%A', '{', '[[[[', 'input', '%7B%22from%22%3A', '\u00e9'.repeat(3)].map(encodeURI),
      // JSON that parses to numbers JSON.stringify cannot write: Infinity, -0, and 400 digits.
      encodeURIComponent(`{"sensorId":"all","from":1e999,"to":-1e999}`),
      encodeURIComponent(`{"sensorId":"s-1","from":-0,"to":${'9'.repeat(400)}}`),
      encodeURIComponent(`{"from":${T0},"to":${T0 + MIN},"sensorId":"all","sensorId":"s-1"}`)
    ])

  /** A well-formed call with an admin+read token, its input mutated in one random place half of the time. */
  const validCall = (): { method: string; path: string; headers: Record<string, string>; body: Buffer | undefined } => {
    const procedure = pick([
      'traffic.series',
      'traffic.series',
      'traffic.sessions',
      'traffic.sensors',
      'system.health',
      'system.topology',
      'system.lag',
      'system.instances'
    ])
    const from = T0 + int(90) * MIN - 30 * MIN
    const input: Record<string, unknown> = {
      sensorId: pick(['all', 's-1']),
      travelerType: pick(['all', 'CAR', 'BUS', 'TRUCK']),
      from,
      to: from + int(300) * MIN
    }
    if (procedure === 'traffic.series') input.resolution = pick(['1m', '5m'])
    if (procedure === 'traffic.sessions') input.limit = 1 + int(500)
    if (rand() < 0.5) {
      const field = pick([...Object.keys(input), pick(FIELDS)])
      input[field] = rand() < 0.5 ? value(1) : pick([...numbers, ...strings])
    }
    const withInput = procedure === 'traffic.series' || procedure === 'traffic.sessions'
    const query = withInput ? `?input=${encodeURIComponent(JSON.stringify(input))}` : ''
    return { method: 'GET', path: `/trpc/${procedure}${query}`, headers: { authorization: `Bearer ${TOKENS.both}` }, body: undefined }
  }

  return (): { method: string; path: string; headers: Record<string, string>; body: Buffer | undefined } => {
    if (rand() < 0.35) return validCall()
    const method = rand() < 0.7 ? 'GET' : pick(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PURGE'])
    let procedure =
      rand() < 0.85
        ? pick(PROCEDURES)
        : pick(['traffic', 'system', 'traffic.', '.', 'traffic.series.x', 'constructor', '__proto__.x', 'toString', 'x'.repeat(300)])
    const batch = rand() < 0.15
    if (batch) procedure = Array.from({ length: 1 + int(4) }, () => pick(PROCEDURES)).join(',')
    let query = ''
    const r = rand()
    if (r < 0.45) {
      const input = rand() < 0.6 ? nearValid() : value(0)
      const payload = batch ? Object.fromEntries(procedure.split(',').map((_, i) => [String(i), input])) : input
      query = `?${batch ? 'batch=1&' : ''}input=${encodeURIComponent(JSON.stringify(payload) ?? 'undefined')}`
    } else if (r < 0.6) {
      query = `?input=${encodeGarbage()}`
    } else if (r < 0.7) {
      query = `?batch=${pick(['1', 'true', '0', 'x'])}&input=${encodeURIComponent(JSON.stringify(value(0)) ?? '')}`
    } else if (r < 0.78) {
      query = `?connectionParams=${encodeURIComponent(JSON.stringify(value(1)) ?? '')}&input=${encodeURIComponent(JSON.stringify(nearValid()))}`
    } else if (r < 0.82) {
      query = `?input=${encodeURIComponent(JSON.stringify({ sensorId: 'all', from: 0, to: 'x'.repeat(int(6000)) }))}`
    }
    const prefix =
      rand() < 0.93 ? '/trpc/' : pick(['/', '/trpc', '//trpc/', '/TRPC/', '/readyz', '/livez', '/index.html', '/assets/../../x', '/%2e%2e/%2e%2e/etc/passwd'])
    const headers: Record<string, string> = {}
    const auth = int(7)
    if (auth === 1) headers.authorization = `Bearer ${TOKENS.read}`
    else if (auth === 2) headers.authorization = `Bearer ${TOKENS.admin}`
    else if (auth === 3) headers.authorization = `Bearer ${TOKENS.both}`
    else if (auth === 4)
      headers.authorization = pick(['Bearer', 'Bearer ', 'Basic abc', `bearer ${TOKENS.read}x`, `Bearer ${'a'.repeat(2000)}`, 'Bearer \u00ff'])
    if (rand() < 0.3)
      headers['content-type'] = pick([
        'application/json',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        'text/plain',
        'application/x-www-form-urlencoded',
        ';;;'
      ])
    if (rand() < 0.1) headers.accept = 'text/event-stream'
    let body: Buffer | undefined
    if (method !== 'GET' && method !== 'HEAD' && rand() < 0.7) {
      body =
        rand() < 0.5 ? Buffer.from(JSON.stringify(value(0)) ?? 'null') : Buffer.from(Array.from({ length: int(rand() < 0.1 ? 200_000 : 2000) }, () => int(256)))
    }
    return { method, path: `${prefix === '/trpc/' ? prefix + procedure : prefix}${query}`, headers, body }
  }
}

function send(base: URL, req: { method: string; path: string; headers: Record<string, string>; body: Buffer | undefined }): Promise<number> {
  return new Promise((resolve, reject) => {
    let r: ReturnType<typeof request>
    try {
      r = request({ host: base.hostname, port: base.port, method: req.method, path: req.path, headers: req.headers }, (res) => {
        // Only the status matters; a subscription's stream never ends, so drop it.
        resolve(res.statusCode ?? 0)
        res.destroy()
      })
    } catch (err) {
      // The client refuses some paths or headers before sending: not the server's doing.
      resolve(-1)
      void err
      return
    }
    r.setTimeout(30_000, () => r.destroy(new Error(`no answer in 30 s to ${req.method} ${req.path.slice(0, 200)}`)))
    r.on('error', (err: NodeJS.ErrnoException) => {
      // The server may close a connection it refuses to read (a huge body after answering 405/413).
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') resolve(0)
      else reject(err)
    })
    r.end(req.body)
  })
}

function sendRaw(base: URL, bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: base.hostname, port: Number(base.port) })
    let answer = ''
    socket.setTimeout(5000, () => socket.destroy())
    socket.on('connect', () => socket.end(bytes))
    socket.on('data', (d) => {
      answer += d.toString('latin1')
    })
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''))
    socket.on('error', () => undefined)
  })
}

describe('query API fuzzing', () => {
  it(`answers ${REQUESTS} random requests and ${RAW_REQUESTS} raw garbage writes without a 5xx and stays up (seed ${SEED})`, async () => {
    const base = new URL(api.url)
    const next = fuzzer(SEED)
    const statuses = new Map<number, number>()
    const failures: string[] = []
    let i = 0
    const worker = async (): Promise<void> => {
      while (i < REQUESTS) {
        i++
        const req = next()
        const status = await send(base, req)
        statuses.set(status, (statuses.get(status) ?? 0) + 1)
        if (status >= 500) failures.push(`${status} for ${req.method} ${req.path.slice(0, 300)} ${JSON.stringify(req.headers).slice(0, 200)}`)
      }
    }
    await Promise.all(Array.from({ length: 16 }, worker))

    const rand = prng(SEED + 1)
    for (let k = 0; k < RAW_REQUESTS; k++) {
      const garbage = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 3000) }, () => Math.floor(rand() * 256)))
      const framed =
        rand() < 0.5 ? Buffer.concat([Buffer.from(`GET /trpc/traffic.series?input=`), garbage, Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]) : garbage
      const line = await sendRaw(base, framed)
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(line)?.[1] ?? 0)
      if (status >= 500) failures.push(`${line} for raw bytes`)
    }

    expect(failures.slice(0, 10)).toEqual([])
    // The fuzzer reached the interesting answers, not only one kind of refusal.
    for (const status of [200, 400, 401, 403, 404, 405]) expect(statuses.get(status) ?? 0, `responses with status ${status}`).toBeGreaterThan(0)
    expect(statuses.get(200) ?? 0, 'successful answers').toBeGreaterThan(REQUESTS / 10)

    // Still up, and still right.
    const health = await fetch(`${api.url}/trpc/system.health`)
    expect(health.status).toBe(200)
    expect(((await health.json()) as { result: { data: unknown } }).result.data).toEqual({ status: 'ready', ready: true })
    const series = await createQueryClient({ url: api.url, token: TOKENS.read }).traffic.series.query({
      sensorId: 's-1',
      travelerType: 'CAR',
      from: T0,
      to: T0 + 60 * MIN
    })
    expect(series.points.filter((p) => p.observations > 0)).toHaveLength(60)
  })
})
