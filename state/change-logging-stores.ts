/**
 * Change-logging layers: every write that reaches the inner store is also handed to
 * `context.logChange`, which the runtime produces to `<app id>-<store>-changelog` (compacted, same
 * partition as the task). Window and session changelog keys carry the window (see key-schema.ts),
 * so restore can rebuild the inner store from the topic alone. Reads pass straight through.
 */
import type {
  KeyValueBytesStore, KeyValueWrite, SessionBytesStore, SessionWrite, WindowBytesStore, WindowWrite
} from './bytes-stores.ts'
import { StoreNotOpenError } from './errors.ts'
import type { Serde } from '../schemas/index.ts'
import type { KeyValue, KeyValueIterator, StateStoreContext, Windowed } from './types.ts'

abstract class LoggingLayer {
  readonly name: string
  protected context: StateStoreContext | undefined

  constructor(name: string) {
    this.name = name
  }

  protected log(key: Buffer, value: Buffer | null, timestampMs: number): void {
    if (this.context === undefined) throw new StoreNotOpenError(this.name)
    this.context.logChange(this.name, key, value, timestampMs)
  }

  protected now(): number {
    if (this.context === undefined) throw new StoreNotOpenError(this.name)
    return this.context.currentTimestampMs()
  }
}

export class ChangeLoggingKeyValueStore extends LoggingLayer implements KeyValueBytesStore {
  private readonly inner: KeyValueBytesStore

  constructor(inner: KeyValueBytesStore) {
    super(inner.name)
    this.inner = inner
  }

  get persistent(): boolean { return this.inner.persistent }
  get isOpen(): boolean { return this.inner.isOpen }

  async init(context: StateStoreContext): Promise<void> {
    this.context = context
    await this.inner.init(context)
  }

  put(key: Buffer, value: Buffer | null): void {
    this.inner.put(key, value)
    this.log(key, value, this.now())
  }

  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    const old = this.inner.putIfAbsent(key, value)
    if (old === undefined) this.log(key, value, this.now())
    return old
  }

  putAll(entries: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void {
    this.inner.putAll(entries)
    const ts = this.now()
    for (const e of entries) this.log(e.key, e.value, ts)
  }

  writeBatch(writes: ReadonlyArray<KeyValueWrite>): void {
    this.inner.writeBatch(writes)
    for (const w of writes) this.log(w.key, w.value, w.timestampMs)
  }

  delete(key: Buffer): Buffer | undefined {
    const old = this.inner.delete(key)
    this.log(key, null, this.now())
    return old
  }

  get(key: Buffer): Buffer | undefined { return this.inner.get(key) }
  range(from?: Buffer, to?: Buffer): KeyValueIterator<Buffer, Buffer> { return this.inner.range(from, to) }
  prefixScan<P>(prefix: P, prefixSerde: Serde<P>): KeyValueIterator<Buffer, Buffer> { return this.inner.prefixScan(prefix, prefixSerde) }
  all(): KeyValueIterator<Buffer, Buffer> { return this.inner.all() }
  approximateNumEntries(): number { return this.inner.approximateNumEntries() }
  flush(): void { this.inner.flush() }
  async close(): Promise<void> { await this.inner.close() }
}

export class ChangeLoggingWindowStore extends LoggingLayer implements WindowBytesStore {
  private readonly inner: WindowBytesStore

  constructor(inner: WindowBytesStore) {
    super(inner.name)
    this.inner = inner
  }

  get persistent(): boolean { return this.inner.persistent }
  get isOpen(): boolean { return this.inner.isOpen }
  get windowSizeMs(): number { return this.inner.windowSizeMs }
  get retentionMs(): number { return this.inner.retentionMs }
  get retainDuplicates(): boolean { return this.inner.retainDuplicates }
  get segmentIntervalMs(): number { return this.inner.segmentIntervalMs }
  get observedStreamTimeMs(): number { return this.inner.observedStreamTimeMs }

  async init(context: StateStoreContext): Promise<void> {
    this.context = context
    await this.inner.init(context)
  }

  put(key: Buffer, value: Buffer | null, windowStartMs: number): Buffer | null {
    const logKey = this.inner.put(key, value, windowStartMs)
    if (logKey !== null) this.log(logKey, value, this.now())
    return logKey
  }

  writeBatch(writes: ReadonlyArray<WindowWrite>): Array<Buffer | null> {
    const logKeys = this.inner.writeBatch(writes)
    for (let i = 0; i < writes.length; i++) {
      const logKey = logKeys[i]
      const w = writes[i] as WindowWrite
      if (logKey !== null && logKey !== undefined) this.log(logKey, w.value, w.timestampMs)
    }
    return logKeys
  }

  fetchWindow(key: Buffer, windowStartMs: number): Buffer | undefined { return this.inner.fetchWindow(key, windowStartMs) }
  fetch(key: Buffer, fromMs: number, toMs: number): KeyValueIterator<number, Buffer> { return this.inner.fetch(key, fromMs, toMs) }
  fetchAll(fromMs: number, toMs: number): KeyValueIterator<Windowed<Buffer>, Buffer> { return this.inner.fetchAll(fromMs, toMs) }
  all(): KeyValueIterator<Windowed<Buffer>, Buffer> { return this.inner.all() }
  flush(): void { this.inner.flush() }
  async close(): Promise<void> { await this.inner.close() }
}

export class ChangeLoggingSessionStore extends LoggingLayer implements SessionBytesStore {
  private readonly inner: SessionBytesStore

  constructor(inner: SessionBytesStore) {
    super(inner.name)
    this.inner = inner
  }

  get persistent(): boolean { return this.inner.persistent }
  get isOpen(): boolean { return this.inner.isOpen }
  get retentionMs(): number { return this.inner.retentionMs }
  get segmentIntervalMs(): number { return this.inner.segmentIntervalMs }
  get observedStreamTimeMs(): number { return this.inner.observedStreamTimeMs }

  async init(context: StateStoreContext): Promise<void> {
    this.context = context
    await this.inner.init(context)
  }

  put(session: Windowed<Buffer>, value: Buffer): Buffer | null {
    const logKey = this.inner.put(session, value)
    if (logKey !== null) this.log(logKey, value, this.now())
    return logKey
  }

  remove(session: Windowed<Buffer>): Buffer | null {
    const logKey = this.inner.remove(session)
    if (logKey !== null) this.log(logKey, null, this.now())
    return logKey
  }

  writeBatch(writes: ReadonlyArray<SessionWrite>): Array<Buffer | null> {
    const logKeys = this.inner.writeBatch(writes)
    for (let i = 0; i < writes.length; i++) {
      const logKey = logKeys[i]
      const w = writes[i] as SessionWrite
      if (logKey !== null && logKey !== undefined) this.log(logKey, w.value, w.timestampMs)
    }
    return logKeys
  }

  findSessions(key: Buffer, earliestSessionEndMs: number, latestSessionStartMs: number): KeyValueIterator<Windowed<Buffer>, Buffer> {
    return this.inner.findSessions(key, earliestSessionEndMs, latestSessionStartMs)
  }

  fetchSession(key: Buffer, sessionStartMs: number, sessionEndMs: number): Buffer | undefined {
    return this.inner.fetchSession(key, sessionStartMs, sessionEndMs)
  }

  fetch(key: Buffer): KeyValueIterator<Windowed<Buffer>, Buffer> { return this.inner.fetch(key) }
  flush(): void { this.inner.flush() }
  async close(): Promise<void> { await this.inner.close() }
}
