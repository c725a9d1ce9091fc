import type { KeyValueBytesStore, KeyValueWrite } from './bytes-stores.ts'
import { StoreNotOpenError } from './errors.ts'
import { prefixEnd } from './key-schema.ts'
import type { Keyspace, KeyspaceSupplier } from './keyspace.ts'
import type { Serde } from '../schemas/index.ts'
import type { KeyValue, KeyValueIterator, StateStoreContext } from './types.ts'

/**
 * The inner key-value store: a keyspace (in memory, or a key range of the task's RocksDB database)
 * holding serialized keys and values. Each `put` is one write; the cache above hands flushes down
 * as one `writeBatch`, which is one RocksDB write batch.
 */
export class KeyspaceKeyValueStore implements KeyValueBytesStore {
  readonly name: string
  readonly persistent: boolean
  private readonly supplier: KeyspaceSupplier
  private keyspace: Keyspace | undefined

  constructor(name: string, supplier: KeyspaceSupplier) {
    this.name = name
    this.supplier = supplier
    this.persistent = supplier.persistent
  }

  get isOpen(): boolean {
    return this.keyspace !== undefined
  }

  async init(context: StateStoreContext): Promise<void> {
    this.keyspace = await this.supplier.open(context, this.name)
    context.register(this, (records) => this.ks().write(records))
  }

  get(key: Buffer): Buffer | undefined {
    return this.ks().get(key)
  }

  put(key: Buffer, value: Buffer | null): void {
    this.ks().put(key, value)
  }

  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    const ks = this.ks()
    const old = ks.get(key)
    if (old === undefined) ks.put(key, value)
    return old
  }

  putAll(entries: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void {
    this.ks().write(entries)
  }

  writeBatch(writes: ReadonlyArray<KeyValueWrite>): void {
    this.ks().write(writes)
  }

  delete(key: Buffer): Buffer | undefined {
    const ks = this.ks()
    const old = ks.get(key)
    ks.put(key, null)
    return old
  }

  range(from?: Buffer, to?: Buffer): KeyValueIterator<Buffer, Buffer> {
    return this.ks().range(from, to, true)
  }

  prefixScan<P>(prefix: P, prefixSerde: Serde<P>): KeyValueIterator<Buffer, Buffer> {
    const bytes = prefixSerde.serialize(this.name, prefix)
    return this.ks().range(bytes, prefixEnd(bytes), false)
  }

  all(): KeyValueIterator<Buffer, Buffer> {
    return this.ks().range(undefined, undefined, false)
  }

  approximateNumEntries(): number {
    return this.ks().count()
  }

  flush(): void {
    this.ks()
  }

  async close(): Promise<void> {
    const ks = this.keyspace
    this.keyspace = undefined
    await ks?.close()
  }

  private ks(): Keyspace {
    if (this.keyspace === undefined) throw new StoreNotOpenError(this.name)
    return this.keyspace
  }
}
