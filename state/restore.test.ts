/**
 * Restore without a broker: what one store logged, replayed through another store's registered
 * RestoreCallback, rebuilds the same contents (key-value, window with duplicates, session), for
 * in-memory and RocksDB stores.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { stringSerde } from '../schemas/index.ts'
import { Stores } from './stores.ts'
import { decodeWindowChangelogKey, recordingContext, tempDir, type RecordingContext } from './test-support.ts'
import type { StateStore } from './types.ts'

let folders: Array<{ dir: string; cleanup: () => void }> = []
const open: StateStore[] = []
beforeEach(() => {
  folders = [tempDir(), tempDir()]
})
afterEach(async () => {
  for (const s of open.splice(0)) await s.close()
  for (const f of folders) f.cleanup()
})

function replay(from: RecordingContext, to: RecordingContext, storeName: string, batchSize = 7): void {
  const target = to.restorers.get(storeName)
  if (target === undefined) throw new Error(`store ${storeName} did not register for restore`)
  const records = from.logged.filter((r) => r.storeName === storeName).map(({ key, value }) => ({ key, value }))
  for (let i = 0; i < records.length; i += batchSize) target.restore(records.slice(i, i + batchSize))
}

describe.each([
  { inMemory: true, label: 'in-memory' },
  { inMemory: false, label: 'RocksDB' }
])('restore into $label stores', ({ inMemory }) => {
  function contexts(): [RecordingContext, RecordingContext] {
    return [recordingContext({ taskStateDir: (folders[0] as { dir: string }).dir }), recordingContext({ taskStateDir: (folders[1] as { dir: string }).dir })]
  }

  /** A source and a target window store that retain duplicates, opened on contexts a and b. */
  async function windowStoresKeepingDuplicates() {
    const [a, b] = contexts()
    const o = { retentionMs: 10_000, windowSizeMs: 100, retainDuplicates: true, segmentIntervalMs: 1000 }
    const builder = Stores.windowStoreBuilder(inMemory ? Stores.inMemoryWindowStore('w', o) : Stores.persistentWindowStore('w', o), stringSerde, stringSerde)
    const source = builder.build()
    const target = builder.build()
    await source.init(a)
    await target.init(b)
    open.push(source, target)
    return { a, b, source, target }
  }

  it('rebuilds a key-value store, deletes included, and registers the outermost store', async () => {
    const [a, b] = contexts()
    const builder = Stores.keyValueStoreBuilder(
      inMemory ? Stores.inMemoryKeyValueStore('kv') : Stores.persistentKeyValueStore('kv'),
      stringSerde,
      stringSerde
    ).withCachingEnabled()
    const source = builder.build()
    const target = builder.build()
    await source.init(a)
    await target.init(b)
    open.push(source, target)
    expect(b.restorers.get('kv')?.store).toBe(target)
    for (let i = 0; i < 300; i++) source.put(`k${i % 120}`, `v${i}`)
    for (let i = 0; i < 120; i += 3) source.delete(`k${i}`)
    source.flush()
    replay(a, b, 'kv')
    expect([...target.all()]).toEqual([...source.all()])
    expect(target.approximateNumEntries()).toBe(80)
  })

  it('rebuilds a window store, keeping duplicates apart by their sequence number', async () => {
    const { a, b, source, target } = await windowStoresKeepingDuplicates()
    for (let i = 0; i < 200; i++) source.put(`k${i % 7}`, `v${i}`, (i % 50) * 100)
    replay(a, b, 'w')
    expect([...target.all()]).toEqual([...source.all()])
    expect([...target.all()]).toHaveLength(200)
    expect([...target.fetch('k1', 0, 300)]).toEqual([...source.fetch('k1', 0, 300)])
  })

  it('numbers duplicates put after a restore above every sequence number restored', async () => {
    const { a, b, source, target } = await windowStoresKeepingDuplicates()
    for (let i = 0; i < 20; i++) source.put('k', `v${i}`, 100)
    replay(a, b, 'w')
    target.put('k', 'after', 100)
    expect([...target.fetch('k', 100, 100)].map((e) => e.value)).toEqual([...Array.from({ length: 20 }, (_, i) => `v${i}`), 'after'])
    expect(decodeWindowChangelogKey(b.logged[0]?.key as Buffer).seq).toBe(20)
  })

  it('rebuilds a window store and applies retention while replaying', async () => {
    const [a, b] = contexts()
    const o = { retentionMs: 1000, windowSizeMs: 100, segmentIntervalMs: 200 }
    const builder = Stores.windowStoreBuilder(inMemory ? Stores.inMemoryWindowStore('w2', o) : Stores.persistentWindowStore('w2', o), stringSerde, stringSerde)
    const source = builder.build()
    const target = builder.build()
    await source.init(a)
    await target.init(b)
    open.push(source, target)
    for (let t = 0; t <= 5000; t += 100) source.put('k', `at${t}`, t)
    replay(a, b, 'w2')
    const restored = [...target.fetch('k', 0, 10_000)].map((e) => e.key)
    expect(restored).toEqual([4100, 4200, 4300, 4400, 4500, 4600, 4700, 4800, 4900, 5000])
    expect(restored).toEqual([...source.fetch('k', 0, 10_000)].map((e) => e.key))
  })

  it('rebuilds a session store, removals included', async () => {
    const [a, b] = contexts()
    const builder = Stores.sessionStoreBuilder(
      inMemory ? Stores.inMemorySessionStore('s', { retentionMs: 100_000 }) : Stores.persistentSessionStore('s', { retentionMs: 100_000 }),
      stringSerde,
      stringSerde
    ).withCachingEnabled()
    const source = builder.build()
    const target = builder.build()
    await source.init(a)
    await target.init(b)
    open.push(source, target)
    for (let i = 0; i < 50; i++) source.put({ key: `u${i % 5}`, window: { startMs: i * 10, endMs: i * 10 + 5 } }, `s${i}`)
    source.flush()
    source.remove({ key: 'u0', window: { startMs: 0, endMs: 5 } })
    source.flush()
    replay(a, b, 's')
    for (let u = 0; u < 5; u++) expect([...target.fetch(`u${u}`)]).toEqual([...source.fetch(`u${u}`)])
    expect([...target.fetch('u0')]).toHaveLength(9)
  })
})
