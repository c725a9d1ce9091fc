import { afterEach, describe, expect, it } from 'vitest'
import { jsonSerde, longSerde, stringSerde } from '../schemas/index.ts'
import { Stores } from './stores.ts'
import { decodeSessionChangelogKey, decodeWindowChangelogKey, recordingContext, tempDir, type RecordingContext } from './test-support.ts'
import type { CacheFlushListener, CachedStateStore, Windowed } from './types.ts'

type Change<K, V> = Parameters<CacheFlushListener<K, V>>[0]

/** Deterministic pseudo-random numbers (xorshift32). */
function rng(seed: number): () => number {
  let x = seed
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 0x1_0000_0000
  }
}

const toClose: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const s of toClose.splice(0)) await s.close()
})

async function cachedCounter(context: RecordingContext, logging = true) {
  const builder = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('counts'), stringSerde, longSerde).withCachingEnabled()
  if (!logging) builder.withLoggingDisabled()
  const store = builder.build()
  await store.init(context)
  toClose.push(store)
  const changes: Array<Change<string, number>> = []
  expect(store.setFlushListener((c) => changes.push(c), true)).toBe(true)
  return { store, changes }
}

describe('caching key-value store', () => {
  it('turns many updates of a hot key into one changelog record and one emission per flush', async () => {
    const context = recordingContext()
    const { store, changes } = await cachedCounter(context)
    for (let i = 1; i <= 1000; i++) {
      context.setTimeMs(i)
      store.put('hot', i)
    }
    expect(context.logged).toHaveLength(0)
    expect(changes).toHaveLength(0)
    store.flush()
    expect(context.logged).toHaveLength(1)
    expect(context.logged[0]).toMatchObject({ storeName: 'counts', timestampMs: 1000 })
    expect(longSerde.deserialize('', context.logged[0]?.value as Buffer)).toBe(1000)
    expect(changes).toEqual([{ key: 'hot', newValue: 1000, oldValue: undefined, timestampMs: 1000 }])
  })

  it('reports the value of the previous flush as the old value', async () => {
    const context = recordingContext()
    const { store, changes } = await cachedCounter(context)
    store.put('k', 1)
    store.flush()
    store.put('k', 2)
    store.put('k', 3)
    store.flush()
    store.delete('k')
    store.flush()
    expect(changes.map((c) => [c.newValue, c.oldValue])).toEqual([
      [1, undefined],
      [3, 1],
      [undefined, 3]
    ])
    expect(context.logged.map((r) => (r.value === null ? null : longSerde.deserialize('', r.value)))).toEqual([1, 3, null])
  })

  it('does not report old values unless asked to', async () => {
    const context = recordingContext()
    const store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('s'), stringSerde, longSerde).withCachingEnabled().build()
    await store.init(context)
    toClose.push(store)
    const changes: Array<Change<string, number>> = []
    store.setFlushListener((c) => changes.push(c), false)
    store.put('k', 1)
    store.flush()
    store.put('k', 2)
    store.flush()
    expect(changes.map((c) => c.oldValue)).toEqual([undefined, undefined])
  })

  it('flushes dirty entries in the order they were first written', async () => {
    const context = recordingContext()
    const { store, changes } = await cachedCounter(context)
    store.put('b', 1)
    store.put('a', 1)
    store.put('b', 2)
    store.put('c', 1)
    store.flush()
    expect(changes.map((c) => c.key)).toEqual(['b', 'a', 'c'])
  })

  it('writes a flush to the store below in key order while the listener hears write order', async () => {
    const context = recordingContext()
    const { store, changes } = await cachedCounter(context)
    store.put('b', 1)
    store.put('a', 1)
    store.put('c', 1)
    store.flush()
    expect(changes.map((c) => c.key)).toEqual(['b', 'a', 'c'])
    expect(context.logged.map((r) => r.key.toString())).toEqual(['a', 'b', 'c'])
  })

  it('keeps every key of large and small flushes into RocksDB, whether the batch is ordered by a walk or a sort', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const context = recordingContext({ taskStateDir: dir })
      const build = () => Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore('counts'), stringSerde, longSerde)
      const store = build().withCachingEnabled().build()
      await store.init(context)
      const changes: Array<Change<string, number>> = []
      store.setFlushListener((c) => changes.push(c), true)
      const random = rng(11)
      const expected = new Map<string, number>()
      const keys = Array.from({ length: 3000 }, (_, i) => `k-${Math.floor(random() * 1e9)}-${i}`)
      // Flush 1 writes every entry of the cache (ordered by walking it); flush 2 a few (sorted).
      for (const [round, count] of [
        [1, keys.length],
        [2, 40]
      ] as const) {
        const written = new Set<string>()
        for (let i = 0; i < count; i++) {
          const key = keys[Math.floor(random() * keys.length)] as string
          store.put(key, (store.get(key) ?? 0) + round)
          expected.set(key, store.get(key) as number)
          written.add(key)
        }
        context.logged.length = 0
        changes.length = 0
        store.flush()
        const loggedKeys = context.logged.map((r) => r.key.toString('latin1'))
        expect(loggedKeys).toEqual([...written].sort())
        expect(changes.map((c) => c.key)).toEqual([...written])
        for (const c of changes) expect(c.newValue).toBe(expected.get(c.key))
      }
      await store.close()
      const plain = build().withLoggingDisabled().build()
      await plain.init(recordingContext({ taskStateDir: dir }))
      const stored = new Map<string, number>()
      for (const { key, value } of plain.all()) stored.set(key, value)
      await plain.close()
      expect(stored).toEqual(expected)
    } finally {
      cleanup()
    }
  })

  it('evicts the least recently used entries through the listener when over its byte budget', async () => {
    const context = recordingContext({ cacheMaxBytes: 2000 })
    const { store, changes } = await cachedCounter(context)
    for (let i = 0; i < 100; i++) store.put(`key-${i}`, i)
    // ~120 bytes per entry: about 16 fit, the rest were evicted (written and emitted) already.
    expect(changes.length).toBeGreaterThan(70)
    expect(changes[0]?.key).toBe('key-0')
    expect(context.logged.length).toBe(changes.length)
    store.flush()
    expect(changes).toHaveLength(100)
    for (let i = 0; i < 100; i++) expect(store.get(`key-${i}`)).toBe(i)
  })

  it('writes through and emits every update when the cache budget is 0', async () => {
    const context = recordingContext({ cacheMaxBytes: 0 })
    const { store, changes } = await cachedCounter(context)
    store.put('k', 1)
    store.put('k', 2)
    expect(changes.map((c) => [c.newValue, c.oldValue])).toEqual([
      [1, undefined],
      [2, 1]
    ])
    expect(context.logged).toHaveLength(2)
  })

  it('answers reads from the cache before the flush, and from the store after', async () => {
    const context = recordingContext()
    const { store } = await cachedCounter(context)
    store.put('a', 1)
    expect(store.get('a')).toBe(1)
    expect([...store.all()].map((e) => e.key)).toEqual(['a'])
    store.flush()
    expect(store.get('a')).toBe(1)
  })

  it('reports no cache (false) when caching is disabled, so callers forward every write', async () => {
    const store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('plain'), stringSerde, longSerde).build()
    await store.init(recordingContext())
    toClose.push(store)
    expect(store.setFlushListener(() => {}, true)).toBe(false)
  })

  it.each([100_000, 700])('reports exact old and new values under random reads, writes and flushes (cache %i bytes)', async (cacheMaxBytes) => {
    const context = recordingContext({ cacheMaxBytes })
    const { store, changes } = await cachedCounter(context)
    // Reference: what the store below holds (changes from emissions) and what readers must see.
    const below = new Map<string, number>()
    const visible = new Map<string, number>()
    let x = 99
    const next = (n: number): number => {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      return (x >>> 0) % n
    }
    let checked = 0
    const check = (): void => {
      for (const c of changes.splice(0)) {
        expect(c.oldValue).toBe(below.get(c.key))
        if (c.newValue === undefined) below.delete(c.key)
        else below.set(c.key, c.newValue)
        checked++
      }
    }
    for (let i = 0; i < 5000; i++) {
      const key = `k${next(40)}`
      const op = next(10)
      if (op < 6) {
        const old = store.get(key)
        expect(old).toBe(visible.get(key))
        store.put(key, (old ?? 0) + 1)
        visible.set(key, (old ?? 0) + 1)
      } else if (op < 8) {
        store.put(key, i)
        visible.set(key, i)
      } else if (op < 9) {
        store.delete(key)
        visible.delete(key)
      } else {
        store.flush()
      }
      check()
    }
    store.flush()
    check()
    expect(below).toEqual(visible)
    expect(checked).toBeGreaterThan(500)
  })

  it('drops what is dirty when the store closes without a flush (a dirty close emits and logs nothing)', async () => {
    const context = recordingContext()
    const { store, changes } = await cachedCounter(context)
    store.put('x', 7)
    await store.close()
    toClose.splice(0)
    expect(changes).toHaveLength(0)
    expect(context.logged).toHaveLength(0)
  })

  it('keeps what is dirty when the store is flushed before it closes (a clean close)', async () => {
    const context = recordingContext()
    const { store, changes } = await cachedCounter(context)
    store.put('x', 7)
    store.flush()
    await store.close()
    toClose.splice(0)
    expect(changes).toHaveLength(1)
    expect(context.logged).toHaveLength(1)
  })
})

