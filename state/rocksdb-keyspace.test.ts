import { afterEach, describe, expect, it } from 'vitest'
import { acquireTaskDatabase, rocksKeyspaceSupplier, taskDatabaseDir } from './rocksdb-keyspace.ts'
import { recordingContext, tempDir } from './test-support.ts'

/** abstract-level keeps the iterators and batches it has not seen closed in a private Set. */
function openResources(db: object): number {
  const symbol = Object.getOwnPropertySymbols(db).find((s) => s.description === 'resources')
  if (symbol === undefined) throw new Error('abstract-level no longer keeps a resources set: update this test')
  return ((db as Record<symbol, Set<unknown>>)[symbol] as Set<unknown>).size
}

describe('RocksDB keyspaces', () => {
  let cleanup = (): void => undefined
  afterEach(() => cleanup())

  it('do not leave closed iterators registered with the database (range scans, counts)', async () => {
    const dir = tempDir()
    cleanup = dir.cleanup
    const context = recordingContext({ taskStateDir: dir.dir })
    const keyspace = await rocksKeyspaceSupplier.open(context, 'store')
    const database = await acquireTaskDatabase(taskDatabaseDir(dir.dir))
    try {
      keyspace.write([{ key: Buffer.from('a'), value: Buffer.from('1') }, { key: Buffer.from('b'), value: Buffer.from('2') }])
      const before = openResources(database.db)
      for (let i = 0; i < 500; i++) {
        const it = keyspace.range(undefined, undefined, false)
        expect([...it].length).toBe(2)
        const partial = keyspace.range(Buffer.from('a'), Buffer.from('b'), true)
        partial.next()
        partial.close()
      }
      expect(keyspace.count()).toBe(2)
      // At most one iterator stays open: the one kept for the next scan.
      expect(openResources(database.db)).toBeLessThanOrEqual(before + 1)
      await keyspace.close()
      expect(openResources(database.db)).toBe(before)
    } finally {
      await database.release()
      await keyspace.close()
    }
  })

  it('read every write, range deletion and neighbouring store boundary correctly when scans reuse an iterator', async () => {
    const dir = tempDir()
    cleanup = dir.cleanup
    const context = recordingContext({ taskStateDir: dir.dir })
    const keyspace = await rocksKeyspaceSupplier.open(context, 'store')
    const other = await rocksKeyspaceSupplier.open(context, 'other')
    const keys = (it: Iterable<{ key: Buffer }>): string[] => [...it].map((e) => e.key.toString('latin1'))
    try {
      other.write([{ key: Buffer.from('a0'), value: Buffer.from('x') }])
      keyspace.write(['a1', 'a2', 'a3', 'b1', 'b2'].map((k) => ({ key: Buffer.from(k), value: Buffer.from(k) })))
      expect(keys(keyspace.range(Buffer.from('a2'), Buffer.from('b1'), true))).toEqual(['a2', 'a3', 'b1'])
      expect(keys(keyspace.range(Buffer.from('a2'), Buffer.from('b1'), false))).toEqual(['a2', 'a3'])
      expect(keys(keyspace.range(undefined, Buffer.from('a2'), true))).toEqual(['a1', 'a2'])
      expect(keys(keyspace.range(Buffer.from('b'), undefined, false))).toEqual(['b1', 'b2'])
      expect(keys(keyspace.range(Buffer.from('c'), Buffer.from('d'), true))).toEqual([])
      // Writes through this keyspace, another keyspace of the database and range deletions are all seen.
      keyspace.put(Buffer.from('a25'), Buffer.from('new'))
      expect(keys(keyspace.range(Buffer.from('a2'), Buffer.from('a3'), false))).toEqual(['a2', 'a25'])
      keyspace.write([{ key: Buffer.from('a2'), value: null }])
      expect(keys(keyspace.range(Buffer.from('a'), Buffer.from('b'), false))).toEqual(['a1', 'a25', 'a3'])
      keyspace.deleteRange(Buffer.from('a'), Buffer.from('b'))
      expect(keys(keyspace.range(undefined, undefined, false))).toEqual(['b1', 'b2'])
      other.write([{ key: Buffer.from('b15'), value: Buffer.from('y') }])
      expect(keys(keyspace.range(undefined, undefined, false))).toEqual(['b1', 'b2'])
      expect(keys(other.range(undefined, undefined, false))).toEqual(['a0', 'b15'])
      // Two scans open at once each read their own range; a scan open across a write reads the state it began with.
      const first = keyspace.range(Buffer.from('b1'), Buffer.from('b1'), true)
      const second = keyspace.range(Buffer.from('b2'), Buffer.from('b2'), true)
      keyspace.put(Buffer.from('b3'), Buffer.from('z'))
      expect(keys(first)).toEqual(['b1'])
      expect(keys(second)).toEqual(['b2'])
      const during = keyspace.range(undefined, undefined, false)
      expect(during.next().value?.key.toString('latin1')).toBe('b1')
      keyspace.put(Buffer.from('b4'), Buffer.from('w'))
      expect(keys(during)).toEqual(['b2', 'b3'])
      expect(keys(keyspace.range(undefined, undefined, false))).toEqual(['b1', 'b2', 'b3', 'b4'])
    } finally {
      await other.close()
      await keyspace.close()
    }
  })
})
