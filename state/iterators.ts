import type { KeyValue, KeyValueIterator } from './types.ts'

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined }

/**
 * Base of every store iterator: subclasses produce entries one at a time and release resources
 * (RocksDB iterators) once, when exhausted, closed, disposed, or left early by `break`.
 */
export abstract class StoreIterator<K, V> implements KeyValueIterator<K, V> {
  private finished = false

  /** The next entry, or undefined at the end. */
  protected abstract advance(): KeyValue<K, V> | undefined

  /** Frees what the iterator holds; called exactly once. */
  protected release(): void {}

  next(): IteratorResult<KeyValue<K, V>, undefined> {
    if (this.finished) return DONE
    const entry = this.advance()
    if (entry === undefined) {
      this.close()
      return DONE
    }
    return { done: false, value: entry }
  }

  /** Called by `for...of` when the loop exits early. */
  return(): IteratorResult<KeyValue<K, V>, undefined> {
    this.close()
    return DONE
  }

  close(): void {
    if (this.finished) return
    this.finished = true
    this.release()
  }

  [Symbol.iterator](): this {
    return this
  }

  [Symbol.dispose](): void {
    this.close()
  }
}

/** An iterator over nothing. */
export class EmptyIterator<K, V> extends StoreIterator<K, V> {
  protected advance(): undefined {
    return undefined
  }
}

/** Maps each entry of an inner iterator; `map` returns undefined to skip an entry. */
export class MappedIterator<KIn, VIn, KOut, VOut> extends StoreIterator<KOut, VOut> {
  private readonly inner: KeyValueIterator<KIn, VIn>
  private readonly map: (entry: KeyValue<KIn, VIn>) => KeyValue<KOut, VOut> | undefined

  constructor(inner: KeyValueIterator<KIn, VIn>, map: (entry: KeyValue<KIn, VIn>) => KeyValue<KOut, VOut> | undefined) {
    super()
    this.inner = inner
    this.map = map
  }

  protected advance(): KeyValue<KOut, VOut> | undefined {
    for (;;) {
      const r = this.inner.next()
      if (r.done === true) return undefined
      const mapped = this.map(r.value)
      if (mapped !== undefined) return mapped
    }
  }

  protected override release(): void {
    this.inner.close()
  }
}

/** Concatenates iterators opened lazily, one after the other (one per segment, say). */
export class ChainedIterator<K, V> extends StoreIterator<K, V> {
  private readonly open: Array<() => KeyValueIterator<K, V>>
  private position = 0
  private current: KeyValueIterator<K, V> | undefined

  constructor(open: Array<() => KeyValueIterator<K, V>>) {
    super()
    this.open = open
  }

  protected advance(): KeyValue<K, V> | undefined {
    for (;;) {
      if (this.current === undefined) {
        const opener = this.open[this.position++]
        if (opener === undefined) return undefined
        this.current = opener()
      }
      const r = this.current.next()
      if (r.done !== true) return r.value
      this.current.close()
      this.current = undefined
    }
  }

  protected override release(): void {
    this.current?.close()
    this.current = undefined
  }
}
