/**
 * RocksDB keyspaces: one database per task under `<taskStateDir>/rocksdb`, shared by the task's
 * stores, each store a key range of it. Every operation uses the binding's synchronous paths
 * (MultiGet, write batches, iterator nextv, DeleteRange), so store operations never await; only
 * opening and closing the database is asynchronous.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { StateStoreError } from './errors.ts'
import { StoreIterator } from './iterators.ts'
import { prefixEnd } from './key-schema.ts'
import type { Keyspace, KeyspaceSupplier, KeyspaceWrite } from './keyspace.ts'
import type { KeyValue, KeyValueIterator, StateLogger, StateStoreContext } from './types.ts'

/** The part of @nxtedition/rocksdb's RocksLevel (it ships no types) that Runnel uses. */
export interface RocksDatabase {
  readonly status: string
  open(options: { createIfMissing?: boolean; errorIfExists?: boolean; compression?: boolean; walCompression?: boolean }): Promise<void>
  close(): Promise<void>
  _getManySync(keys: Buffer[]): Array<Buffer | undefined | null>
  _chainedBatch(): RocksChainedBatch
  _iterator(options: Record<string, unknown>): RocksIterator
  _clear(options: { gte: Buffer; lt: Buffer }, callback: (err?: Error | null) => void): void
  /** abstract-level's resource set: iterators add themselves at construction, `close()` removes them. */
  detachResource(resource: object): void
}
interface RocksChainedBatch {
  _put(key: Buffer, value: Buffer): void
  _del(key: Buffer): void
  _writeSync(): void
  _clear(): void
  _closeSync(): void
}
interface RocksIterator {
  _nextvSync(size: number): { rows: Buffer[]; finished: boolean }
  _closeSync(): void
}

/**
 * Closes an iterator through the binding's synchronous path. abstract-level registers every iterator
 * with its database when it is built and forgets it only in the asynchronous `close()`, so after
 * `_closeSync()` we must detach it ourselves: otherwise each fetch leaves an iterator reachable from
 * the database (memory grows with every range or window fetch, and GC slows everything down).
 */
function closeIteratorSync(db: RocksDatabase, it: RocksIterator): void {
  try {
    it._closeSync()
  } finally {
    db.detachResource(it)
  }
}

const require = createRequire(import.meta.url)
const { RocksLevel } = require('@nxtedition/rocksdb') as { RocksLevel: new (location: string) => RocksDatabase }

/** Folder of a task's database. */
export function taskDatabaseDir(taskStateDir: string): string {
  return join(taskStateDir, 'rocksdb')
}

/*
 * Key layout of a task database:
 *   [store id: uint16 BE][store key bytes]         data of store `id` (ids start at 1)
 *   [0x00 0x00]'store/'[store name] -> uint16 BE     the id registry (store id 0 = metadata)
 * A store's id is allocated the first time it opens in this folder and kept with the data.
 */
const REGISTRY_PREFIX = Buffer.concat([Buffer.from([0, 0]), Buffer.from('store/', 'latin1')])
const STORE_ID_BYTES = 2

/** An open task database shared by the stores of one task; closed when the last one releases it. */
export class TaskDatabase {
  readonly location: string
  readonly db: RocksDatabase
  private refs = 0
  private readonly batch: RocksChainedBatch

  private constructor(location: string, db: RocksDatabase) {
    this.location = location
    this.db = db
    this.batch = db._chainedBatch()
  }

  /** Opens (creating if needed) the database at `location`; rejects when RocksDB cannot read it. */
  static async open(location: string): Promise<TaskDatabase> {
    const db = new RocksLevel(location)
    // No compression, as Kafka Streams configures its stores: the binding's default (ZSTD for the
    // WAL and for tables) costs CPU on every write batch and compaction of small state records.
    // The default compaction and memtable (one of 64 MB) stay: universal compaction with 16 MB
    // memtables (Kafka Streams' layout) wrote flush batches ~2x faster here, but made short range
    // reads (window fetches, on the per-record path) ~25% slower: more sorted runs to merge.
    await db.open({ createIfMissing: true, compression: false, walCompression: false })
    return new TaskDatabase(location, db)
  }