describe('change-logging layers', () => {
  it('logs each key-value write with the record timestamp, deletes as tombstones', async () => {
    const context = recordingContext()
    const store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('log'), stringSerde, stringSerde).build()
    await store.init(context)
    toClose.push(store)
    context.setTimeMs(42)
    store.put('a', 'x')
    store.putIfAbsent('a', 'y') // present: nothing written, nothing logged
    store.delete('a')
    expect(context.logged.map((r) => [r.key.toString(), r.value?.toString() ?? null, r.timestampMs])).toEqual([
      ['a', 'x', 42],
      ['a', null, 42]
    ])
  })

  it('logs nothing when logging is disabled', async () => {
    const context = recordingContext()
    const store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('nolog'), stringSerde, stringSerde).withLoggingDisabled().build()
    await store.init(context)
    toClose.push(store)
    store.put('a', 'x')
    expect(context.logged).toEqual([])
  })

  it('window changelog keys carry the record key and window start', async () => {
    const context = recordingContext()
    const store = Stores.windowStoreBuilder(Stores.inMemoryWindowStore('w', { retentionMs: 1000, windowSizeMs: 100 }), stringSerde, stringSerde).build()
    await store.init(context)
    toClose.push(store)
    store.put('sensor-1', 'v', 300)
    const decoded = decodeWindowChangelogKey(context.logged[0]?.key as Buffer)
    expect([decoded.key.toString(), decoded.windowStartMs, decoded.seq]).toEqual(['sensor-1', 300, 0])
  })

  it('session changelog keys carry the record key, end and start', async () => {
    const context = recordingContext()
    const store = Stores.sessionStoreBuilder(Stores.inMemorySessionStore('s', { retentionMs: 1000 }), stringSerde, stringSerde).build()
    await store.init(context)
    toClose.push(store)
    store.put({ key: 'u', window: { startMs: 5, endMs: 9 } }, 'v')
    store.remove({ key: 'u', window: { startMs: 5, endMs: 9 } })
    const decoded = decodeSessionChangelogKey(context.logged[0]?.key as Buffer)
    expect([decoded.key.toString(), decoded.startMs, decoded.endMs]).toEqual(['u', 5, 9])
    expect(context.logged[1]?.value).toBeNull()
  })
})

