import type { SessionBytesStore, SessionWrite } from './bytes-stores.ts'
import { StoreNotOpenError, StateStoreError } from './errors.ts'
import { ChainedIterator, EmptyIterator, MappedIterator } from './iterators.ts'
import {
  checkTimestamp, decodeSessionChangelogKey, encodeSessionChangelogKey, encodeSessionKey, readUInt64BE,
  SEGMENT_PREFIX_BYTES, SESSION_SUFFIX_BYTES, writeUInt64BE
} from './key-schema.ts'
import type { Keyspace, KeyspaceSupplier, KeyspaceWrite } from './keyspace.ts'
import { liveOnly, Segments, segmentKeyBounds } from './segments.ts'
import type { KeyValueIterator, StateStoreContext, Windowed } from './types.ts'

/** Options of a session store (validated by `Stores`). */
export interface SessionStoreOptions {
  retentionMs: number
  segmentIntervalMs: number
}

/**
 * The inner session store: sessions keyed by record key, end and start in segments by session end
 * (layout above `encodeSessionKey`). Retention counts back from the largest session end written.
 */
export class SegmentedSessionStore implements SessionBytesStore {
  readonly name: string
  readonly persistent: boolean
  readonly retentionMs: number
  readonly segmentIntervalMs: number
  private readonly supplier: KeyspaceSupplier
  private readonly segments: Segments
  private keyspace: Keyspace | undefined

  constructor(name: string, supplier: KeyspaceSupplier, options: SessionStoreOptions) {
    this.name = name
    this.supplier = supplier
    this.persistent = supplier.persistent
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

  put(session: Windowed<Buffer>, value: Buffer): Buffer | null {
    return this.write(session.key, session.window.startMs, session.window.endMs, value)
  }

  remove(session: Windowed<Buffer>): Buffer | null {
    return this.write(session.key, session.window.startMs, session.window.endMs, null)
  }

  writeBatch(writes: ReadonlyArray<SessionWrite>): Array<Buffer | null> {
    const ks = this.ks()
    const batch: KeyspaceWrite[] = []
    const times: number[] = []
    const logged: Array<Buffer | null> = []
    for (const w of writes) {
      this.check(w.startMs, w.endMs)
      const segment = this.segments.segmentForWrite(w.endMs, ks)
      if (segment < 0) {
        logged.push(null)
        continue
      }
      batch.push({ key: encodeSessionKey(segment, w.key, w.endMs, w.startMs), value: w.value })
      times.push(w.endMs)
      logged.push(encodeSessionChangelogKey(w.key, w.endMs, w.startMs))
    }
    ks.write(liveOnly(batch, times, this.segments.minLiveTimeMs))
    return logged
  }

  findSessions(key: Buffer, earliestSessionEndMs: number, latestSessionStartMs: number): KeyValueIterator<Windowed<Buffer>, Buffer> {
    const ks = this.ks()
    const earliestEnd = Math.max(earliestSessionEndMs, this.segments.minLiveTimeMs, 0)
    if (latestSessionStartMs < 0) return new EmptyIterator()
    // A session ends at or after it starts, and no session ends after the observed stream time.
    const ids = this.segments.between(this.segments.segmentId(earliestEnd), Number.MAX_SAFE_INTEGER)
    const low = Buffer.alloc(SESSION_SUFFIX_BYTES, 0)
    writeUInt64BE(low, earliestEnd, 0)
    const high = Buffer.alloc(SESSION_SUFFIX_BYTES, 0xff)
    const keyLength = key.length
    const latestStart = latestSessionStartMs
    return new ChainedIterator(ids.map((id) => () => {
      const [lo, hi] = segmentKeyBounds(id, key, low, high)
      return new MappedIterator(ks.range(lo, hi, true), (e) => {
        if (e.key.length !== SEGMENT_PREFIX_BYTES + keyLength + SESSION_SUFFIX_BYTES) return undefined
        const startMs = readUInt64BE(e.key, SEGMENT_PREFIX_BYTES + keyLength + 8)
        if (startMs > latestStart) return undefined
        const sessionKey = e.key.subarray(SEGMENT_PREFIX_BYTES, SEGMENT_PREFIX_BYTES + keyLength)
        if (!sessionKey.equals(key)) return undefined
        const endMs = readUInt64BE(e.key, SEGMENT_PREFIX_BYTES + keyLength)
        return { key: { key: sessionKey, window: { startMs, endMs } }, value: e.value }
      })
    }))
  }

  fetchSession(key: Buffer, sessionStartMs: number, sessionEndMs: number): Buffer | undefined {
    const ks = this.ks()
    if (sessionStartMs < 0 || sessionEndMs < sessionStartMs || sessionEndMs < this.segments.minLiveTimeMs) return undefined
    return ks.get(encodeSessionKey(this.segments.segmentId(sessionEndMs), key, sessionEndMs, sessionStartMs))
  }

  fetch(key: Buffer): KeyValueIterator<Windowed<Buffer>, Buffer> {
    return this.findSessions(key, 0, Number.MAX_SAFE_INTEGER)
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

  private write(key: Buffer, startMs: number, endMs: number, value: Buffer | null): Buffer | null {
    this.check(startMs, endMs)
    const ks = this.ks()
    const segment = this.segments.segmentForWrite(endMs, ks)
    if (segment < 0) return null
    ks.put(encodeSessionKey(segment, key, endMs, startMs), value)
    return encodeSessionChangelogKey(key, endMs, startMs)
  }

  private check(startMs: number, endMs: number): void {
    checkSession(this.name, startMs, endMs)
  }

  private restore(records: ReadonlyArray<{ key: Buffer; value: Buffer | null }>): void {
    const ks = this.ks()
    const batch: KeyspaceWrite[] = []
    const times: number[] = []
    for (const r of records) {
      const { key, endMs, startMs } = decodeSessionChangelogKey(r.key)
      const segment = this.segments.segmentForWrite(endMs, ks)
      if (segment < 0) continue
      batch.push({ key: encodeSessionKey(segment, key, endMs, startMs), value: r.value })
      times.push(endMs)
    }
    ks.write(liveOnly(batch, times, this.segments.minLiveTimeMs))
  }

  private ks(): Keyspace {
    if (this.keyspace === undefined) throw new StoreNotOpenError(this.name)
    return this.keyspace
  }
}

/** Throws a clear error unless `[startMs, endMs]` is a valid session of store `storeName`. */
export function checkSession(storeName: string, startMs: number, endMs: number): void {
  checkTimestamp(startMs, `session start of store "${storeName}"`)
  checkTimestamp(endMs, `session end of store "${storeName}"`)
  if (endMs < startMs) {
    throw new StateStoreError('STATE_BAD_SESSION', `session of store "${storeName}" ends (${endMs}) before it starts (${startMs})`)
  }
}
