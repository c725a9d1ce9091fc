/**
 * Stateless stream operators as processors (Kafka Streams' KStreamFilter, KStreamMap, ...).
 * Every mapper receives `(value, key)` for value mappers and `(key, value)` for key-aware ones.
 */
import type { Processor, ProcessorContext, ProcessorSupplier, StreamRecord } from '../api.ts'
import type { KeyValue } from '../../state/index.ts'

/** Keeps records for which `predicate` is true (or false, with `negate`). */
export function filterProcessor<K, V>(predicate: (key: K, value: V) => boolean, negate = false): ProcessorSupplier<K, V, K, V> {
  return () => {
    let context: ProcessorContext<K, V>
    return {
      init(ctx) {
        context = ctx
      },
      process(record) {
        if (predicate(record.key, record.value) !== negate) context.forward(record)
      }
    }
  }
}

/** Replaces key and value (`map`, `selectKey`). */
export function mapProcessor<K, V, KR, VR>(mapper: (key: K, value: V) => KeyValue<KR, VR>): ProcessorSupplier<K, V, KR, VR> {
  return () => {
    let context: ProcessorContext<KR, VR>
    return {
      init(ctx) {
        context = ctx
      },
      process(record) {
        const out = mapper(record.key, record.value)
        context.forward({ key: out.key, value: out.value, timestampMs: record.timestampMs, headers: record.headers })
      }
    }
  }
}

/** Replaces the value, keeping the key. */
export function mapValuesProcessor<K, V, VR>(mapper: (value: V, key: K) => VR): ProcessorSupplier<K, V, K, VR> {
  return () => {
    let context: ProcessorContext<K, VR>
    return {
      init(ctx) {
        context = ctx
      },
      process(record) {
        context.forward({ key: record.key, value: mapper(record.value, record.key), timestampMs: record.timestampMs, headers: record.headers })
      }
    }
  }
}

/** Zero or more records per input record. */
export function flatMapProcessor<K, V, KR, VR>(mapper: (key: K, value: V) => Iterable<KeyValue<KR, VR>>): ProcessorSupplier<K, V, KR, VR> {
  return () => {
    let context: ProcessorContext<KR, VR>
    return {
      init(ctx) {
        context = ctx
      },
      process(record) {
        for (const out of mapper(record.key, record.value)) {
          context.forward({ key: out.key, value: out.value, timestampMs: record.timestampMs, headers: record.headers })
        }
      }
    }
  }
}

/** Zero or more values per input record, keeping the key. */
export function flatMapValuesProcessor<K, V, VR>(mapper: (value: V, key: K) => Iterable<VR>): ProcessorSupplier<K, V, K, VR> {
  return () => {
    let context: ProcessorContext<K, VR>
    return {
      init(ctx) {
        context = ctx
      },
      process(record) {
        for (const value of mapper(record.value, record.key)) {
          context.forward({ key: record.key, value, timestampMs: record.timestampMs, headers: record.headers })
        }
      }
    }
  }
}

/** Calls `action` and forwards the record unchanged (`peek`); as a leaf it is `foreach`. */
export function peekProcessor<K, V>(action: (key: K, value: V) => void): ProcessorSupplier<K, V, K, V> {
  return () => {
    let context: ProcessorContext<K, V>
    return {
      init(ctx) {
        context = ctx
      },
      process(record) {
        action(record.key, record.value)
        context.forward(record)
      }
    }
  }
}

/** Forwards every record unchanged (merge points, repartition filters). */
export function passThroughProcessor<K, V>(): ProcessorSupplier<K, V, K, V> {
  return () => {
    let context: ProcessorContext<K, V>
    return {
      init(ctx) {
        context = ctx
      },
      process(record) {
        context.forward(record)
      }
    }
  }
}

/** Drops records with a null key (before a repartition topic, as Kafka Streams' repartition filter). */
export function dropNullKeyProcessor<K, V>(): ProcessorSupplier<K, V, K, V> {
  return () => {
    let context: ProcessorContext<K, V>
    return {
      init(ctx) {
        context = ctx
      },
      process(record: StreamRecord<K, V>) {
        if (record.key !== null && record.key !== undefined) context.forward(record)
      }
    }
  }
}

/**
 * `split()`: each record goes to the first branch whose predicate matches, or to the default
 * branch (if any). `branches` pairs each predicate with the child node name it forwards to.
 */
export function branchProcessor<K, V>(
  branches: ReadonlyArray<{ predicate: (key: K, value: V) => boolean; child: string }>,
  defaultChild: string | undefined
): ProcessorSupplier<K, V, K, V> {
  return () => {
    let context: ProcessorContext<K, V>
    const processor: Processor<K, V, K, V> = {
      init(ctx) {
        context = ctx
      },
      process(record) {
        for (const branch of branches) {
          if (branch.predicate(record.key, record.value)) {
            context.forward(record, branch.child)
            return
          }
        }
        if (defaultChild !== undefined) context.forward(record, defaultChild)
      }
    }
    return processor
  }
}