describe('caching window and session stores', () => {
  it('emit each window once per flush with its window bounds', async () => {
    const context = recordingContext()
    const store = Stores.windowStoreBuilder(Stores.inMemoryWindowStore('w', { retentionMs: 10_000, windowSizeMs: 1000 }), stringSerde, jsonSerde<number>())
      .withCachingEnabled()
      .build()
    await store.init(context)
    toClose.push(store)
    const changes: Array<Change<Windowed<string>, number>> = []
    expect((store as CachedStateStore<Windowed<string>, number>).setFlushListener((c) => changes.push(c), true)).toBe(true)
    for (let i = 0; i < 10; i++) store.put('k', i, 2000)
    store.put('k', 1, 3000)
    store.flush()
    expect(changes.map((c) => [c.key.key, c.key.window.startMs, c.key.window.endMs, c.newValue, c.oldValue])).toEqual([
      ['k', 2000, 3000, 9, undefined],
      ['k', 3000, 4000, 1, undefined]
    ])
    expect(context.logged).toHaveLength(2)
  })

  it('emit merged sessions and the removal of the sessions they replaced', async () => {
    const context = recordingContext()
    const store = Stores.sessionStoreBuilder(Stores.inMemorySessionStore('s', { retentionMs: 10_000 }), stringSerde, stringSerde)
      .withCachingEnabled()
      .build()
    await store.init(context)
    toClose.push(store)
    const changes: Array<Change<Windowed<string>, string>> = []
    store.setFlushListener((c) => changes.push(c), true)
    store.put({ key: 'u', window: { startMs: 0, endMs: 5 } }, 'a')
    store.flush()
    store.remove({ key: 'u', window: { startMs: 0, endMs: 5 } })
    store.put({ key: 'u', window: { startMs: 0, endMs: 9 } }, 'ab')
    store.flush()
    expect(changes.map((c) => [c.key.window.endMs, c.newValue ?? null, c.oldValue ?? null])).toEqual([
      [5, 'a', null],
      [5, null, 'a'],
      [9, 'ab', null]
    ])
  })
})

