import type { SegmentedBytesStore, SegmentedWrite } from './bytes-stores.ts'
import { StoreNotOpenError } from './errors.ts'
import { ChainedIterator, EmptyIterator, MappedIterator } from './iterators.ts'
import { segmentPrefix, type SegmentedKeySchema } from './key-schema.ts'
import type { Keyspace, KeyspaceSupplier, KeyspaceWrite } from './keyspace.ts'
import { liveOnly, Segments, SEGMENTS_END, segmentKeyBounds } from './segments.ts'
import type { KeyValue, KeyValueIterator, StateStoreContext } from './types.ts'

/** Options of a window or session store (validated by `Stores`). */
export interface SegmentedStoreOptions {
  retentionMs: number
  segmentIntervalMs: number
}

/**
 * The inner window or session store (Kafka Streams' `AbstractRocksDBSegmentedBytesStore`): entries
 * under store keys of its key schema, in time-bucketed segments of one keyspace. Retention counts
 * back from the largest segment timestamp written; reads never return older entries, and whole
 * segments are dropped. What a key means beyond its segment timestamp is the facades' business.
 */
export class KeyspaceSegmentedStore implements SegmentedBytesStore {
  readonly name: string
  readonly persistent: boolean
  readonly schema: SegmentedKeySchema
  readonly retentionMs: number
  readonly segmentIntervalMs: number
  private readonly supplier: KeyspaceSupplier
  private readonly segments: Segments
  private keyspace: Keyspace | undefined

  constructor(name: string, supplier: KeyspaceSupplier, schema: SegmentedKeySchema, options: SegmentedStoreOptions) {
    this.name = name
    this.supplier = supplier
    this.persistent = supplier.persistent
    this.schema = schema
    this.retentionMs = options.retentionMs
    this.segmentIntervalMs = options.segmentIntervalMs
    this.segments = new Segments(options.segmentIntervalMs, options.retentionMs)
  }

  get isOpen(): boolean {
    return this.keyspace !== undefined
  }

  get observedStreamTimeMs(): number {
    return this.segments.observedStreamTimeMs
  }

  async init(context: StateStoreContext): Promise<void> {
    const ks = await this.supplier.open(context, this.name)
    this.segments.load(ks)
    this.keyspace = ks
    context.register(this, (records) => this.restore(records))
  }

  put(storeKey: Buffer, value: Buffer | null): boolean {
    const ks = this.ks()
    if (this.segments.segmentForWrite(this.schema.segmentTimeMs(storeKey), ks) < 0) return false
    ks.put(storeKey, value)
    return true
  }

  writeBatch(writes: ReadonlyArray<SegmentedWrite>): boolean[] {
    const ks = this.ks()
    const batch: KeyspaceWrite[] = []
    const times: number[] = []
    const taken: boolean[] = []
    for (const w of writes) {
      const t = this.schema.segmentTimeMs(w.key)
      const live = this.segments.segmentForWrite(t, ks) >= 0
      taken.push(live)
      if (!live) continue
      batch.push(w)
      times.push(t)
    }
    ks.write(liveOnly(batch, times, this.segments.minLiveTimeMs))
    return taken
  }

  get(storeKey: Buffer): Buffer | undefined {
    const ks = this.ks()
    return this.schema.segmentTimeMs(storeKey) < this.segments.minLiveTimeMs ? undefined : ks.get(storeKey)
  }

  fetch(key: Buffer, fromMs: number, toMs: number): KeyValueIterator<Buffer, Buffer> {
    const ks = this.ks()
    const from = Math.max(fromMs, this.segments.minLiveTimeMs, 0)
    if (toMs < from) return new EmptyIterator()
    const [low, high] = this.schema.suffixBounds(from, toMs)
    return new ChainedIterator(
      this.segmentsBetween(from, toMs).map((id) => () => {
        const [lo, hi] = segmentKeyBounds(id, key, low, high)
        // A longer key starting with `key` can sort inside the bounds: keep exact matches only.
        return new MappedIterator(ks.range(lo, hi, true), (e) => (this.schema.hasRecordKey(e.key, key) ? e : undefined))
      })
    )
  }

  fetchAll(fromMs: number, toMs: number): KeyValueIterator<Buffer, Buffer> {
    const ks = this.ks()
    const from = Math.max(fromMs, this.segments.minLiveTimeMs, 0)
    if (toMs < from) return new EmptyIterator()
    return new ChainedIterator(
      this.segmentsBetween(from, toMs).map(
        (id) => () => new MappedIterator(ks.range(segmentPrefix(id), segmentPrefix(id + 1), false), (e) => this.within(e, from, toMs))
      )
    )
  }

  all(): KeyValueIterator<Buffer, Buffer> {
    const ks = this.ks()
    const from = Math.max(this.segments.minLiveTimeMs, 0)
    return new MappedIterator(ks.range(undefined, SEGMENTS_END, false), (e) => this.within(e, from, Number.MAX_SAFE_INTEGER))
  }

  flush(): void {
    this.segments.persist(this.ks())
  }

  async close(): Promise<void> {
    const ks = this.keyspace
    if (ks === undefined) return
    this.segments.persist(ks)
    this.keyspace = undefined
    await ks.close()
  }

  private segmentsBetween(fromMs: number, toMs: number): number[] {
    return this.segments.between(this.segments.segmentId(fromMs), this.segments.segmentId(toMs))
  }

  private within(e: KeyValue<Buffer, Buffer>, fromMs: number, toMs: number): KeyValue<Buffer, Buffer> | undefined {
    const t = this.schema.segmentTimeMs(e.key)
    return t < fromMs || t > toMs ? undefined : e
  }

  /** Applies changelog records: their keys are store keys without the segment id. */
  private restore(records: ReadonlyArray<{ key: Buffer; value: Buffer | null }>): void {
    const ks = this.ks()
    const batch: KeyspaceWrite[] = []
    const times: number[] = []
    for (const r of records) {
      const t = this.schema.changelogTimeMs(r.key)
      const segment = this.segments.segmentForWrite(t, ks)
      if (segment < 0) continue
      batch.push({ key: this.schema.storeKey(segment, r.key), value: r.value })
      times.push(t)
    }
    ks.write(liveOnly(batch, times, this.segments.minLiveTimeMs))
  }

  private ks(): Keyspace {
    if (this.keyspace === undefined) throw new StoreNotOpenError(this.name)
    return this.keyspace
  }
}
