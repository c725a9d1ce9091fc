/**
 * `GlobalKTable<K, V>`: a table replicated in full to every task, filled from all partitions of its
 * topic; streams join it by a key they compute (`KStream.joinGlobal`), with no co-partitioning.
 */
import type { TableValueGetter } from '../processors/index.ts'

export class GlobalKTable<K, V> {
  /** The global store holding the table. */
  readonly storeName: string
  /** @internal */
  readonly getter: TableValueGetter<K, V>

  /** @internal Use `StreamsBuilder.globalTable`. */
  constructor(storeName: string, getter: TableValueGetter<K, V>) {
    this.storeName = storeName
    this.getter = getter
  }

  /** The name of the store that holds this table (queryable). */
  get queryableStoreName(): string {
    return this.storeName
  }
}
