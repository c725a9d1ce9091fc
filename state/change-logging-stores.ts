/**
 * Change-logging layers: every write that reaches the inner store is also handed to
 * `context.logChange`, which the runtime produces to `<app id>-<store>-changelog` (compacted, same
 * partition as the task). Each layer builds its changelog keys itself; window and session changelog
 * keys carry the window (see key-schema.ts), so restore can rebuild the inner store from the topic
 * alone. Reads pass straight through.
 */
import type { KeyValueBytesStore, KeyValueWrite, SegmentedBytesStore, SegmentedWrite } from './bytes-stores.ts'
import { StoreNotOpenError } from './errors.ts'
import type { SegmentedKeySchema } from './key-schema.ts'
import type { Serde } from '../schemas/index.ts'
import type { KeyValue, KeyValueIterator, StateStore } from './types.ts'
import { WrappedStore } from './wrapped-store.ts'

/** What both logging layers share: logging to the context `init` got. */
abstract class LoggingLayer<TInner extends StateStore> extends WrappedStore<TInner> {
  protected log(key: Buffer, value: Buffer | null, timestampMs: number): void {
    if (this.context === undefined) throw new StoreNotOpenError(this.name)
    this.context.logChange(this.name, key, value, timestampMs)
  }

  protected now(): number {
    if (this.context === undefined) throw new StoreNotOpenError(this.name)
    return this.context.currentTimestampMs()
  }
}

export class ChangeLoggingKeyValueStore extends LoggingLayer<KeyValueBytesStore> implements KeyValueBytesStore {
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

  get(key: Buffer): Buffer | undefined {
    return this.inner.get(key)
  }
  range(from?: Buffer, to?: Buffer): KeyValueIterator<Buffer, Buffer> {
    return this.inner.range(from, to)
  }
  prefixScan<P>(prefix: P, prefixSerde: Serde<P>): KeyValueIterator<Buffer, Buffer> {
    return this.inner.prefixScan(prefix, prefixSerde)
  }
  all(): KeyValueIterator<Buffer, Buffer> {
    return this.inner.all()
  }
  approximateNumEntries(): number {
    return this.inner.approximateNumEntries()
  }
}

/**
 * Logs window and session writes: the changelog key is the store key without its segment id (the
 * key schema's `changelogKey`), so it carries the window or session. Writes the inner store drops
 * as already past retention are not logged.
 */
export class ChangeLoggingSegmentedStore extends LoggingLayer<SegmentedBytesStore> implements SegmentedBytesStore {
  // Fixed when the store below was built: taken from it once.
  readonly schema: SegmentedKeySchema = this.inner.schema
  readonly retentionMs: number = this.inner.retentionMs
  readonly segmentIntervalMs: number = this.inner.segmentIntervalMs

  get observedStreamTimeMs(): number {
    return this.inner.observedStreamTimeMs
  }

  put(storeKey: Buffer, value: Buffer | null): boolean {
    const taken = this.inner.put(storeKey, value)
    if (taken) this.log(this.inner.schema.changelogKey(storeKey), value, this.now())
    return taken
  }

  writeBatch(writes: ReadonlyArray<SegmentedWrite>): boolean[] {
    const taken = this.inner.writeBatch(writes)
    const schema = this.inner.schema
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i] as SegmentedWrite
      if (taken[i] === true) this.log(schema.changelogKey(w.key), w.value, w.timestampMs)
    }
    return taken
  }

  get(storeKey: Buffer): Buffer | undefined {
    return this.inner.get(storeKey)
  }
  fetch(key: Buffer, fromMs: number, toMs: number): KeyValueIterator<Buffer, Buffer> {
    return this.inner.fetch(key, fromMs, toMs)
  }
  fetchAll(fromMs: number, toMs: number): KeyValueIterator<Buffer, Buffer> {
    return this.inner.fetchAll(fromMs, toMs)
  }
  all(): KeyValueIterator<Buffer, Buffer> {
    return this.inner.all()
  }
}