  /** The id of `storeName` in this database, registered when new. */
  storeId(storeName: string): number {
    const regKey = Buffer.concat([REGISTRY_PREFIX, Buffer.from(storeName, 'utf8')])
    const existing = this.db._getManySync([regKey])[0]
    if (existing !== undefined && existing !== null) return existing.readUInt16BE(0)
    let max = 0
    const end = prefixEnd(REGISTRY_PREFIX) as Buffer
    const it = this.db._iterator({ gte: REGISTRY_PREFIX, lt: end, keys: false, values: true, keyEncoding: 'buffer', valueEncoding: 'buffer' })
    try {
      for (;;) {
        const { rows, finished } = it._nextvSync(1000)
        for (let i = 1; i < rows.length; i += 2) max = Math.max(max, (rows[i] as Buffer).readUInt16BE(0))
        if (finished) break
      }
    } finally {
      closeIteratorSync(this.db, it)
    }
    if (max >= 0xffff) throw new StateStoreError('STATE_TOO_MANY_STORES', `task database ${this.location} has no store id left`)
    const id = Buffer.allocUnsafe(STORE_ID_BYTES)
    id.writeUInt16BE(max + 1, 0)
    this.write([{ key: regKey, value: id }])
    return max + 1
  }

  /**
   * Applies writes in one atomic write batch (WAL on, not fsynced: a process crash loses nothing).
   * With a `prefix`, each key is built in one reused buffer: the batch copies keys as they are added.
   */
  write(writes: ReadonlyArray<KeyspaceWrite>, prefix?: Buffer): void {
    const batch = this.batch
    try {
      for (const w of writes) {
        const key = prefix === undefined ? w.key : this.prefixed(prefix, w.key)
        if (w.value === null) batch._del(key)
        else batch._put(key, w.value)
      }
      batch._writeSync()
    } finally {
      batch._clear()
    }
  }

  /** One put or delete (`null`) as its own write. */
  writeOne(key: Buffer, value: Buffer | null): void {
    const batch = this.batch
    try {
      if (value === null) batch._del(key)
      else batch._put(key, value)
      batch._writeSync()
    } finally {
      batch._clear()
    }
  }

  private scratch = Buffer.allocUnsafe(256)
  /** Views of the scratch buffer by length (`views[n]` = its first n bytes), made once each. */
  private views: Buffer[] = []

  /**
   * `prefix + key` in the database's reused scratch buffer, valid until the next call: safe for keys
   * handed to the binding, which copies them before returning (gets, batch puts and deletes).
   */
  prefixed(prefix: Buffer, key: Buffer): Buffer {
    const n = prefix.length + key.length
    if (this.scratch.length < n) {
      this.scratch = Buffer.allocUnsafe(Math.max(n, this.scratch.length * 2))
      this.views = []
    }
    // TypedArray#set: no call into C++ as Buffer#copy makes, which matters for keys of a few bytes.
    this.scratch.set(prefix, 0)
    this.scratch.set(key, prefix.length)
    let view = this.views[n]
    if (view === undefined) {
      view = this.scratch.subarray(0, n)
      this.views[n] = view
    }
    return view
  }

  acquire(): this {
    this.refs++
    return this
  }

  /** Drops one reference; closes the database with the last. */
  async release(): Promise<void> {
    if (--this.refs > 0) return
    openDatabases.delete(this.location)
    this.batch._closeSync()
    await this.db.close()
  }
}

const openDatabases = new Map<string, Promise<TaskDatabase>>()

/**
 * The task database at `location`, opened once and shared (reference counted). Every caller must
 * `release()` it. A failed open is not cached, so a wiped folder can be opened again.
 */
export async function acquireTaskDatabase(location: string): Promise<TaskDatabase> {
  let pending = openDatabases.get(location)
  if (pending === undefined) {
    pending = TaskDatabase.open(location)
    openDatabases.set(location, pending)
    pending.catch(() => openDatabases.delete(location))
  }
  return (await pending).acquire()
}

/** True while some store or the runtime holds the database at `location` open. */
export function isTaskDatabaseOpen(location: string): boolean {
  return openDatabases.has(location)
}

function withPrefix(prefix: Buffer, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + key.length)
  prefix.copy(out, 0)
  key.copy(out, prefix.length)
  return out
}

/** Options of a RocksKeyspace: who it belongs to, for its log lines. */
export interface RocksKeyspaceOptions {
  storeName: string
  /** Receives the warn line of a failed range deletion (default: only counted). */
  logger?: StateLogger
}

/** One store's key range of a task database. */
export class RocksKeyspace implements Keyspace {
  readonly persistent = true
  private readonly database: TaskDatabase
  private readonly prefix: Buffer
  private readonly end: Buffer
  private readonly oneKey: Buffer[] = [Buffer.alloc(0)]
  private readonly storeName: string
  private readonly logger: StateLogger | undefined
  private closed = false
  private failedDeletes = 0

