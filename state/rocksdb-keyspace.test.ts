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
      expect(openResources(database.db)).toBe(before)
    } finally {
      await database.release()
      await keyspace.close()
    }
  })
})
