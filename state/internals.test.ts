/** Unit tests of the pieces under the stores: the sorted map, segments, key layouts, read-only views. */
import { describe, expect, it } from 'vitest'
import { stringSerde } from '../schemas/index.ts'
import { encodeSessionKey, encodeWindowKey, prefixEnd, readUInt64BE, sessionKeySchema, windowKeySchema, windowSequenceOf, writeUInt64BE } from './key-schema.ts'
import { MemoryKeyspace } from './keyspace.ts'
import { readOnlyKeyValueStore } from './read-only.ts'
import { RecordCache, type CacheEntry } from './record-cache.ts'
import { Segments } from './segments.ts'
import { SortedStringMap } from './sorted-string-map.ts'
import { Stores } from './stores.ts'
import { decodeSessionChangelogKey, decodeWindowChangelogKey, encodeSessionChangelogKey, encodeWindowChangelogKey, recordingContext } from './test-support.ts'
import { seededRandom } from '../test/support/random.ts'

describe('SortedStringMap', () => {
  it('matches a sorted reference under random inserts, deletes and range deletes', () => {
    const random = seededRandom(42)
    const map = new SortedStringMap<number>()
    const ref = new Map<string, number>()
    for (let op = 0; op < 20_000; op++) {
      const key = String.fromCharCode(...Array.from({ length: 1 + Math.floor(random() * 3) }, () => 97 + Math.floor(random() * 6)))
      const r = random()
      if (r < 0.6) {
        map.set(key, op)
        ref.set(key, op)
      } else if (r < 0.95) {
        expect(map.delete(key)).toBe(ref.delete(key))
      } else {
        const to = key + 'c'
        const removed = map.deleteRange(key, to)
        let n = 0
        for (const k of [...ref.keys()])
          if (k >= key && k < to) {
            ref.delete(k)
            n++
          }
        expect(removed).toBe(n)
      }
    }
    const keys: string[] = []
    const cursor = map.seek(undefined)
    for (let k = map.nextKey(cursor); k !== undefined; k = map.nextKey(cursor)) keys.push(k)
    expect(keys).toEqual([...ref.keys()].sort())
    expect(map.size).toBe(ref.size)
    for (const [k, v] of ref) expect(map.get(k)).toBe(v)
  })

  it('seeks to the first key at or after a bound and continues after concurrent inserts', () => {
    const map = new SortedStringMap<number>()
    for (let i = 0; i < 3000; i++) map.set(String(i).padStart(5, '0'), i)
    const cursor = map.seek('01500')
    expect(map.nextKey(cursor)).toBe('01500')
    map.set('01500a', -1) // inserted right after the cursor
    map.delete('01501')
    expect(map.nextKey(cursor)).toBe('01500a')
    expect(map.nextKey(cursor)).toBe('01502')
  })
})

describe('RecordCache.inKeyOrder', () => {
  const put = (cache: RecordCache, key: string) => cache.put(Buffer.from(key, 'latin1'), key, Buffer.alloc(4), true, 0)

  it('orders dirty entries by key both by walking the cache and by sorting them', () => {
    const cache = new RecordCache(1 << 20, () => {})
    const random = seededRandom(5)
    for (let i = 0; i < 500; i++) put(cache, `k${Math.floor(random() * 1e6)}`)
    const all = cache.takeDirty()
    const walked = cache.inKeyOrder(all)
    expect(walked.map((e) => e.skey)).toEqual(all.map((e) => e.skey).sort())
    // A few entries of a large cache are sorted rather than found by a walk.
    const few = all.slice(0, 5)
    expect(cache.inKeyOrder(few).map((e) => e.skey)).toEqual(few.map((e) => e.skey).sort())
    expect(few.every((e) => !e.ordering) && all.every((e) => !e.ordering)).toBe(true)
  })

  it('orders evicted entries, which are no longer in the cache, by sorting them', () => {
    let evicted: CacheEntry[] = []
    let ordered: CacheEntry[] = []
    const cache = new RecordCache(600, (dirty) => {
      evicted = dirty
      ordered = cache.inKeyOrder(dirty)
    })
    for (const key of ['m', 'c', 'x', 'a', 'q', 'b']) put(cache, key)
    cache.put(Buffer.from('z'), 'z', Buffer.alloc(400), true, 0)
    expect(evicted.length).toBeGreaterThan(1)
    expect(ordered.map((e) => e.skey)).toEqual(evicted.map((e) => e.skey).sort())
    expect(evicted.every((e) => !e.ordering)).toBe(true)
  })
})

