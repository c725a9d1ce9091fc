/**
 * `system.health`: whether this instance has caught up with the topics (what a load balancer routes
 * on; also served as `/readyz`), how far it is, and what it holds. Without a valid token only the
 * first (`PublicHealth`): topic names, the instance id and counts are for token holders.
 */
import type { CommerceCounts } from './commerce-materializer.ts'
import type { MaterializerCounts } from './materializer.ts'
import type { PartitionProgress } from './topic-follower.ts'

/** Readiness states: `starting` until Kafka answered, `catching-up` until the start end offsets are reached. */
export const HealthStates = { starting: 'starting', catchingUp: 'catching-up', ready: 'ready' } as const
export type HealthState = (typeof HealthStates)[keyof typeof HealthStates]

/** The health report of one query API instance. */
export interface HealthReport {
  readonly status: HealthState
  readonly ready: boolean
  readonly instanceId: string
  /** Epoch ms. */
  readonly startedAt: number
  readonly uptimeMs: number
  /** Catch-up progress over all partitions: offsets read of the offsets to read at start. */
  readonly progress: {
    /** 0..1; 1 once ready. */
    readonly fraction: number
    readonly offsetsRead: number
    readonly offsetsToRead: number
    readonly partitions: PartitionProgress[]
  }
  /** What this instance holds: traffic windows, sessions and sensors; commerce sales windows, known products, rated products and categories. */
  readonly materialized: {
    readonly windows: number
    readonly sessions: number
    readonly sensors: number
    readonly salesWindows: number
    readonly products: number
    readonly ratedProducts: number
    readonly categories: number
  }
  /** Records read and applied; `refused` and `lastRefusal` cover every followed topic, traffic and commerce. */
  readonly records: MaterializerCounts & { readonly read: number; readonly commerce: CommerceCounts }
  readonly kafka: { readonly topics: string[]; readonly lastError: string | null }
}

/** What `system.health` tells a caller without a valid token: whether the instance is ready, nothing else. */
export interface PublicHealth {
  readonly status: HealthState
  readonly ready: boolean
}

/** The public part of `report`. */
export function publicHealth(report: HealthReport): PublicHealth {
  return { status: report.status, ready: report.ready }
}

/** Sums per-partition progress into the report's `progress`. */
export function summarizeProgress(partitions: PartitionProgress[], ready: boolean): HealthReport['progress'] {
  let read = 0
  let toRead = 0
  for (const p of partitions) {
    toRead += Math.max(0, p.target - p.start)
    read += Math.max(0, Math.min(p.position, p.target) - p.start)
  }
  return { fraction: ready ? 1 : toRead === 0 ? 0 : Math.min(1, read / toRead), offsetsRead: read, offsetsToRead: toRead, partitions }
}
