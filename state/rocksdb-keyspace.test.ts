import { setImmediate as nextTurn } from 'node:timers/promises'
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
      keyspace.write([
        { key: Buffer.from('a'), value: Buffer.from('1') },
        { key: Buffer.from('b'), value: Buffer.from('2') }
      ])
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

  it('log and count a range deletion that fails instead of losing its error', async () => {
    const dir = tempDir()
    cleanup = dir.cleanup
    const warnings: Array<{ obj: Record<string, unknown>; msg: string }> = []
    const logger = {
      info: () => {},
      warn: (obj: object, msg: string) => {
        warnings.push({ obj: obj as Record<string, unknown>, msg })
      }
    }
    const keyspace = await rocksKeyspaceSupplier.open({ ...recordingContext({ taskStateDir: dir.dir }), logger }, 'windows')
    const database = await acquireTaskDatabase(taskDatabaseDir(dir.dir))
    const db = database.db
    const clear = db._clear.bind(db)
    try {
      keyspace.write([
        { key: Buffer.from([1, 0]), value: Buffer.from('x') },
        { key: Buffer.from([2, 0]), value: Buffer.from('y') }
      ])
      keyspace.deleteRange(Buffer.from([1]), Buffer.from([2]))
      await nextTurn()
      expect(warnings).toEqual([])
      expect(keyspace.count()).toBe(1)

      // The binding reports a failed DeleteRange only through the callback, on the next tick.
      db._clear = (_options, callback) => {
        process.nextTick(callback, new Error('IO error: No space left on device'))
      }
      keyspace.deleteRange(Buffer.from([2]), Buffer.from([3]))
      expect(keyspace.failedRangeDeletes).toBe(0)
      await nextTurn()
      expect(keyspace.failedRangeDeletes).toBe(1)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]?.msg).toBe('RocksDB range deletion failed: the range keeps its data')
      expect(warnings[0]?.obj).toMatchObject({ store: 'windows', from: '02', to: '03', failedRangeDeletes: 1 })
      expect(String(warnings[0]?.obj.err)).toMatch(/No space left on device/)
    } finally {
      db._clear = clear
      await database.release()
      await keyspace.close()
    }
  })
})