describe('key layouts', () => {
  it('round-trip timestamps above 2^32 and keep byte order = time order', () => {
    const b = Buffer.alloc(8)
    writeUInt64BE(b, 1_700_000_000_123, 0)
    expect(readUInt64BE(b, 0)).toBe(1_700_000_000_123)
    const early = encodeWindowKey(5, Buffer.from('k'), 1_000, 0)
    const late = encodeWindowKey(5, Buffer.from('k'), 1_700_000_000_000, 0)
    expect(Buffer.compare(early, late)).toBe(-1)
  })

  it('decode the changelog keys they encode', () => {
    expect(decodeWindowChangelogKey(encodeWindowChangelogKey(Buffer.from('abc'), 60_000, 7))).toEqual({
      key: Buffer.from('abc'),
      windowStartMs: 60_000,
      seq: 7
    })
    expect(decodeSessionChangelogKey(encodeSessionChangelogKey(Buffer.from(''), 9, 3))).toEqual({ key: Buffer.from(''), endMs: 9, startMs: 3 })
    expect(() => decodeWindowChangelogKey(Buffer.from('short'))).toThrow(/at least 12 bytes/)
  })

  it('give changelog keys as the store keys without their segment id, and back', () => {
    const windowKey = encodeWindowKey(3, Buffer.from('abc'), 60_000, 7)
    expect(windowKeySchema.changelogKey(windowKey)).toEqual(encodeWindowChangelogKey(Buffer.from('abc'), 60_000, 7))
    expect(windowKeySchema.storeKey(3, encodeWindowChangelogKey(Buffer.from('abc'), 60_000, 7))).toEqual(windowKey)
    expect(windowSequenceOf(windowKey)).toBe(7)
    const sessionKey = encodeSessionKey(2, Buffer.from('u'), 90, 30)
    expect(sessionKeySchema.changelogKey(sessionKey)).toEqual(encodeSessionChangelogKey(Buffer.from('u'), 90, 30))
    expect(sessionKeySchema.storeKey(2, encodeSessionChangelogKey(Buffer.from('u'), 90, 30))).toEqual(sessionKey)
  })

  it('find the segment timestamp and the record key of a store key by its schema', () => {
    const windowKey = encodeWindowKey(3, Buffer.from('abc'), 1_700_000_000_000, 7)
    expect(windowKeySchema.segmentTimeMs(windowKey)).toBe(1_700_000_000_000)
    expect(windowKeySchema.recordKey(windowKey)).toEqual(Buffer.from('abc'))
    expect(windowKeySchema.hasRecordKey(windowKey, Buffer.from('abc'))).toBe(true)
    expect(windowKeySchema.hasRecordKey(windowKey, Buffer.from('ab'))).toBe(false)
    const sessionKey = encodeSessionKey(2, Buffer.from('u'), 90, 30)
    expect(sessionKeySchema.segmentTimeMs(sessionKey)).toBe(90)
    expect(sessionKeySchema.recordKey(sessionKey)).toEqual(Buffer.from('u'))
    expect(sessionKeySchema.changelogTimeMs(encodeSessionChangelogKey(Buffer.from('u'), 90, 30))).toBe(90)
    expect(() => windowKeySchema.changelogTimeMs(Buffer.from('short'))).toThrow(/a window changelog key needs at least 12 bytes/)
    expect(() => sessionKeySchema.changelogTimeMs(Buffer.alloc(15))).toThrow(/a session changelog key needs at least 16 bytes/)
  })

  it('bound the entries of one record key by segment timestamp, suffix bytes aside', () => {
    const [low, high] = windowKeySchema.suffixBounds(100, 200)
    const inside = [100, 150, 200].map((t) => windowKeySchema.changelogKey(encodeWindowKey(0, Buffer.alloc(0), t, 0xffff_ffff)))
    for (const suffix of inside) expect(Buffer.compare(low, suffix) <= 0 && Buffer.compare(suffix, high) <= 0).toBe(true)
    const outside = [99, 201].map((t) => windowKeySchema.changelogKey(encodeWindowKey(0, Buffer.alloc(0), t, 0)))
    for (const suffix of outside) expect(Buffer.compare(low, suffix) <= 0 && Buffer.compare(suffix, high) <= 0).toBe(false)
  })

  it('compute the end of a prefix range, none for all-0xff prefixes', () => {
    expect(prefixEnd(Buffer.from([1, 2, 0xff]))).toEqual(Buffer.from([1, 3]))
    expect(prefixEnd(Buffer.from([0xff, 0xff]))).toBeUndefined()
  })
})

