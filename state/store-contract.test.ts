/**
 * One contract for every store stack: in-memory and RocksDB inner stores, each with and without the
 * record cache (and with a cache small enough to evict constantly). Logging is on everywhere.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { stringSerde, jsonSerde } from '../schemas/index.ts'
import { StoreNotOpenError } from './errors.ts'
import { Stores } from './stores.ts'
import { recordingContext, tempDir, type RecordingContext } from './test-support.ts'
import type { KeyValueIterator, KeyValueStore, SessionStore, WindowStore, Windowed } from './types.ts'

interface Variant {
  label: string
  inMemory: boolean
  caching: boolean
  cacheMaxBytes: number
}

const variants: Variant[] = [
  { label: 'in-memory', inMemory: true, caching: false, cacheMaxBytes: 0 },
  { label: 'in-memory + cache', inMemory: true, caching: true, cacheMaxBytes: 1 << 20 },
  { label: 'RocksDB', inMemory: false, caching: false, cacheMaxBytes: 0 },
  { label: 'RocksDB + cache', inMemory: false, caching: true, cacheMaxBytes: 1 << 20 },
  { label: 'RocksDB + tiny evicting cache', inMemory: false, caching: true, cacheMaxBytes: 400 }
]

function drain<K, V>(it: KeyValueIterator<K, V>): Array<[K, V]> {
  const out: Array<[K, V]> = []
  for (const { key, value } of it) out.push([key, value])
  return out
}

function sessions<V>(it: KeyValueIterator<Windowed<string>, V>): Array<[string, number, number, V]> {
  return drain(it).map(([k, v]) => [k.key, k.window.startMs, k.window.endMs, v])
}

describe.each(variants)('store contract: $label', (variant) => {
  let folder: { dir: string; cleanup: () => void }
  let context: RecordingContext
  const opened: Array<{ close(): Promise<void> }> = []

  beforeEach(() => {
    folder = tempDir()
    context = recordingContext({ taskStateDir: folder.dir, cacheMaxBytes: variant.cacheMaxBytes })
  })

  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close()
    folder.cleanup()
  })

  async function kv(name = 'kv'): Promise<KeyValueStore<string, number>> {
    const supplier = variant.inMemory ? Stores.inMemoryKeyValueStore(name) : Stores.persistentKeyValueStore(name)
    const builder = Stores.keyValueStoreBuilder(supplier, stringSerde, jsonSerde<number>())
    if (variant.caching) builder.withCachingEnabled()
    const store = builder.build()
    await store.init(context)
    opened.push(store)
    return store
  }

  async function windows(options: { retentionMs?: number; retainDuplicates?: boolean } = {}): Promise<WindowStore<string, string>> {
    const o = { retentionMs: options.retentionMs ?? 100_000, windowSizeMs: 10, retainDuplicates: options.retainDuplicates ?? false, segmentIntervalMs: 100 }
    const supplier = variant.inMemory ? Stores.inMemoryWindowStore('win', o) : Stores.persistentWindowStore('win', o)
    const builder = Stores.windowStoreBuilder(supplier, stringSerde, stringSerde)
    if (variant.caching) builder.withCachingEnabled()
    const store = builder.build()
    await store.init(context)
    opened.push(store)
    return store
  }

  async function sessionStore(retentionMs = 100_000): Promise<SessionStore<string, string>> {
    const o = { retentionMs, segmentIntervalMs: 100 }
    const supplier = variant.inMemory ? Stores.inMemorySessionStore('ses', o) : Stores.persistentSessionStore('ses', o)
    const builder = Stores.sessionStoreBuilder(supplier, stringSerde, stringSerde)
    if (variant.caching) builder.withCachingEnabled()
    const store = builder.build()
    await store.init(context)
    opened.push(store)
    return store
  }

  describe('key-value store', () => {
    it('gets what was put, overwrites, and returns undefined for missing keys', async () => {
      const s = await kv()
      s.put('a', 1)
      s.put('b', 2)
      s.put('a', 3)
      expect(s.get('a')).toBe(3)
      expect(s.get('b')).toBe(2)
      expect(s.get('zz')).toBeUndefined()
      s.flush()
      expect(s.get('a')).toBe(3)
    })

    it('deletes with delete() returning the old value, and with put(null)', async () => {
      const s = await kv()
      s.put('a', 1)
      s.put('b', 2)
      s.flush()
      expect(s.delete('a')).toBe(1)
      expect(s.delete('missing')).toBeUndefined()
      s.put('b', null)
      expect(s.get('a')).toBeUndefined()
      expect(s.get('b')).toBeUndefined()
      s.flush()
      expect(s.get('a')).toBeUndefined()
      expect(drain(s.all())).toEqual([])
    })

    it('putIfAbsent writes only absent keys and returns the existing value', async () => {
      const s = await kv()
      expect(s.putIfAbsent('a', 1)).toBeUndefined()
      expect(s.putIfAbsent('a', 2)).toBe(1)
      expect(s.get('a')).toBe(1)
    })

    it('putAll applies puts and deletes in order', async () => {
      const s = await kv()
      s.putAll([
        { key: 'a', value: 1 },
        { key: 'b', value: 2 },
        { key: 'a', value: null },
        { key: 'c', value: 3 }
      ])
      expect(drain(s.all())).toEqual([
        ['b', 2],
        ['c', 3]
      ])
    })

    it('ranges are inclusive at both ends, open when a bound is omitted, in serialized key order', async () => {
      const s = await kv()
      for (const [i, k] of ['d', 'a', 'c', 'e', 'b', 'ba'].entries()) s.put(k, i)
      s.flush()
      s.put('bb', 10) // in the cache only, for the cached variants
      s.put('c', null) // deleted after the flush: must be hidden
      expect(drain(s.range('b', 'd')).map(([k]) => k)).toEqual(['b', 'ba', 'bb', 'd'])
      expect(drain(s.range(undefined, 'b')).map(([k]) => k)).toEqual(['a', 'b'])
      expect(drain(s.range('ba')).map(([k]) => k)).toEqual(['ba', 'bb', 'd', 'e'])
      expect(drain(s.all()).map(([k]) => k)).toEqual(['a', 'b', 'ba', 'bb', 'd', 'e'])
      expect(drain(s.range('x', 'z'))).toEqual([])
    })

    it('prefixScan returns exactly the keys starting with the serialized prefix', async () => {
      const s = await kv()
      for (const k of ['ab', 'abc', 'abd', 'aa', 'b', 'a', 'ab\u00ff']) s.put(k, k.length)
      s.flush()
      s.put('abz', 9)
      expect(drain(s.prefixScan('ab', stringSerde)).map(([k]) => k)).toEqual(['ab', 'abc', 'abd', 'abz', 'ab\u00ff'])
      expect(drain(s.prefixScan('q', stringSerde))).toEqual([])
    })

    it('keeps iterating correctly while entries are deleted during the scan', async () => {
      const s = await kv()
      for (let i = 0; i < 50; i++) s.put(`k${String(i).padStart(3, '0')}`, i)
      s.flush()
      const seen: string[] = []
      for (const { key } of s.all()) {
        seen.push(key)
        s.delete(key)
      }
      expect(seen).toHaveLength(50)
      expect(drain(s.all())).toEqual([])
    })

    it('stops an iterator left early by break and lets the store close', async () => {
      const s = await kv()
      for (let i = 0; i < 20; i++) s.put(`k${i}`, i)
      let n = 0
      for (const _ of s.all()) if (++n === 3) break
      expect(n).toBe(3)
    })

    it('counts entries approximately (exactly once flushed)', async () => {
      const s = await kv()
      for (let i = 0; i < 100; i++) s.put(`k${i}`, i)
      s.flush()
      expect(s.approximateNumEntries()).toBe(100)
    })

    it('keeps two stores of one task apart', async () => {
      const a = await kv('first')
      const b = await kv('second')
      a.put('x', 1)
      b.put('x', 2)
      a.flush()
      b.flush()
      expect(a.get('x')).toBe(1)
      expect(b.get('x')).toBe(2)
      expect(drain(a.all())).toEqual([['x', 1]])
    })

    it('keeps every entry readable while the cache budget shrinks to 0 and grows again', async () => {
      const s = await kv()
      for (let i = 0; i < 40; i++) s.put(`k${i}`, i)
      s.setCacheMaxBytes?.(0)
      const keys = Array.from({ length: 40 }, (_, i) => `k${i}`).sort()
      expect(drain(s.all())).toEqual(keys.map((k) => [k, Number(k.slice(1))]))
      s.setCacheMaxBytes?.(1 << 20)
      s.put('k0', 100)
      s.delete('k1')
      expect(s.get('k0')).toBe(100)
      s.flush()
      expect(s.get('k1')).toBeUndefined()
      expect(s.approximateNumEntries()).toBe(39)
    })

    it('refuses operations after close', async () => {
      const s = await kv()
      await s.close()
      expect(() => s.get('a')).toThrow(StoreNotOpenError)
    })
  })

  describe('window store', () => {
    it('fetches one window, and the windows of a key by start, inclusive, in start order', async () => {
      const s = await windows()
      s.put('a', 'a0', 0)
      s.put('a', 'a20', 20)
      s.put('a', 'a10', 10)
      s.put('a', 'a250', 250)
      s.put('b', 'b10', 10)
      s.put('ab', 'ab10', 10) // longer key sharing the prefix: must not leak into fetch('a')
      s.flush()
      s.put('a', 'a30', 30)
      expect(s.fetchWindow('a', 10)).toBe('a10')
      expect(s.fetchWindow('a', 11)).toBeUndefined()
      expect(drain(s.fetch('a', 10, 250))).toEqual([
        [10, 'a10'],
        [20, 'a20'],
        [30, 'a30'],
        [250, 'a250']
      ])
      expect(drain(s.fetch('a', 11, 19))).toEqual([])
      expect(drain(s.fetch('a', 0, 0))).toEqual([[0, 'a0']])
      expect(drain(s.fetch('zz', 0, 1000))).toEqual([])
    })

    it('fetchAll returns every key with start in range, with windows [start, start + size)', async () => {
      const s = await windows()
      s.put('a', 'a0', 0)
      s.put('b', 'b10', 10)
      s.put('a', 'a150', 150)
      s.flush()
      s.put('c', 'c20', 20)
      const got = drain(s.fetchAll(5, 150)).map(([k, v]) => [k.key, k.window.startMs, k.window.endMs, v])
      expect(got).toEqual([
        ['b', 10, 20, 'b10'],
        ['c', 20, 30, 'c20'],
        ['a', 150, 160, 'a150']
      ])
      expect(drain(s.all()).map(([k, v]) => `${k.key}@${k.window.startMs}=${v}`)).toEqual(['a@0=a0', 'b@10=b10', 'c@20=c20', 'a@150=a150'])
    })

    it('deletes a window with put(null)', async () => {
      const s = await windows()
      s.put('a', 'x', 10)
      s.flush()
      s.put('a', null, 10)
      expect(s.fetchWindow('a', 10)).toBeUndefined()
      expect(drain(s.fetch('a', 0, 100))).toEqual([])
      s.flush()
      expect(drain(s.all())).toEqual([])
    })

    it('drops windows older than retention, measured from the largest window start seen', async () => {
      const s = await windows({ retentionMs: 500 })
      s.put('a', 'old', 0)
      s.put('a', 'mid', 300)
      s.flush()
      s.put('a', 'new', 1000) // stream time 1000: live from 501
      expect(drain(s.fetch('a', 0, 2000))).toEqual([[1000, 'new']])
      expect(s.fetchWindow('a', 300)).toBeUndefined()
      s.put('a', 'late', 200) // already past retention: ignored
      s.flush()
      expect(drain(s.all()).map(([, v]) => v)).toEqual(['new'])
      expect(s.retentionMs).toBe(500)
    })

    it('keeps every put of a key and window when retaining duplicates, in put order', async () => {
      const s = await windows({ retainDuplicates: true })
      s.put('a', 'first', 10)
      s.put('a', 'second', 10)
      s.put('a', null, 10) // no meaning with duplicates
      s.put('a', 'other', 20)
      expect(drain(s.fetch('a', 0, 100))).toEqual([
        [10, 'first'],
        [10, 'second'],
        [20, 'other']
      ])
    })

    it('keeps every window readable while the cache budget shrinks to 0 and grows again', async () => {
      const s = await windows()
      for (let t = 0; t < 300; t += 10) s.put('a', `a${t}`, t)
      s.setCacheMaxBytes?.(0)
      s.setCacheMaxBytes?.(1 << 20)
      s.put('a', 'again', 0)
      const expected = Array.from({ length: 30 }, (_, i) => `${i * 10}:${i === 0 ? 'again' : `a${i * 10}`}`)
      expect(drain(s.fetch('a', 0, 290)).map(([t, v]) => `${t}:${v}`)).toEqual(expected)
    })

    it('rejects negative window starts with an error naming the store', async () => {
      const s = await windows()
      expect(() => s.put('a', 'x', -1)).toThrow(/window start of store "win"/)
    })
  })

  describe('session store', () => {
    it('finds sessions with end >= earliestEnd and start <= latestStart, ordered by end', async () => {
      const s = await sessionStore()
      s.put({ key: 'a', window: { startMs: 0, endMs: 10 } }, 's1')
      s.put({ key: 'a', window: { startMs: 100, endMs: 150 } }, 's3')
      s.flush()
      s.put({ key: 'a', window: { startMs: 20, endMs: 30 } }, 's2')
      s.put({ key: 'ab', window: { startMs: 20, endMs: 30 } }, 'other key')
      s.put({ key: 'b', window: { startMs: 25, endMs: 26 } }, 'b')
      expect(sessions(s.findSessions('a', 15, 120))).toEqual([
        ['a', 20, 30, 's2'],
        ['a', 100, 150, 's3']
      ])
      expect(sessions(s.findSessions('a', 10, 0))).toEqual([['a', 0, 10, 's1']])
      expect(sessions(s.findSessions('a', 31, 99))).toEqual([])
      expect(sessions(s.fetch('a')).map((x) => x[3])).toEqual(['s1', 's2', 's3'])
    })

    it('fetches one session exactly and removes sessions', async () => {
      const s = await sessionStore()
      s.put({ key: 'a', window: { startMs: 5, endMs: 9 } }, 'x')
      s.flush()
      expect(s.fetchSession('a', 5, 9)).toBe('x')
      expect(s.fetchSession('a', 5, 10)).toBeUndefined()
      s.remove({ key: 'a', window: { startMs: 5, endMs: 9 } })
      expect(s.fetchSession('a', 5, 9)).toBeUndefined()
      expect(sessions(s.fetch('a'))).toEqual([])
      s.flush()
      expect(sessions(s.fetch('a'))).toEqual([])
    })

    it('merging sessions (remove two, put one) leaves only the merged session', async () => {
      const s = await sessionStore()
      s.put({ key: 'u', window: { startMs: 0, endMs: 5 } }, 'one')
      s.put({ key: 'u', window: { startMs: 8, endMs: 12 } }, 'two')
      s.flush()
      for (const { key } of s.findSessions('u', 3, 9)) s.remove(key)
      s.put({ key: 'u', window: { startMs: 0, endMs: 12 } }, 'merged')
      expect(sessions(s.fetch('u'))).toEqual([['u', 0, 12, 'merged']])
      s.flush()
      expect(sessions(s.fetch('u'))).toEqual([['u', 0, 12, 'merged']])
    })

    it('drops sessions whose end is older than retention', async () => {
      const s = await sessionStore(500)
      s.put({ key: 'a', window: { startMs: 0, endMs: 100 } }, 'old')
      s.put({ key: 'a', window: { startMs: 900, endMs: 1000 } }, 'new')
      expect(sessions(s.fetch('a')).map((x) => x[3])).toEqual(['new'])
      s.put({ key: 'a', window: { startMs: 10, endMs: 20 } }, 'late')
      s.flush()
      expect(sessions(s.fetch('a')).map((x) => x[3])).toEqual(['new'])
      expect(s.fetchSession('a', 0, 100)).toBeUndefined()
    })

    it('keeps every session readable while the cache budget shrinks to 0 and grows again', async () => {
      const s = await sessionStore()
      for (let i = 0; i < 20; i++) s.put({ key: 'a', window: { startMs: i * 100, endMs: i * 100 + 50 } }, `s${i}`)
      s.setCacheMaxBytes?.(0)
      s.remove({ key: 'a', window: { startMs: 0, endMs: 50 } })
      s.setCacheMaxBytes?.(1 << 20)
      expect(sessions(s.fetch('a')).map((x) => x[3])).toEqual(Array.from({ length: 19 }, (_, i) => `s${i + 1}`))
    })

    it('rejects a session that ends before it starts', async () => {
      const s = await sessionStore()
      expect(() => s.put({ key: 'a', window: { startMs: 10, endMs: 5 } }, 'x')).toThrow(/ends \(5\) before it starts \(10\)/)
    })
  })
})
