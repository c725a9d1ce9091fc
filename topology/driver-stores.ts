/**
 * Read-only views that merge one store across the driver's tasks (one instance per partition):
 * point lookups return the first hit (a key lives in one partition), scans concatenate per-partition
 * results in partition order (not globally sorted).
 */
import type { KeyValue, KeyValueIterator, ReadOnlyKeyValueStore, ReadOnlySessionStore, ReadOnlyWindowStore } from '../state/index.ts'
import type { Serde } from '../schemas/index.ts'

/** An iterator over an array (for merged results). */
export function arrayIterator<K, V>(items: Array<KeyValue<K, V>>): KeyValueIterator<K, V> {
  let index = 0
  const iterator: KeyValueIterator<K, V> = {
    next(): IteratorResult<KeyValue<K, V>> {
      if (index < items.length) return { value: items[index++] as KeyValue<K, V>, done: false }
      return { value: undefined, done: true }
    },
    close() {
      index = items.length
    },
    [Symbol.iterator]() {
      return iterator
    },
    [Symbol.dispose]() {
      iterator.close()
    }
  }
  return iterator
}

function drain<K, V>(iterators: Array<KeyValueIterator<K, V>>): Array<KeyValue<K, V>> {
  const out: Array<KeyValue<K, V>> = []
  for (const iterator of iterators) {
    try {
      for (const entry of iterator) out.push(entry)
    } finally {
      iterator.close()
    }
  }
  return out
}

export function mergedKeyValueStore<K, V>(stores: ReadonlyArray<ReadOnlyKeyValueStore<K, V>>): ReadOnlyKeyValueStore<K, V> {
  return {
    get: (key) => {
      for (const store of stores) {
        const value = store.get(key)
        if (value !== undefined) return value
      }
      return undefined
    },
    range: (from, to) => arrayIterator(drain(stores.map((s) => s.range(from, to)))),
    prefixScan: <P>(prefix: P, prefixSerde: Serde<P>) => arrayIterator(drain(stores.map((s) => s.prefixScan(prefix, prefixSerde)))),
    all: () => arrayIterator(drain(stores.map((s) => s.all()))),
    approximateNumEntries: () => stores.reduce((n, s) => n + s.approximateNumEntries(), 0)
  }
}

export function mergedWindowStore<K, V>(stores: ReadonlyArray<ReadOnlyWindowStore<K, V>>): ReadOnlyWindowStore<K, V> {
  return {
    fetchWindow: (key, windowStartMs) => {
      for (const store of stores) {
        const value = store.fetchWindow(key, windowStartMs)
        if (value !== undefined) return value
      }
      return undefined
    },
    fetch: (key, fromMs, toMs) => arrayIterator(drain(stores.map((s) => s.fetch(key, fromMs, toMs))).sort((a, b) => a.key - b.key)),
    fetchAll: (fromMs, toMs) => arrayIterator(drain(stores.map((s) => s.fetchAll(fromMs, toMs)))),
    all: () => arrayIterator(drain(stores.map((s) => s.all())))
  }
}

export function mergedSessionStore<K, V>(stores: ReadonlyArray<ReadOnlySessionStore<K, V>>): ReadOnlySessionStore<K, V> {
  return {
    findSessions: (key, earliestEndMs, latestStartMs) => arrayIterator(drain(stores.map((s) => s.findSessions(key, earliestEndMs, latestStartMs)))),
    fetchSession: (key, startMs, endMs) => {
      for (const store of stores) {
        const value = store.fetchSession(key, startMs, endMs)
        if (value !== undefined) return value
      }
      return undefined
    },
    fetch: (key) => arrayIterator(drain(stores.map((s) => s.fetch(key))))
  }
}