describe('resizing a store cache (setCacheMaxBytes)', () => {
  /** 50 keys in a scrambled order (37 is prime to 50), so write order differs from key order. */
  const keys = Array.from({ length: 50 }, (_, i) => `key-${String((i * 37) % 50).padStart(2, '0')}`)

  function putAll(store: { put(key: string, value: number): void }, context: RecordingContext): void {
    keys.forEach((key, i) => {
      context.setTimeMs(1000 + i)
      store.put(key, i)
    })
  }

  it('evicts down to a lower budget at once, as an eviction on put does: listener in write order, store below in key order', async () => {
    const context = recordingContext({ cacheMaxBytes: 1 << 20 })
    const { store, changes } = await cachedCounter(context)
    putAll(store, context)
    expect(changes).toHaveLength(0)
    expect(context.logged).toHaveLength(0)

    store.setCacheMaxBytes(2000)
    // ~120 bytes per entry: about 16 stay cached, the oldest writes leave.
    const evicted = changes.length
    expect(evicted).toBeGreaterThan(30)
    expect(evicted).toBeLessThan(40)
    expect(changes).toEqual(keys.slice(0, evicted).map((key, i) => ({ key, newValue: i, oldValue: undefined, timestampMs: 1000 + i })))
    // One batch down, in key order, as the write-down of an eviction sends it.
    expect(context.logged.map((r) => r.key.toString())).toEqual(keys.slice(0, evicted).sort())
    expect(context.logged.map((r) => r.timestampMs)).toEqual(
      keys
        .slice(0, evicted)
        .sort()
        .map((k) => 1000 + keys.indexOf(k))
    )

    // The same writes into a cache that had 2000 bytes from the start evict the same entries, reported the same way.
    const reference = recordingContext({ cacheMaxBytes: 2000 })
    const expected = await cachedCounter(reference)
    putAll(expected.store, reference)
    expect(changes).toEqual(expected.changes)

    // Evicted entries are in the store below; the rest go at the next flush.
    for (let i = 0; i < evicted; i++) expect(store.get(keys[i] as string)).toBe(i)
    store.flush()
    expect(changes.map((c) => c.key)).toEqual(keys)
    expect(context.logged).toHaveLength(50)
  })

  it('evicts nothing when the budget grows, and later writes stay cached under the new budget', async () => {
    const context = recordingContext({ cacheMaxBytes: 2000 })
    const { store, changes } = await cachedCounter(context)
    for (let i = 0; i < 10; i++) store.put(`k${i}`, i)
    expect(changes).toHaveLength(0)
    store.setCacheMaxBytes(1 << 20)
    expect(changes).toHaveLength(0)
    for (let i = 10; i < 200; i++) store.put(`k${i}`, i)
    expect(changes).toHaveLength(0)
    expect(context.logged).toHaveLength(0)
    store.flush()
    expect(changes).toHaveLength(200)
  })

  it('window and session stores write down and emit every dirty entry, oldest first, when their budget drops to 0', async () => {
    const context = recordingContext({ cacheMaxBytes: 1 << 20 })
    const windows = Stores.windowStoreBuilder(Stores.inMemoryWindowStore('w', { retentionMs: 100_000, windowSizeMs: 1000 }), stringSerde, jsonSerde<number>())
      .withCachingEnabled()
      .build()
    const sessions = Stores.sessionStoreBuilder(Stores.inMemorySessionStore('s', { retentionMs: 100_000 }), stringSerde, stringSerde)
      .withCachingEnabled()
      .build()
    await windows.init(context)
    await sessions.init(context)
    toClose.push(windows, sessions)
    const windowChanges: Array<Change<Windowed<string>, number>> = []
    const sessionChanges: Array<Change<Windowed<string>, string>> = []
    windows.setFlushListener((c) => windowChanges.push(c), true)
    sessions.setFlushListener((c) => sessionChanges.push(c), true)
    for (let i = 0; i < 10; i++) {
      windows.put(`k${9 - i}`, i, (i % 3) * 1000)
      sessions.put({ key: `u${9 - i}`, window: { startMs: i * 10, endMs: i * 10 + 5 } }, `s${i}`)
    }
    expect(windowChanges).toHaveLength(0)
    expect(sessionChanges).toHaveLength(0)

    windows.setCacheMaxBytes(0)
    sessions.setCacheMaxBytes(0)
    expect(windowChanges.map((c) => [c.key.key, c.key.window.startMs, c.newValue])).toEqual(
      Array.from({ length: 10 }, (_, i) => [`k${9 - i}`, (i % 3) * 1000, i])
    )
    expect(sessionChanges.map((c) => [c.key.key, c.key.window.startMs, c.newValue])).toEqual(
      Array.from({ length: 10 }, (_, i) => [`u${9 - i}`, i * 10, `s${i}`])
    )
    expect(context.logged.filter((r) => r.storeName === 'w')).toHaveLength(10)
    expect(context.logged.filter((r) => r.storeName === 's')).toHaveLength(10)
    // Budget 0 is write-through from now on.
    windows.put('k0', 99, 0)
    expect(windowChanges.at(-1)).toMatchObject({ key: { key: 'k0', window: { startMs: 0 } }, newValue: 99 })
  })

  it('is ignored by a store without a cache and rejects a negative budget naming the store', async () => {
    const context = recordingContext()
    const plain = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('plain'), stringSerde, longSerde).build()
    await plain.init(context)
    toClose.push(plain)
    plain.put('a', 1)
    plain.setCacheMaxBytes(0)
    expect(plain.get('a')).toBe(1)
    const { store } = await cachedCounter(context)
    expect(() => store.setCacheMaxBytes(-1)).toThrow(/cacheMaxBytes of store "counts" must be a non-negative number of bytes, got -1/)
  })
})
