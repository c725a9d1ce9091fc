/**
 * The local store of the query API: one key-value store of state/ outside any stream task. It is
 * rebuilt from the topics on every start (the topics are the source of truth and the API keeps no
 * offsets), so a persistent store's folder is wiped when it opens.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { bytesSerde } from '../schemas/index.ts'
import { Stores, type KeyValueStore, type StateStoreContext } from '../state/index.ts'

/** Where the materialized sessions live: RocksDB on disk, or memory (tests, small deployments). */
export const StoreKinds = { rocksdb: 'rocksdb', memory: 'memory' } as const
export type StoreKindName = (typeof StoreKinds)[keyof typeof StoreKinds]

/** Opens the query API's session store; `dir` is this instance's own folder (RocksDB only). */
export async function openQueryStore(kind: StoreKindName, dir: string): Promise<KeyValueStore<Buffer, Buffer>> {
  const supplier = kind === StoreKinds.rocksdb ? Stores.persistentKeyValueStore('sessions') : Stores.inMemoryKeyValueStore('sessions')
  // No changelog (the output topic is the log) and no cache (reads must see every write).
  const store = Stores.keyValueStoreBuilder(supplier, bytesSerde, bytesSerde).withLoggingDisabled().withCachingDisabled().build()
  if (kind === StoreKinds.rocksdb) await rm(join(dir, 'rocksdb'), { recursive: true, force: true })
  const context: StateStoreContext = {
    applicationId: 'query-api',
    taskId: 'query-api',
    partition: 0,
    taskStateDir: dir,
    cacheMaxBytes: 0,
    currentTimestampMs: () => Date.now(),
    logChange: () => {
      throw new Error('query-api store has no changelog')
    },
    // Nothing to restore from a changelog: the materializer replays the topics instead.
    register: () => undefined
  }
  await store.init(context)
  return store
}
