import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { QueryApiError } from './errors.ts'
import { SessionIndex, type SessionQuery, type TravelerSessionView } from './session-index.ts'
import { openQueryStore, type StoreKindName } from './store.ts'
import type { TravelerType } from '../schemas/index.ts'
import type { KeyValueStore } from '../state/index.ts'

const T0 = 1_763_726_400_000
const types: TravelerType[] = ['CAR', 'BUS', 'PEDESTRIAN']

function session(sensorId: string, travelerId: string, firstSeen: number, travelerType: TravelerType = 'CAR'): TravelerSessionView {
  return { sensorId, travelerId, travelerType, firstSeen, lastSeen: firstSeen + 5_000, observations: 5, distanceM: 40, speedMax: 9, speedMean: 8 }
}

const opened: Array<{ store: KeyValueStore<Buffer, Buffer>; dir: string }> = []
afterEach(async () => {
  for (const { store, dir } of opened.splice(0)) {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
})

async function index(kind: StoreKindName, options?: { maxScanEntries?: number }): Promise<SessionIndex> {
  const dir = await mkdtemp(join(tmpdir(), 'query-api-sessions-'))
  const store = await openQueryStore(kind, dir)
  opened.push({ store, dir })
  return new SessionIndex(store, options)
}

function readAll(ix: SessionIndex, query: Omit<SessionQuery, 'cursor'>): { items: TravelerSessionView[]; pages: number } {
  const items: TravelerSessionView[] = []
  let cursor: string | undefined
  let pages = 0
  do {
    const page = ix.page({ ...query, cursor })
    pages++
    expect(page.items.length).toBeLessThanOrEqual(query.limit)
    items.push(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined && pages < 1000)
  return { items, pages }
}

describe.each(['memory', 'rocksdb'] as const)('SessionIndex over a %s store', (kind) => {
  it('pages through the sessions newest first, each exactly once, for one sensor and for all', async () => {
    const ix = await index(kind)
    const all: TravelerSessionView[] = []
    for (let i = 0; i < 57; i++) {
      const s = session(`s-${i % 3}`, `t-${i % 7}`, T0 + Math.floor(i / 2) * 1000, types[i % 3])
      all.push(s)
    }
    ix.apply(all.map((s) => ({ key: { sensorId: s.sensorId, travelerId: s.travelerId, sessionStart: s.firstSeen }, value: s })))
    const newestFirst = (a: TravelerSessionView, b: TravelerSessionView): number =>
      b.firstSeen - a.firstSeen || (a.sensorId < b.sensorId ? -1 : a.sensorId > b.sensorId ? 1 : 0) || (a.travelerId < b.travelerId ? -1 : 1)

    const everything = readAll(ix, { sensorId: 'all', travelerType: 'all', fromMs: T0, toMs: T0 + 60_000, limit: 10 })
    expect(everything.items).toEqual([...all].sort(newestFirst))
    expect(everything.pages).toBe(6)

    const s1 = readAll(ix, { sensorId: 's-1', travelerType: 'all', fromMs: T0, toMs: T0 + 60_000, limit: 4 })
    expect(s1.items).toEqual(all.filter((s) => s.sensorId === 's-1').sort(newestFirst))

    const buses = readAll(ix, { sensorId: 'all', travelerType: 'BUS', fromMs: T0 + 5_000, toMs: T0 + 20_000, limit: 3 })
    expect(buses.items).toEqual(all.filter((s) => s.travelerType === 'BUS' && s.firstSeen >= T0 + 5_000 && s.firstSeen < T0 + 20_000).sort(newestFirst))
  })

  it('keeps only the latest value per key and deletes on a tombstone', async () => {
    const ix = await index(kind)
    const key = { sensorId: 's-1', travelerId: 't-1', sessionStart: T0 }
    ix.apply([
      { key, value: session('s-1', 't-1', T0) },
      { key, value: { ...session('s-1', 't-1', T0), observations: 9 } }
    ])
    ix.apply([
      { key: { ...key, travelerId: 't-2' }, value: session('s-1', 't-2', T0) },
      { key: { ...key, travelerId: 't-2' }, value: null },
      { key: { ...key, travelerId: 't-3' }, value: null }
    ])
    expect(ix.size).toBe(1)
    const page = ix.page({ sensorId: 's-1', travelerType: 'all', fromMs: T0, toMs: T0 + 1, limit: 10 })
    expect(page.items.map((s) => s.observations)).toEqual([9])
    ix.apply([{ key, value: null }])
    expect(ix.size).toBe(0)
    expect(ix.page({ sensorId: 's-1', travelerType: 'all', fromMs: T0, toMs: T0 + 1, limit: 10 }).items).toEqual([])
    expect(ix.page({ sensorId: 'all', travelerType: 'all', fromMs: T0, toMs: T0 + 1, limit: 10 }).items).toEqual([])
  })

  it('deletes the sessions that started before a cutoff from both layouts', async () => {
    const ix = await index(kind)
    const sessions = Array.from({ length: 10 }, (_, i) => session(`s-${i % 2}`, `t-${i}`, T0 + i * 1000))
    ix.apply(sessions.map((s) => ({ key: { sensorId: s.sensorId, travelerId: s.travelerId, sessionStart: s.firstSeen }, value: s })))
    expect(ix.deleteStartedBefore(T0 + 4000)).toBe(4)
    const left = ix.page({ sensorId: 'all', travelerType: 'all', fromMs: 0, toMs: T0 + 60_000, limit: 100 }).items
    expect(left.map((s) => s.travelerId)).toEqual(['t-9', 't-8', 't-7', 't-6', 't-5', 't-4'])
    const s0 = ix.page({ sensorId: 's-0', travelerType: 'all', fromMs: 0, toMs: T0 + 60_000, limit: 100 }).items
    expect(s0.map((s) => s.travelerId)).toEqual(['t-8', 't-6', 't-4'])
    expect(ix.approximateEntries()).toBe(12)
    expect(ix.size).toBe(6)
  })

  it('ends a page early at the scan limit with a cursor that resumes after the last entry read', async () => {
    const ix = await index(kind, { maxScanEntries: 5 })
    const sessions = Array.from({ length: 20 }, (_, i) => session('s-1', `t-${String(i).padStart(2, '0')}`, T0 + i * 1000, i === 2 || i === 17 ? 'BUS' : 'CAR'))
    ix.apply(sessions.map((s) => ({ key: { sensorId: 's-1', travelerId: s.travelerId, sessionStart: s.firstSeen }, value: s })))
    const { items, pages } = readAll(ix, { sensorId: 's-1', travelerType: 'BUS', fromMs: T0, toMs: T0 + 60_000, limit: 10 })
    expect(items.map((s) => s.travelerId)).toEqual(['t-17', 't-02'])
    expect(pages).toBe(4)
  })
})

describe('SessionIndex cursors', () => {
  it('refuses garbage, a tampered key and a cursor of another query as BAD_CURSOR', async () => {
    const ix = await index('memory')
    for (let i = 0; i < 5; i++) ix.apply([{ key: { sensorId: 's-1', travelerId: `t-${i}`, sessionStart: T0 + i }, value: session('s-1', `t-${i}`, T0 + i) }])
    const query = { sensorId: 's-1', travelerType: 'all' as const, fromMs: T0, toMs: T0 + 10, limit: 2 }
    const cursor = ix.page(query).nextCursor
    expect(cursor).toBeTypeOf('string')
    const bad = (c: string, q: SessionQuery = { ...query, cursor: c }): unknown => {
      try {
        ix.page(q)
      } catch (err) {
        return err
      }
      return undefined
    }
    for (const c of ['', '!!!', 'e30', Buffer.from('{"v":2}').toString('base64url'), Buffer.from('[1,2]').toString('base64url')]) {
      expect(bad(c)).toBeInstanceOf(QueryApiError)
      expect((bad(c) as QueryApiError).code).toBe('QUERY_BAD_CURSOR')
    }
    const other = bad(cursor as string, { ...query, fromMs: T0 + 1, cursor: cursor as string }) as QueryApiError
    expect(other.code).toBe('QUERY_BAD_CURSOR')
    expect(other.message).toMatch(/different query/)
    const decoded = JSON.parse(Buffer.from(cursor as string, 'base64url').toString()) as { k: string }
    const outside = Buffer.from(JSON.stringify({ ...decoded, k: Buffer.from([1, 0x7a]).toString('base64url') })).toString('base64url')
    expect((bad(outside) as QueryApiError).message).toMatch(/outside the range/)
  })
})
