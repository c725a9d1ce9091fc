/**
 * What `system.lag`, `system.instances` and `system.topology` report about the traffic workers, read
 * from Kafka with the admin API: the consumer group of the workers is their application id (Kafka
 * Streams convention), its committed offsets give the lag, its members and assignments the instances.
 * Tasks are derived from the assignments and the topology: a task is `<sub-topology>_<partition>` for
 * each assigned partition of a sub-topology's source topics.
 */
import { type Admin, FetchIsolationLevels, ListOffsetTimestamps } from '@platformatic/kafka'
import { defaultKafkaClientSupplier, type KafkaClientSupplier } from '../kafka/index.ts'
import { QueryApiError, QueryApiErrorCodes } from './errors.ts'
import type { WorkerStatusView } from './worker-status.ts'
import type { TopologyDescription } from '../topology/index.ts'

/** Lag of one partition the workers' group has committed offsets for. */
export interface PartitionLag {
  readonly topic: string
  readonly partition: number
  /** Next offset the group will process; null when it committed nothing for the partition. */
  readonly committedOffset: number | null
  /** End offset of the partition (last stable offset). */
  readonly endOffset: number
  /** endOffset - committedOffset (endOffset when nothing is committed). */
  readonly lag: number
}

/** `system.lag`: the consumer-group lag of the workers per partition. */
export interface LagReport {
  readonly groupId: string
  readonly partitions: PartitionLag[]
  readonly totalLag: number
  /** When the offsets were read, epoch ms. */
  readonly measuredAt: number
}

/** One worker instance (a member of the group). */
export interface WorkerInstance {
  readonly memberId: string
  readonly clientId: string
  readonly clientHost: string
  /** Static membership id (`INSTANCE_ID` of a worker that uses it), else null. */
  readonly groupInstanceId: string | null
  readonly assignments: Array<{ topic: string; partitions: number[] }>
  /** Task ids `<sub-topology>_<partition>`, sorted; empty when no topology is known. */
  readonly tasks: string[]
  /**
   * What the worker last reported about itself on the status topic (null: no report for this
   * member). Always set by the server; optional in the type so that clients written before it
   * still typecheck.
   */
  readonly status?: WorkerStatusView | null
}

/** `system.instances`: the workers of the application and their tasks. */
export interface InstancesReport {
  readonly groupId: string
  /** Group state as Kafka reports it (STABLE, PREPARING_REBALANCE, EMPTY, DEAD...). */
  readonly state: string
  readonly instances: WorkerInstance[]
  /**
   * Status reports of instances that are not members of the group right now (stopped, or between
   * rebalances); stale ones are likely gone. Always set by the server (optional in the type, as
   * `status` above).
   */
  readonly unattachedReports?: WorkerStatusView[]
  readonly measuredAt: number
}

/** A node of the topology as JSON data. */
export type TopologyNodeView =
  | { readonly type: 'source'; readonly name: string; readonly topics: string[]; readonly predecessors: string[]; readonly successors: string[] }
  | { readonly type: 'processor'; readonly name: string; readonly stores: string[]; readonly predecessors: string[]; readonly successors: string[] }
  | { readonly type: 'sink'; readonly name: string; readonly topic: string | null; readonly predecessors: string[]; readonly successors: string[] }

/** `system.topology`: the workers' `describe()` as data, and its Kafka Streams text form. */
export interface TopologyView {
  readonly applicationId: string
  readonly subtopologies: Array<{ id: number; nodes: TopologyNodeView[] }>
  readonly globalStores: Array<{ id: number; source: { name: string; topic: string }; processor: { name: string; stores: string[] } }>
  readonly text: string
}

/** Converts a `TopologyDescription` into plain JSON data. */
export function topologyView(applicationId: string, description: TopologyDescription): TopologyView {
  return {
    applicationId,
    subtopologies: description.subtopologies.map((s) => ({
      id: s.id,
      nodes: s.nodes.map((n): TopologyNodeView => {
        switch (n.type) {
          case 'source':
            return { type: 'source', name: n.name, topics: [...n.topics], predecessors: [...n.predecessors], successors: [...n.successors] }
          case 'processor':
            return { type: 'processor', name: n.name, stores: [...n.stores], predecessors: [...n.predecessors], successors: [...n.successors] }
          case 'sink':
            return { type: 'sink', name: n.name, topic: n.topic, predecessors: [...n.predecessors], successors: [...n.successors] }
        }
      })
    })),
    globalStores: description.globalStores.map((g) => ({
      id: g.id,
      source: { ...g.source },
      processor: { name: g.processor.name, stores: [...g.processor.stores] }
    })),
    text: description.toString()
  }
}

/** Maps assigned topic-partitions to task ids with the sub-topologies' source topics. */
export function tasksOf(assignments: ReadonlyArray<{ topic: string; partitions: readonly number[] }>, topology: TopologyView | undefined): string[] {
  if (topology === undefined) return []
  const subByTopic = new Map<string, number>()
  for (const sub of topology.subtopologies) {
    for (const node of sub.nodes) if (node.type === 'source') for (const t of node.topics) subByTopic.set(t, sub.id)
  }
  const tasks = new Set<string>()
  for (const a of assignments) {
    const sub = subByTopic.get(a.topic)
    if (sub !== undefined) for (const p of a.partitions) tasks.add(`${sub}_${p}`)
  }
  return [...tasks].sort((x, y) => {
    const [xs, xp] = x.split('_').map(Number) as [number, number]
    const [ys, yp] = y.split('_').map(Number) as [number, number]
    return xs - ys || xp - yp
  })
}