  constructor(database: TaskDatabase, storeId: number, options: RocksKeyspaceOptions) {
    this.database = database
    this.storeName = options.storeName
    this.logger = options.logger
    this.prefix = Buffer.allocUnsafe(STORE_ID_BYTES)
    this.prefix.writeUInt16BE(storeId, 0)
    this.end = prefixEnd(this.prefix) as Buffer
  }

  get(key: Buffer): Buffer | undefined {
    this.oneKey[0] = this.scratchKey(key)
    const value = this.database.db._getManySync(this.oneKey)[0]
    return value === null ? undefined : value
  }

  put(key: Buffer, value: Buffer | null): void {
    this.database.writeOne(this.scratchKey(key), value)
  }

  write(writes: ReadonlyArray<KeyspaceWrite>): void {
    if (writes.length > 0) this.database.write(writes, this.prefix)
  }

  range(from: Buffer | undefined, to: Buffer | undefined, toInclusive: boolean): KeyValueIterator<Buffer, Buffer> {
    const options: Record<string, unknown> = {
      gte: from === undefined ? this.prefix : withPrefix(this.prefix, from),
      keys: true,
      values: true,
      keyEncoding: 'buffer',
      valueEncoding: 'buffer'
    }
    if (to === undefined) options.lt = this.end
    else if (toInclusive) options.lte = withPrefix(this.prefix, to)
    else options.lt = withPrefix(this.prefix, to)
    return new RocksRangeIterator(this.database.db, this.database.db._iterator(options))
  }

  deleteRange(from: Buffer, to: Buffer): void {
    // Synchronous in the binding (a RocksDB DeleteRange); the callback only reports, on next tick, so
    // the per-record path does not wait for it. A failure leaves the range's data behind (a dropped
    // segment still readable until it is overwritten or dropped again): say so instead of losing it.
    const gte = withPrefix(this.prefix, from)
    const lt = withPrefix(this.prefix, to)
    this.database.db._clear({ gte, lt }, (err) => {
      if (err === undefined || err === null) return
      this.failedDeletes++
      this.logger?.warn(
        {
          store: this.storeName,
          location: this.database.location,
          from: from.toString('hex'),
          to: to.toString('hex'),
          err,
          failedRangeDeletes: this.failedDeletes
        },
        'RocksDB range deletion failed: the range keeps its data'
      )
    })
  }

  get failedRangeDeletes(): number {
    return this.failedDeletes
  }

  count(): number {
    const it = this.database.db._iterator({ gte: this.prefix, lt: this.end, keys: true, values: false, keyEncoding: 'buffer', valueEncoding: 'buffer' })
    let n = 0
    try {
      for (;;) {
        const { rows, finished } = it._nextvSync(10_000)
        n += rows.length / 2
        if (finished) return n
      }
    } finally {
      closeIteratorSync(this.database.db, it)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.database.release()
  }

  private scratchKey(key: Buffer): Buffer {
    return this.database.prefixed(this.prefix, key)
  }
}

/** Reads rows in growing batches (a short fetch costs one small read) and strips the store prefix. */
class RocksRangeIterator extends StoreIterator<Buffer, Buffer> {
  private readonly db: RocksDatabase
  private readonly it: RocksIterator
  private rows: Buffer[] = []
  private position = 0
  private exhausted = false
  private batchSize = 16

  constructor(db: RocksDatabase, it: RocksIterator) {
    super()
    this.db = db
    this.it = it
  }

  protected advance(): KeyValue<Buffer, Buffer> | undefined {
    if (this.position >= this.rows.length) {
      if (this.exhausted) return undefined
      const { rows, finished } = this.it._nextvSync(this.batchSize)
      this.batchSize = Math.min(this.batchSize * 4, 1024)
      this.rows = rows
      this.position = 0
      this.exhausted = finished
      if (rows.length === 0) return undefined
    }
    const key = this.rows[this.position] as Buffer
    const value = this.rows[this.position + 1] as Buffer
    this.position += 2
    return { key: key.subarray(STORE_ID_BYTES), value }
  }

  protected override release(): void {
    closeIteratorSync(this.db, this.it)
  }
}

/** Keyspaces in the task's RocksDB database (`<taskStateDir>/rocksdb`). */
export const rocksKeyspaceSupplier: KeyspaceSupplier = {
  persistent: true,
  open: async (context: StateStoreContext, storeName: string) => {
    const database = await acquireTaskDatabase(taskDatabaseDir(context.taskStateDir))
    try {
      return new RocksKeyspace(database, database.storeId(storeName), { storeName, ...(context.logger ? { logger: context.logger } : {}) })
    } catch (err) {
      await database.release()
      throw err
    }
  }
}
