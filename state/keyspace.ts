/**
 * A keyspace is where one inner store keeps its bytes: an ordered byte map. The key-value, window
 * and session stores are written once against this interface; the in-memory keyspace and the
 * RocksDB keyspace (a key range of the task's database) make them in-memory or persistent.
 */
import { StoreIterator } from './iterators.ts'
import { SortedStringMap, type SortedCursor } from './sorted-string-map.ts'
import type { KeyValue, KeyValueIterator, StateStoreContext } from './types.ts'

/** One write of a batch; `value: null` deletes. */
export interface KeyspaceWrite {
  key: Buffer
  value: Buffer | null
}

export interface Keyspace {
  readonly persistent: boolean
  get(key: Buffer): Buffer | undefined
  /** `null` deletes. */
  put(key: Buffer, value: Buffer | null): void
  /** Applies all writes in order, in one RocksDB write batch. */
  write(writes: ReadonlyArray<KeyspaceWrite>): void
  /** Entries with `from <= key` and `key < to` (or `<= to` when `toInclusive`); undefined bounds are open. */
  range(from: Buffer | undefined, to: Buffer | undefined, toInclusive: boolean): KeyValueIterator<Buffer, Buffer>
  /**
   * Removes every key in `[from, to)` at once (a RocksDB range deletion). A failure is reported
   * after the call returns: logged at warn and counted in `failedRangeDeletes`.
   */
  deleteRange(from: Buffer, to: Buffer): void
  /** Range deletions that failed since the keyspace opened (always 0 in memory). */
  readonly failedRangeDeletes: number
  /** Number of entries (exact in memory, counted by a key scan in RocksDB). */
  count(): number
  /** Releases the keyspace (the task database closes when its last keyspace does). */
  close(): Promise<void>
}

/** Opens the keyspace of a store for a task. */
export interface KeyspaceSupplier {
  readonly persistent: boolean
  open(context: StateStoreContext, storeName: string): Promise<Keyspace>
}

/** Bytes as a latin1 string: string order = byte order (see SortedStringMap). */
export function bytesToKey(buf: Buffer): string {
  return buf.toString('latin1')
}

/** An ordered in-memory byte map. */
export class MemoryKeyspace implements Keyspace {
  readonly persistent = false
  readonly failedRangeDeletes = 0
  private readonly map = new SortedStringMap<Buffer>()

  get(key: Buffer): Buffer | undefined {
    return this.map.get(bytesToKey(key))
  }

  put(key: Buffer, value: Buffer | null): void {
    if (value === null) this.map.delete(bytesToKey(key))
    else this.map.set(bytesToKey(key), value)
  }

  write(writes: ReadonlyArray<KeyspaceWrite>): void {
    for (const w of writes) this.put(w.key, w.value)
  }

  range(from: Buffer | undefined, to: Buffer | undefined, toInclusive: boolean): KeyValueIterator<Buffer, Buffer> {
    return new MemoryRangeIterator(this.map, from === undefined ? undefined : bytesToKey(from), to === undefined ? undefined : bytesToKey(to), toInclusive)
  }

  deleteRange(from: Buffer, to: Buffer): void {
    this.map.deleteRange(bytesToKey(from), bytesToKey(to))
  }

  count(): number {
    return this.map.size
  }

  async close(): Promise<void> {
    this.map.clear()
  }
}

/** Walks the sorted keys; survives inserts and deletes made while iterating (it re-seeks). */
class MemoryRangeIterator extends StoreIterator<Buffer, Buffer> {
  private readonly map: SortedStringMap<Buffer>
  private readonly cursor: SortedCursor
  private readonly to: string | undefined
  private readonly toInclusive: boolean

  constructor(map: SortedStringMap<Buffer>, from: string | undefined, to: string | undefined, toInclusive: boolean) {
    super()
    this.map = map
    this.cursor = map.seek(from)
    this.to = to
    this.toInclusive = toInclusive
  }

  protected advance(): KeyValue<Buffer, Buffer> | undefined {
    for (;;) {
      const key = this.map.nextKey(this.cursor)
      if (key === undefined) return undefined
      if (this.to !== undefined && (this.toInclusive ? key > this.to : key >= this.to)) return undefined
      const value = this.map.get(key)
      if (value !== undefined) return { key: Buffer.from(key, 'latin1'), value }
    }
  }
}

/** In-memory keyspaces; nothing survives a restart (restore replays the whole changelog). */
export const memoryKeyspaceSupplier: KeyspaceSupplier = {
  persistent: false,
  open: async () => new MemoryKeyspace()
}
