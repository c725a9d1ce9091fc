import type { WindowBytesStore, WindowWrite } from './bytes-stores.ts'
import { StoreNotOpenError } from './errors.ts'
import { ChainedIterator, EmptyIterator, MappedIterator } from './iterators.ts'
import {
  checkTimestamp, decodeWindowChangelogKey, encodeWindowChangelogKey, encodeWindowKey, readUInt64BE,
  SEGMENT_PREFIX_BYTES, segmentPrefix, WINDOW_SUFFIX_BYTES, writeUInt64BE
} from './key-schema.ts'
import type { Keyspace, KeyspaceSupplier, KeyspaceWrite } from './keyspace.ts'
import { liveOnly, Segments, SEGMENTS_END, segmentKeyBounds } from './segments.ts'
import type { KeyValue, KeyValueIterator, StateStoreContext, Windowed } from './types.ts'

/** Options of a window store (validated by `Stores`). */
export interface WindowStoreOptions {
  retentionMs: number
  windowSizeMs: number
  retainDuplicates: boolean
  segmentIntervalMs: number
}

/**
 * The inner window store: entries keyed by record key and window start in time-bucketed segments
 * of one keyspace (layout above `encodeWindowKey`). Retention counts back from the largest window
 * start written; reads never return windows older than that, and whole segments are dropped.
 */
export class SegmentedWindowStore implements WindowBytesStore {
  readonly name: string
  readonly persistent: boolean
  readonly retentionMs: number
  readonly windowSizeMs: number
  readonly retainDuplicates: boolean
  readonly segmentIntervalMs: number
  private readonly supplier: KeyspaceSupplier
  private readonly segments: Segments
  private keyspace: Keyspace | undefined
  private seq = 0