describe('Segments', () => {
  it('drops whole expired segments with one range deletion each, never touching live ones', () => {
    const ks = new MemoryKeyspace()
    const deletes: Array<[number, number]> = []
    const original = ks.deleteRange.bind(ks)
    ks.deleteRange = (from, to) => {
      deletes.push([readUInt64BE(from, 0), readUInt64BE(to, 0)])
      original(from, to)
    }
    const segments = new Segments(100, 300)
    for (const t of [0, 50, 150, 250, 350]) {
      const id = segments.segmentForWrite(t, ks)
      ks.put(encodeWindowKey(id, Buffer.from('k'), t, 0), Buffer.from('v'))
    }
    expect(deletes).toEqual([]) // min live 51: segment 0 still holds live data
    const id = segments.segmentForWrite(520, ks) // min live 221: segments 0 and 1 go
    ks.put(encodeWindowKey(id, Buffer.from('k'), 520, 0), Buffer.from('v'))
    expect(deletes).toEqual([
      [0, 1],
      [1, 2]
    ])
    expect(ks.count()).toBe(3)
    expect(segments.segmentForWrite(100, ks)).toBe(-1)
    expect(segments.between(0, 10)).toEqual([2, 3, 5])
  })
})

describe('read-only views', () => {
  it('read through to the store and have no write methods', async () => {
    const store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('ro'), stringSerde, stringSerde).build()
    await store.init(recordingContext())
    store.put('a', '1')
    const view = readOnlyKeyValueStore(store)
    expect(view.get('a')).toBe('1')
    expect([...view.all()]).toEqual([{ key: 'a', value: '1' }])
    expect('put' in view).toBe(false)
    expect('delete' in view).toBe(false)
    await store.close()
  })
})

describe('Stores options', () => {
  it('name the bad option', () => {
    expect(() => Stores.persistentKeyValueStore('bad name')).toThrow(/store name must be/)
    expect(() => Stores.inMemoryWindowStore('w', { retentionMs: 10, windowSizeMs: 100 })).toThrow(
      /retentionMs \(10\) of window store "w" must be at least its windowSizeMs \(100\)/
    )
    expect(() => Stores.inMemorySessionStore('s', { retentionMs: -5 })).toThrow(/retentionMs of session store "s" must be a positive integer/)
    expect(() => Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('x'), {} as never, stringSerde)).toThrow(/keySerde of store "x"/)
  })

  it('builders default to logging on, caching off, and build in memory when asked', () => {
    const builder = Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore('p'), stringSerde, stringSerde)
    expect([builder.loggingEnabled, builder.cachingEnabled]).toEqual([true, false])
    expect(builder.build({ inMemory: true }).persistent).toBe(false)
    expect(builder.build().persistent).toBe(true)
    const w = Stores.windowStoreBuilder(
      Stores.persistentWindowStore('w', { retentionMs: 1000, windowSizeMs: 10 }),
      stringSerde,
      stringSerde
    ).withLoggingEnabled({ topicConfig: { 'min.insync.replicas': '1' } })
    expect(w.retentionMs).toBe(1000)
    expect(w.loggingConfig.topicConfig).toEqual({ 'min.insync.replicas': '1' })
  })
})
