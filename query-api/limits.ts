/**
 * Admission limits of the HTTP edge (server.ts): a token bucket of calls per token, counters of
 * requests in flight and live subscriptions per token and in total, and a count of failed
 * authentications per client address. All in memory, per instance: a load balancer in front of
 * several instances multiplies them.
 *
 * Why not a library: the tRPC standalone adapter has no middleware chain to plug an Express/Fastify
 * limiter into, the limits are keyed by the token's label (known only after authentication at the
 * edge), and what is needed is a few counters and one bucket; a dependency (rate-limiter-flexible)
 * would bring stores and options this single-process edge does not use.
 */

/** The limits of one query server; every field is validated by config.ts (`limits.*`). */
export interface ServerLimits {
  /** Most calls in one tRPC batch (`?batch=1`); more: 400. */
  readonly maxBatchCalls: number
  /** Most points one series call (`traffic.series`, `commerce.sales`) may return; more: 400. */
  readonly maxSeriesPoints: number
  /**
   * Most series points one request may ask for over all its calls (estimated at the edge from the
   * inputs, before anything is computed); more: 400. Bounds the work and memory of one request.
   */
  readonly maxRequestPoints: number
  /** Largest tRPC response body, bytes; larger: 413 with a JSON error instead (never a partial body). */
  readonly maxResponseBytes: number
  /** Most tRPC queries of one token in flight at once; more: 429. */
  readonly tokenConcurrency: number
  /**
   * Sustained calls per second of one token; past the burst: 429. A request costs its number of
   * calls plus one per `POINTS_PER_CALL` series points it asks for (a 7-day series costs 8).
   */
  readonly tokenRatePerSecond: number
  /** Calls one token may make at once before the rate applies (bucket size). */
  readonly tokenRateBurst: number
  /** Live (SSE) subscriptions of one token; more: 429. */
  readonly maxSubscriptionsPerToken: number
  /** Live (SSE) subscriptions of the instance; more: 503. */
  readonly maxSubscriptions: number
  /** Failed authentications (unknown token, malformed header) per client address and minute; past it: 429 for a minute. */
  readonly authFailuresPerMinute: number
  /** Time a client has to send a request's headers, ms (`server.headersTimeout`). */
  readonly headersTimeoutMs: number
  /** Time a client has to send a whole request, ms (`server.requestTimeout`). */
  readonly requestTimeoutMs: number
  /** How long an idle keep-alive connection is kept after a response, ms (`server.keepAliveTimeout`). */
  readonly keepAliveTimeoutMs: number
  /** A socket that neither sends nor receives anything this long is closed, ms (`server.timeout`); SSE streams ping more often. */
  readonly idleTimeoutMs: number
}

/** Defaults of `ServerLimits`. 10,080 points = 7 days at 1 minute. */
export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  maxBatchCalls: 20,
  maxSeriesPoints: 10_080,
  maxRequestPoints: 20_160,
  maxResponseBytes: 16 * 1024 * 1024,
  tokenConcurrency: 8,
  tokenRatePerSecond: 50,
  tokenRateBurst: 200,
  maxSubscriptionsPerToken: 50,
  maxSubscriptions: 1000,
  authFailuresPerMinute: 20,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000
}

/** Series points that cost as much as one more call in the token bucket: a day of minutes. */
export const POINTS_PER_CALL = 1440

const MINUTE_MS = 60_000

/** An epoch-ms the input schemas accept (inputs.ts), else undefined: the call is refused before it computes anything. */
function epochMs(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= 8.64e15 ? value : undefined
}

/**
 * The number of points a call of `path` with `input` would return (both series have one point per
 * minute in `[from, to)`, commerce.sales defaulting to the 6 hours up to `nowMs`, the clock the
 * procedures use), 0 for any other
 * procedure or an input the procedure will refuse anyway. An estimate made before the call runs.
 */
export function seriesPointsOf(path: string, input: unknown, nowMs: number): number {
  if (typeof input !== 'object' || input === null) return 0
  const { from, to } = input as { from?: unknown; to?: unknown }
  let f = epochMs(from)
  let t = epochMs(to)
  if (path === 'commerce.sales') {
    t ??= Math.floor(nowMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS
    f ??= t - 6 * 60 * MINUTE_MS
  } else if (path !== 'traffic.series') return 0
  if (f === undefined || t === undefined || t <= f) return 0
  return Math.ceil(t / MINUTE_MS) - Math.ceil(f / MINUTE_MS)
}

/**
 * Token buckets by key: `burst` calls at once, refilled at `ratePerSecond`. Keys are token labels,
 * so the map holds at most one bucket per configured token.
 */
export class TokenBuckets {
  readonly #rate: number
  readonly #burst: number
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>()

  constructor(ratePerSecond: number, burst: number) {
    this.#rate = ratePerSecond
    this.#burst = burst
  }

  /** Takes `cost` calls from `key`'s bucket: 0 when allowed (and taken), else the ms until they would be (at least 1). */
  take(key: string, cost: number, nowMs: number): number {
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, atMs: nowMs }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((nowMs - bucket.atMs) / 1000) * this.#rate)
    bucket.atMs = nowMs
    this.#buckets.set(key, bucket)
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost
      return 0
    }
    // A cost past the burst never passes (config.ts keeps the burst at least one full batch).
    return Math.max(1, Math.ceil(((Math.min(cost, this.#burst) - bucket.tokens) / this.#rate) * 1000))
  }
}

/** Counts what is open per key and in total (requests in flight, live subscriptions). */
export class OpenCounter {
  readonly #byKey = new Map<string, number>()
  #total = 0

  get total(): number {
    return this.#total
  }

  count(key: string): number {
    return this.#byKey.get(key) ?? 0
  }

  /** Counts one more for `key`; the returned function releases it (only once). */
  acquire(key: string): () => void {
    this.#byKey.set(key, this.count(key) + 1)
    this.#total++
    let released = false
    return () => {
      if (released) return
      released = true
      this.#total--
      const left = this.count(key) - 1
      if (left <= 0) this.#byKey.delete(key)
      else this.#byKey.set(key, left)
    }
  }
}

/**
 * Failed authentications per client address in fixed one-minute windows. An address past the
 * limit is refused until its window ends. Old windows are swept when the map grows, so a scan from
 * many addresses cannot grow it without bound between sweeps.
 */
export class FailureCounter {
  static readonly WINDOW_MS = 60_000
  readonly #max: number
  readonly #byAddress = new Map<string, { count: number; windowStartMs: number }>()

  constructor(maxPerMinute: number) {
    this.#max = maxPerMinute
  }

  #current(address: string, nowMs: number): { count: number; windowStartMs: number } | undefined {
    const entry = this.#byAddress.get(address)
    if (entry === undefined || nowMs - entry.windowStartMs >= FailureCounter.WINDOW_MS) return undefined
    return entry
  }

  /** Counts one failure of `address`. */
  record(address: string, nowMs: number): void {
    const entry = this.#current(address, nowMs)
    if (entry !== undefined) entry.count++
    else this.#byAddress.set(address, { count: 1, windowStartMs: nowMs })
    if (this.#byAddress.size > 10_000) {
      for (const [a, e] of this.#byAddress) if (nowMs - e.windowStartMs >= FailureCounter.WINDOW_MS) this.#byAddress.delete(a)
    }
  }

  /** 0 when `address` may try, else the ms until its window ends. */
  blockedForMs(address: string, nowMs: number): number {
    const entry = this.#current(address, nowMs)
    if (entry === undefined || entry.count < this.#max) return 0
    return entry.windowStartMs + FailureCounter.WINDOW_MS - nowMs
  }
}
