/**
 * Table-table joins (Kafka Streams' KTableKTableJoin/LeftJoin/OuterJoin): one processor per side;
 * an update on either side looks up the other side's current value and emits the joined change.
 * `inner` needs both values, `left` the left one, `outer` either.
 */
import type { StateStore } from '../../state/index.ts'
import type { ProcessorContext, ProcessorSupplier } from '../api.ts'
import type { Change } from '../change.ts'
import type { TableValueGetter } from './table.ts'

export type TableJoinKind = 'inner' | 'left' | 'outer'

function included(kind: TableJoinKind, left: unknown, right: unknown): boolean {
  switch (kind) {
    case 'inner':
      return left !== null && right !== null
    case 'left':
      return left !== null
    case 'outer':
      return left !== null || right !== null
  }
}

/** The processor of one side; `side` says whether updates arriving here are left or right values. */
export function tableTableJoinProcessor<K, VL, VR, VO>(options: {
  side: 'left' | 'right'
  kind: TableJoinKind
  /** Reads the other side's current value. */
  otherGetter: TableValueGetter<K, unknown>
  joiner: (left: VL | null, right: VR | null, key: K) => VO
}): ProcessorSupplier<K, Change<unknown>, K, Change<VO>> {
  return () => {
    let context: ProcessorContext<K, Change<VO>>
    let otherStore: StateStore
    const join = (mine: unknown, other: unknown, key: K): VO | null => {
      const left = (options.side === 'left' ? mine : other) as VL | null
      const right = (options.side === 'left' ? other : mine) as VR | null
      return included(options.kind, left, right) ? options.joiner(left, right, key) : null
    }
    return {
      init(ctx) {
        context = ctx
        otherStore = ctx.getStateStore(options.otherGetter.storeName)
      },
      process(record) {
        if (record.key === null || record.key === undefined) return
        const other = options.otherGetter.get(otherStore, record.key)
        const newValue = join(record.value.newValue, other, record.key)
        const oldValue = join(record.value.oldValue, other, record.key)
        if (newValue === null && oldValue === null) return
        context.forward({ key: record.key, value: { newValue, oldValue }, timestampMs: record.timestampMs, headers: record.headers })
      }
    }
  }
}
