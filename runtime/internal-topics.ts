/**
 * What the runtime checks and creates on the cluster before it joins the group: every source topic
 * exists; co-partitioned topics (joins, co-groups) have equal partition counts; repartition topics
 * get their declared count or the largest count of the sub-topology that writes them; changelogs
 * get one partition per task of their sub-topology (compacted; windowed stores compacted and deleted
 * after their retention). Internal topics that exist already must have the expected count.
 */
import type { Admin } from '@platformatic/kafka'
import type { Logger } from 'pino'
import type { TopologyPlan } from '../processors/index.ts'
import { awaitTopicsReady } from '../kafka/index.ts'
import { resolvePartitionCounts, TopologyError } from '../topology/index.ts'
import { MissingSourceTopicError, PartitionCountError, RuntimeError } from './errors.ts'

/** A topic the runtime needs, with its partition count and configs. */
export interface TopicSpec {
  readonly name: string
  readonly partitions: number
  readonly configs: Readonly<Record<string, string>>
}

/** Partition counts of sources, known sinks and internal topics, and the internal topics to create. */
export interface TopicLayout {
  readonly partitionCounts: Map<string, number>
  readonly internalTopics: TopicSpec[]
}

/**
 * Computes the layout from the partition counts of existing user topics (`existing`). Throws
 * `MissingSourceTopicError` or `PartitionCountError` (co-partitioning) with the topics named.
 */
export function planTopics(plan: TopologyPlan, existing: ReadonlyMap<string, number>, extraTopics: readonly TopicSpec[] = []): TopicLayout {
  const internal = new Set(plan.internalTopics.map((t) => t.name))
  const sources = new Set(plan.subtopologies.flatMap((s) => s.sourceTopics))
  for (const g of plan.globalStores) sources.add(g.topic)
  const missing = [...sources].filter((t) => !internal.has(t) && !existing.has(t)).sort()
  if (missing.length > 0) throw new MissingSourceTopicError(missing)
  let counts: Map<string, number>
  try {
    counts = resolvePartitionCounts(plan, (topic) => existing.get(topic))
  } catch (err) {
    if (err instanceof TopologyError) throw new PartitionCountError(err.message, { cause: err })
    throw err
  }
  const partitionCounts = new Map<string, number>(existing)
  for (const [topic, count] of counts) partitionCounts.set(topic, count)
  const internalTopics: TopicSpec[] = []
  for (const topic of plan.internalTopics) {
    let partitions: number | undefined
    if (topic.kind === 'repartition') {
      partitions = counts.get(topic.name)
    } else {
      const sub = plan.subtopologies.find((s) => [...s.changelogTopics.values()].includes(topic.name))
      partitions = sub ? Math.max(0, ...sub.sourceTopics.map((t) => counts.get(t) ?? 0)) : undefined
    }
    if (partitions === undefined || partitions < 1) {
      throw new PartitionCountError(`cannot derive the partition count of internal topic ${topic.name}`)
    }
    partitionCounts.set(topic.name, partitions)
    internalTopics.push({ name: topic.name, partitions, configs: topic.config })
  }
  for (const extra of extraTopics) {
    internalTopics.push(extra)
    partitionCounts.set(extra.name, existing.get(extra.name) ?? extra.partitions)
  }
  return { partitionCounts, internalTopics }
}

/** Partition counts of every existing topic among `topics`. */
export async function existingPartitionCounts(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  const listed = new Set(await admin.listTopics())
  const present = [...new Set(topics)].filter((t) => listed.has(t))
  const counts = new Map<string, number>()
  if (present.length === 0) return counts
  const metadata = await admin.metadata({ topics: present, forceUpdate: true })
  for (const topic of present) {
    const info = metadata.topics.get(topic)
    if (info) counts.set(topic, info.partitionsCount)
  }
  return counts
}

/**
 * Creates the internal topics that do not exist (concurrent creation by another instance is fine)
 * and checks the partition count of those that do. Waits until every partition has a leader.
 */
export async function createInternalTopics(admin: Admin, specs: readonly TopicSpec[], replicas: number, logger: Logger): Promise<void> {
  const existing = await existingPartitionCounts(
    admin,
    specs.map((s) => s.name)
  )
  for (const spec of specs) {
    const count = existing.get(spec.name)
    if (count !== undefined) {
      if (count !== spec.partitions) {
        throw new PartitionCountError(
          `internal topic ${spec.name} has ${count} partitions but the topology needs ${spec.partitions}: ` +
            'delete it (and reset the application) or restore the original source topic partition counts'
        )
      }
      continue
    }
    try {
      await admin.createTopics({
        topics: [spec.name],
        partitions: spec.partitions,
        replicas,
        configs: Object.entries(spec.configs).map(([name, value]) => ({ name, value }))
      })
      logger.info({ topic: spec.name, partitions: spec.partitions, configs: spec.configs }, 'internal topic created')
    } catch (err) {
      if (!hasApiId(err, 'TOPIC_ALREADY_EXISTS')) {
        throw new RuntimeError('RUNTIME_TOPIC_CREATION_FAILED', `cannot create internal topic ${spec.name}: ${(err as Error).message}`, { cause: err })
      }
    }
  }
  try {
    await awaitTopicsReady(
      admin,
      specs.map((s) => ({ name: s.name, partitions: s.partitions }))
    )
  } catch (err) {
    throw new RuntimeError('RUNTIME_TOPIC_CREATION_FAILED', `internal ${(err as Error).message}`, { cause: err })
  }
}

function hasApiId(err: unknown, apiId: string): boolean {
  const seen = new Set<unknown>()
  const walk = (e: unknown): boolean => {
    if (e === null || typeof e !== 'object' || seen.has(e)) return false
    seen.add(e)
    if ((e as { apiId?: string }).apiId === apiId) return true
    const nested = (e as { errors?: unknown[] }).errors
    return Array.isArray(nested) && nested.some(walk)
  }
  return walk(err)
}
