/**
 * A store layer over another store (Kafka Streams' `WrappedStateStore`): the name, persistence and
 * lifecycle pass through to the store below, and each layer (caching, change-logging, metering, the
 * timestamped window view) overrides only what it adds.
 */
import type { StateStore, StateStoreContext } from './types.ts'

export abstract class WrappedStore<TInner extends StateStore> {
  readonly name: string
  protected readonly inner: TInner
  /** The context `init` got; undefined before it. */
  protected context: StateStoreContext | undefined

  constructor(inner: TInner) {
    this.name = inner.name
    this.inner = inner
  }

  get persistent(): boolean {
    return this.inner.persistent
  }
  get isOpen(): boolean {
    return this.inner.isOpen
  }

  async init(context: StateStoreContext): Promise<void> {
    this.context = context
    await this.inner.init(context)
  }

  flush(): void {
    this.inner.flush()
  }

  async close(): Promise<void> {
    await this.inner.close()
  }
}
