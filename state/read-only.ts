/**
 * Read-only views of stores for queries (the query API): they forward reads and expose no writes,
 * not even through a cast, so a query can never change a task's state or emit from its cache.
 */
import type { Serde } from '../schemas/index.ts'
import type { KeyValueIterator, ReadOnlyKeyValueStore, ReadOnlySessionStore, ReadOnlyWindowStore, Windowed } from './types.ts'

class ReadOnlyKeyValueView<K, V> implements ReadOnlyKeyValueStore<K, V> {
  private readonly store: ReadOnlyKeyValueStore<K, V>
  constructor(store: ReadOnlyKeyValueStore<K, V>) {
    this.store = store
  }
  get(key: K): V | undefined {
    return this.store.get(key)
  }
  range(from?: K, to?: K): KeyValueIterator<K, V> {
    return this.store.range(from, to)
  }
  prefixScan<P>(prefix: P, prefixSerde: Serde<P>): KeyValueIterator<K, V> {
    return this.store.prefixScan(prefix, prefixSerde)
  }
  all(): KeyValueIterator<K, V> {
    return this.store.all()
  }
  approximateNumEntries(): number {
    return this.store.approximateNumEntries()
  }
}

class ReadOnlyWindowView<K, V> implements ReadOnlyWindowStore<K, V> {
  private readonly store: ReadOnlyWindowStore<K, V>
  constructor(store: ReadOnlyWindowStore<K, V>) {
    this.store = store
  }
  fetchWindow(key: K, windowStartMs: number): V | undefined {
    return this.store.fetchWindow(key, windowStartMs)
  }
  fetch(key: K, fromMs: number, toMs: number): KeyValueIterator<number, V> {
    return this.store.fetch(key, fromMs, toMs)
  }
  fetchAll(fromMs: number, toMs: number): KeyValueIterator<Windowed<K>, V> {
    return this.store.fetchAll(fromMs, toMs)
  }
  all(): KeyValueIterator<Windowed<K>, V> {
    return this.store.all()
  }
}

class ReadOnlySessionView<K, V> implements ReadOnlySessionStore<K, V> {
  private readonly store: ReadOnlySessionStore<K, V>
  constructor(store: ReadOnlySessionStore<K, V>) {
    this.store = store
  }
  findSessions(key: K, earliestSessionEndMs: number, latestSessionStartMs: number): KeyValueIterator<Windowed<K>, V> {
    return this.store.findSessions(key, earliestSessionEndMs, latestSessionStartMs)
  }
  fetchSession(key: K, sessionStartMs: number, sessionEndMs: number): V | undefined {
    return this.store.fetchSession(key, sessionStartMs, sessionEndMs)
  }
  fetch(key: K): KeyValueIterator<Windowed<K>, V> {
    return this.store.fetch(key)
  }
}

/** A view of a key-value store that only reads. */
export function readOnlyKeyValueStore<K, V>(store: ReadOnlyKeyValueStore<K, V>): ReadOnlyKeyValueStore<K, V> {
  return new ReadOnlyKeyValueView(store)
}

/** A view of a window store that only reads. */
export function readOnlyWindowStore<K, V>(store: ReadOnlyWindowStore<K, V>): ReadOnlyWindowStore<K, V> {
  return new ReadOnlyWindowView(store)
}

/** A view of a session store that only reads. */
export function readOnlySessionStore<K, V>(store: ReadOnlySessionStore<K, V>): ReadOnlySessionStore<K, V> {
  return new ReadOnlySessionView(store)
}
