/**
 * Forwards table updates (`Change`) either on every write (no cache) or when the store's cache
 * flushes (Kafka Streams' TimestampedTupleForwarder): with caching, at most one update per key per commit.
 */
import type { CachedStateStore, StateStore } from '../../state/index.ts'
import type { ProcessorContext, RecordHeaders } from '../api.ts'
import type { Change } from '../change.ts'

function isCachedStore(store: StateStore): store is StateStore & CachedStateStore<unknown, unknown> {
  return typeof (store as Partial<CachedStateStore<unknown, unknown>>).setFlushListener === 'function'
}

export class TableForwarder<K, V> {
  private readonly context: ProcessorContext<K, Change<V>>
  private readonly cached: boolean

  /** Installs a flush listener on `store` when it has a cache. */
  constructor(store: StateStore, context: ProcessorContext<K, Change<V>>) {
    this.context = context
    this.cached =
      isCachedStore(store) &&
      store.setFlushListener((change) => {
        context.forward({
          key: change.key as K,
          value: { newValue: (change.newValue ?? null) as V | null, oldValue: (change.oldValue ?? null) as V | null },
          timestampMs: change.timestampMs,
          headers: {}
        })
      }, true)
  }

  /** True when updates are emitted on cache flush rather than on write. */
  get isCached(): boolean {
    return this.cached
  }

  /** Forwards now unless the cache will forward on flush. */
  maybeForward(key: K, newValue: V | null, oldValue: V | null, timestampMs: number, headers: RecordHeaders = {}): void {
    if (this.cached) return
    this.context.forward({ key, value: { newValue, oldValue }, timestampMs, headers })
  }
}