/** Options of `SystemInfo`. */
export interface SystemInfoOptions {
  brokers: readonly string[]
  /** The traffic workers' application id = their consumer group id. */
  applicationId: string
  /** The workers' topology, when known (see `system.topology`). */
  topology?: (() => TopologyDescription) | undefined
  clientId?: string
  /** Time limit of the admin calls of one request, ms. Default 10,000. */
  timeoutMs?: number
  /** The workers' latest status reports (from `<applicationId>-status`). Default: none. */
  statuses?: () => WorkerStatusView[]
  /** Where the admin client comes from (TLS, authentication). Default: plain clients. */
  clients?: KafkaClientSupplier
}

/** Reads the workers' group state from Kafka for the system.* procedures. */
export class SystemInfo {
  readonly applicationId: string
  private readonly admin: Admin
  private readonly timeoutMs_: number
  private readonly topology_: TopologyView | undefined
  private readonly statuses_: () => WorkerStatusView[]

  constructor(options: SystemInfoOptions) {
    this.statuses_ = options.statuses ?? (() => [])
    this.applicationId = options.applicationId
    this.timeoutMs_ = options.timeoutMs ?? 10_000
    this.admin = (options.clients ?? defaultKafkaClientSupplier).getAdmin({
      clientId: options.clientId ?? 'runnel-query-api-admin',
      bootstrapBrokers: [...options.brokers]
    })
    // describe() is pure: computed once.
    this.topology_ = options.topology === undefined ? undefined : topologyView(options.applicationId, options.topology())
  }

  /** The workers' topology; NOT_AVAILABLE when none was configured. */
  topology(): TopologyView {
    if (this.topology_ === undefined) {
      throw new QueryApiError(QueryApiErrorCodes.NOT_AVAILABLE, "the workers' topology is not known to this query API (no topology provider configured)")
    }
    return this.topology_
  }

  async lag(): Promise<LagReport> {
    return this.withTimeout('read the consumer-group lag', async () => {
      const [group] = await this.admin.listConsumerGroupOffsets({ groups: [this.applicationId] })
      const committed = (group?.topics ?? []).flatMap((t) =>
        t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset) }))
      )
      if (committed.length === 0) return { groupId: this.applicationId, partitions: [], totalLag: 0, measuredAt: Date.now() }
      const byTopic = new Map<string, number[]>()
      for (const c of committed) {
        let list = byTopic.get(c.topic)
        if (list === undefined) byTopic.set(c.topic, (list = []))
        list.push(c.partition)
      }
      const listed = await this.admin.listOffsets({
        topics: [...byTopic].map(([name, partitions]) => ({
          name,
          partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp: ListOffsetTimestamps.LATEST }))
        })),
        isolationLevel: FetchIsolationLevels.READ_COMMITTED
      })
      const ends = new Map<string, number>()
      for (const t of listed) for (const p of t.partitions) ends.set(`${t.name}\u0000${p.partitionIndex}`, Number(p.offset))
      const partitions = committed
        .map((c): PartitionLag => {
          const endOffset = ends.get(`${c.topic}\u0000${c.partition}`) ?? 0
          // -1 is Kafka's "no committed offset" for a partition listed explicitly.
          const committedOffset = c.offset < 0 ? null : c.offset
          return { topic: c.topic, partition: c.partition, committedOffset, endOffset, lag: Math.max(0, endOffset - (committedOffset ?? 0)) }
        })
        .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
      return { groupId: this.applicationId, partitions, totalLag: partitions.reduce((s, p) => s + p.lag, 0), measuredAt: Date.now() }
    })
  }

  async instances(): Promise<InstancesReport> {
    return this.withTimeout("describe the workers' consumer group", async () => {
      const groups = await this.admin.describeGroups({ groups: [this.applicationId] })
      const group = groups.get(this.applicationId)
      const reports = this.statuses_()
      const byMember = new Map(reports.filter((r) => r.memberId !== '').map((r) => [r.memberId, r]))
      const attached = new Set<WorkerStatusView>()
      const instances = [...(group?.members.values() ?? [])]
        .map((m): WorkerInstance => {
          const assignments = [...(m.assignments?.values() ?? [])]
            .map((a) => ({ topic: a.topic, partitions: [...a.partitions].sort((x, y) => x - y) }))
            .sort((a, b) => (a.topic < b.topic ? -1 : 1))
          const status = byMember.get(m.id) ?? null
          if (status !== null) attached.add(status)
          return {
            memberId: m.id,
            clientId: m.clientId,
            clientHost: m.clientHost,
            groupInstanceId: m.groupInstanceId ?? null,
            assignments,
            tasks: tasksOf(assignments, this.topology_),
            status
          }
        })
        .sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : a.memberId < b.memberId ? -1 : 1))
      return {
        groupId: this.applicationId,
        state: group === undefined ? 'DEAD' : String(group.state),
        instances,
        unattachedReports: reports.filter((r) => !attached.has(r)),
        measuredAt: Date.now()
      }
    })
  }

  async close(): Promise<void> {
    await this.admin.close()
  }

  private async withTimeout<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new QueryApiError(QueryApiErrorCodes.KAFKA_UNAVAILABLE, `could not ${what}: Kafka did not answer within ${this.timeoutMs_} ms`)),
        this.timeoutMs_
      )
    })
    try {
      return await Promise.race([fn(), timeout])
    } catch (err) {
      if (err instanceof QueryApiError) throw err
      throw new QueryApiError(QueryApiErrorCodes.KAFKA_UNAVAILABLE, `could not ${what}: ${(err as Error).message}`, { cause: err })
    } finally {
      clearTimeout(timer)
    }
  }
}
