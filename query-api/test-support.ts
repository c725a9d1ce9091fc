/**
 * Helpers for the query API's unit tests: a query server on a free port over in-memory indexes (no
 * Kafka), with an injected clock and readiness, and the commerce data to fill. Not part of the
 * public surface.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseApiTokens, TokenAuthenticator } from './auth.ts'
import type { CommerceChange } from './commerce-materializer.ts'
import type { CommerceData } from './commerce-queries.ts'
import type { HealthReport } from './health.ts'
import { createProductRest } from './product-rest.ts'
import { RatingsIndex } from './ratings-index.ts'
import { createAppRouter } from './router.ts'
import { SalesIndex } from './sales-index.ts'
import { SeriesIndex } from './series-index.ts'
import { createQueryServer, type QueryServer } from './server.ts'
import { SessionIndex } from './session-index.ts'
import { openQueryStore } from './store.ts'

/** Tokens of the test server: `read`, `admin` and both. */
export const TEST_TOKENS = { read: 'reader-token-0001', admin: 'admin-token-00001', both: 'both-token-000001' } as const

/** A running test server and what it reads. */
export interface TestQueryServer {
  readonly server: QueryServer
  readonly data: CommerceData
  /** The injected clock: set `clock.now` to move time. */
  readonly clock: { now: number }
  /** Whether the instance reports itself ready (REST answers 503 while false). */
  readonly readiness: { ready: boolean }
  /** Announces applied commerce changes to live subscribers (as the materializer does). */
  announce(changes: readonly CommerceChange[]): void
  /** Unexpected failures the server reported. */
  readonly internalErrors: unknown[]
  close(): Promise<void>
}

/** A health report of an instance with nothing materialized (`windows`: the count to report). */
export function testHealthReport(ready: boolean, windows = 0): HealthReport {
  return {
    status: ready ? 'ready' : 'catching-up',
    ready,
    instanceId: 'unit',
    startedAt: 0,
    uptimeMs: 1,
    progress: { fraction: ready ? 1 : 0, offsetsRead: 0, offsetsToRead: 0, partitions: [] },
    materialized: { windows, sessions: 0, sensors: 0, salesWindows: 0, products: 0, ratedProducts: 0, categories: 0 },
    records: {
      windowsWritten: 0,
      windowsDeleted: 0,
      sessionsWritten: 0,
      sessionsDeleted: 0,
      refused: 0,
      lastRefusal: null,
      read: 0,
      commerce: {
        salesWindowsWritten: 0,
        salesWindowsDeleted: 0,
        productRatingsWritten: 0,
        productRatingsDeleted: 0,
        categoryRatingsWritten: 0,
        categoryRatingsDeleted: 0
      }
    },
    kafka: { topics: [], lastError: null }
  }
}

/** Starts a query server (tRPC, REST, no static files) over empty in-memory indexes at clock `nowMs`. */
export async function startTestQueryServer(options: { nowMs: number; maxRangeMs?: number; liveMaxPending?: number }): Promise<TestQueryServer> {
  const dir = await mkdtemp(join(tmpdir(), 'query-api-test-'))
  const store = await openQueryStore('memory', dir)
  const data: CommerceData = { sales: new SalesIndex(), ratings: new RatingsIndex() }
  const clock = { now: options.nowMs }
  const readiness = { ready: true }
  const listeners = new Set<(changes: readonly CommerceChange[]) => void>()
  const internalErrors: unknown[] = []
  const authenticator = new TokenAuthenticator(parseApiTokens(`${TEST_TOKENS.read}:read,${TEST_TOKENS.admin}:admin,${TEST_TOKENS.both}:read+admin`))
  const now = (): number => clock.now
  const router = createAppRouter({
    instanceId: 'unit',
    maxRangeMs: options.maxRangeMs ?? 24 * 3_600_000,
    series: new SeriesIndex(),
    sessions: new SessionIndex(store),
    changes: { onWindowChanges: () => () => undefined },
    health: () => testHealthReport(readiness.ready),
    system: {
      lag: async () => ({ groupId: 'g', partitions: [], totalLag: 0, measuredAt: 1 }),
      instances: async () => ({ groupId: 'g', state: 'EMPTY', instances: [], unattachedReports: [], measuredAt: 1 }),
      topology: () => ({ applicationId: 'unit', subtopologies: [], globalStores: [], text: '' })
    },
    commerce: {
      data,
      changes: {
        onCommerceChanges: (listener) => {
          listeners.add(listener)
          return () => listeners.delete(listener)
        }
      }
    },
    now,
    ...(options.liveMaxPending === undefined ? {} : { liveMaxPending: options.liveMaxPending })
  })
  const server = await createQueryServer({
    router,
    authenticator,
    ready: () => readiness.ready,
    rest: createProductRest({ authenticator, data, now, ready: () => readiness.ready }),
    now,
    host: '127.0.0.1',
    port: 0,
    tls: null,
    staticDir: null,
    onInternalError: (error) => internalErrors.push(error)
  })
  return {
    server,
    data,
    clock,
    readiness,
    internalErrors,
    announce: (changes) => {
      for (const l of listeners) l(changes)
    },
    close: async () => {
      await server.close()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}
