/**
 * Admission limits of the HTTP edge (server.ts): a rate of calls per token and a count of failed
 * authentications per client address (both rate-limiter-flexible), and counters of requests in
 * flight and live subscriptions per token and in total. All in memory, per instance: a load
 * balancer in front of several instances multiplies them (rate-limiter-flexible's Redis or
 * Postgres limiters would share them; not wired).
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'

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
  /** Calls one token may make at once before the rate applies (the calls of one window of `tokenRateBurst / tokenRatePerSecond` s). */
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

/** Series points that cost as much as one more call in the token rate: a day of minutes. */
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
 * Calls per token (rate-limiter-flexible's in-memory limiter): `burst` calls in a fixed window of
 * `burst / ratePerSecond` seconds, so the sustained rate is `ratePerSecond` and a token may spend
 * its whole burst at once. A fixed window lets up to twice the burst through around a window's
 * edge; a token bucket would not, at the price of a hand-written limiter. Keys are token labels:
 * at most one entry per configured token.
 */
export class TokenRates {
  private readonly limiter: RateLimiterMemory

  constructor(ratePerSecond: number, burst: number) {
    this.limiter = new RateLimiterMemory({ keyPrefix: 'token-rate', points: burst, duration: Math.max(1, burst / ratePerSecond) })
  }

  /** Takes `cost` calls from `key`: 0 when allowed (and taken), else the ms until the window ends (at least 1). */
  async take(key: string, cost: number): Promise<number> {
    try {
      await this.limiter.consume(key, cost)
      return 0
    } catch (refused) {
      if (refused instanceof RateLimiterRes) return Math.max(1, refused.msBeforeNext)
      throw refused
    }
  }
}

/** Counts what is open per key and in total (requests in flight, live subscriptions). */
export class OpenCounter {
  private readonly byKey = new Map<string, number>()
  private total_ = 0

  get total(): number {
    return this.total_
  }

  count(key: string): number {
    return this.byKey.get(key) ?? 0
  }

  /** Counts one more for `key`; the returned function releases it (only once). */
  acquire(key: string): () => void {
    this.byKey.set(key, this.count(key) + 1)
    this.total_++
    let released = false
    return () => {
      if (released) return
      released = true
      this.total_--
      const left = this.count(key) - 1
      if (left <= 0) this.byKey.delete(key)
      else this.byKey.set(key, left)
    }
  }
}

/**
 * Failed authentications per client address in fixed one-minute windows (rate-limiter-flexible's
 * in-memory limiter, which expires old windows itself). An address past the limit is refused until
 * its window ends.
 */
export class FailureCounter {
  private readonly max: number
  private readonly limiter: RateLimiterMemory

  constructor(maxPerMinute: number) {
    this.max = maxPerMinute
    this.limiter = new RateLimiterMemory({ keyPrefix: 'auth-failures', points: maxPerMinute, duration: 60 })
  }

  /** Counts one failure of `address`. */
  async record(address: string): Promise<void> {
    await this.limiter.consume(address, 1).catch((refused: unknown) => {
      if (!(refused instanceof RateLimiterRes)) throw refused
    })
  }

  /** 0 when `address` may try, else the ms until its window ends. */
  async blockedForMs(address: string): Promise<number> {
    const state = await this.limiter.get(address)
    if (state === null || state.consumedPoints < this.max) return 0
    return Math.max(1, state.msBeforeNext)
  }
}