  constructor(name: string, supplier: KeyspaceSupplier, options: WindowStoreOptions) {
    this.name = name
    this.supplier = supplier
    this.persistent = supplier.persistent
    this.retentionMs = options.retentionMs
    this.windowSizeMs = options.windowSizeMs
    this.retainDuplicates = options.retainDuplicates
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

  put(key: Buffer, value: Buffer | null, windowStartMs: number): Buffer | null {
    checkTimestamp(windowStartMs, `window start of store "${this.name}"`)
    const ks = this.ks()
    // With duplicates every put is a new entry; a null (delete) then means nothing (as in Kafka Streams).
    if (this.retainDuplicates && value === null) return null
    const segment = this.segments.segmentForWrite(windowStartMs, ks)
    if (segment < 0) return null
    const seq = this.retainDuplicates ? this.nextSeq() : 0
    ks.put(encodeWindowKey(segment, key, windowStartMs, seq), value)
    return encodeWindowChangelogKey(key, windowStartMs, seq)
  }

  writeBatch(writes: ReadonlyArray<WindowWrite>): Array<Buffer | null> {
    const ks = this.ks()
    const batch: KeyspaceWrite[] = []
    const times: number[] = []
    const logged: Array<Buffer | null> = []
    for (const w of writes) {
      checkTimestamp(w.windowStartMs, `window start of store "${this.name}"`)
      const segment = this.segments.segmentForWrite(w.windowStartMs, ks)
      if (segment < 0 || (this.retainDuplicates && w.value === null)) {
        logged.push(null)
        continue
      }
      const seq = this.retainDuplicates ? this.nextSeq() : 0
      batch.push({ key: encodeWindowKey(segment, w.key, w.windowStartMs, seq), value: w.value })
      times.push(w.windowStartMs)
      logged.push(encodeWindowChangelogKey(w.key, w.windowStartMs, seq))
    }
    ks.write(liveOnly(batch, times, this.segments.minLiveTimeMs))
    return logged
  }

  fetchWindow(key: Buffer, windowStartMs: number): Buffer | undefined {
    const ks = this.ks()
    if (windowStartMs < this.segments.minLiveTimeMs || windowStartMs < 0) return undefined
    const segment = this.segments.segmentId(windowStartMs)
    if (!this.retainDuplicates) return ks.get(encodeWindowKey(segment, key, windowStartMs, 0))
    const it = this.fetch(key, windowStartMs, windowStartMs)
    const first = it.next()
    it.close()
    return first.done === true ? undefined : first.value.value
  }

  fetch(key: Buffer, fromMs: number, toMs: number): KeyValueIterator<number, Buffer> {
    const ks = this.ks()
    const from = Math.max(fromMs, this.segments.minLiveTimeMs, 0)
    if (toMs < from) return new EmptyIterator()
    const ids = this.segments.between(this.segments.segmentId(from), this.segments.segmentId(toMs))
    const low = Buffer.alloc(WINDOW_SUFFIX_BYTES, 0)
    writeUInt64BE(low, from, 0)
    const high = Buffer.alloc(WINDOW_SUFFIX_BYTES, 0xff)
    writeUInt64BE(high, Math.min(toMs, Number.MAX_SAFE_INTEGER), 0)
    const keyLength = key.length
    return new ChainedIterator(ids.map((id) => () => {
      const [lo, hi] = segmentKeyBounds(id, key, low, high)
      return new MappedIterator<Buffer, Buffer, number, Buffer>(ks.range(lo, hi, true), (e) => {
        // A longer key starting with `key` can sort inside the bounds: keep exact matches only.
        if (e.key.length !== SEGMENT_PREFIX_BYTES + keyLength + WINDOW_SUFFIX_BYTES) return undefined
        if (!e.key.subarray(SEGMENT_PREFIX_BYTES, SEGMENT_PREFIX_BYTES + keyLength).equals(key)) return undefined
        return { key: readUInt64BE(e.key, SEGMENT_PREFIX_BYTES + keyLength), value: e.value }
      })
    }))
  }

  fetchAll(fromMs: number, toMs: number): KeyValueIterator<Windowed<Buffer>, Buffer> {
    const ks = this.ks()
    const from = Math.max(fromMs, this.segments.minLiveTimeMs, 0)
    if (toMs < from) return new EmptyIterator()
    const ids = this.segments.between(this.segments.segmentId(from), this.segments.segmentId(toMs))
    return new ChainedIterator(ids.map((id) => () =>
      new MappedIterator(ks.range(segmentPrefix(id), segmentPrefix(id + 1), false), (e) => this.decode(e, from, toMs))))
  }

  all(): KeyValueIterator<Windowed<Buffer>, Buffer> {
    const ks = this.ks()
    const from = Math.max(this.segments.minLiveTimeMs, 0)
    return new MappedIterator(ks.range(undefined, SEGMENTS_END, false), (e) => this.decode(e, from, Number.MAX_SAFE_INTEGER))
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

  private decode(e: KeyValue<Buffer, Buffer>, fromMs: number, toMs: number): KeyValue<Windowed<Buffer>, Buffer> | undefined {
    const n = e.key.length - SEGMENT_PREFIX_BYTES - WINDOW_SUFFIX_BYTES
    const startMs = readUInt64BE(e.key, SEGMENT_PREFIX_BYTES + n)
    if (startMs < fromMs || startMs > toMs) return undefined
    return {
      key: { key: e.key.subarray(SEGMENT_PREFIX_BYTES, SEGMENT_PREFIX_BYTES + n), window: { startMs, endMs: startMs + this.windowSizeMs } },
      value: e.value
    }
  }

  /** Applies changelog records: keys carry the window start and sequence, so duplicates survive. */
  private restore(records: ReadonlyArray<{ key: Buffer; value: Buffer | null }>): void {
    const ks = this.ks()
    const batch: KeyspaceWrite[] = []
    const times: number[] = []
    for (const r of records) {
      const { key, windowStartMs, seq } = decodeWindowChangelogKey(r.key)
      const segment = this.segments.segmentForWrite(windowStartMs, ks)
      if (segment < 0) continue
      if (seq >= this.seq) this.seq = seq + 1
      batch.push({ key: encodeWindowKey(segment, key, windowStartMs, seq), value: r.value })
      times.push(windowStartMs)
    }
    ks.write(liveOnly(batch, times, this.segments.minLiveTimeMs))
  }

  private nextSeq(): number {
    const s = this.seq
    this.seq = (this.seq + 1) >>> 0
    return s
  }

  private ks(): Keyspace {
    if (this.keyspace === undefined) throw new StoreNotOpenError(this.name)
    return this.keyspace
  }
}

