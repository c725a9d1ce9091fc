/**
 * Partition counts of every topic a topology reads or writes internally, as Kafka Streams derives
 * them: user topics are given (`known`), a repartition topic without a fixed count gets the largest
 * count among the source topics of the sub-topologies writing it, and co-partitioned groups (joins)
 * must agree: user topics of a group must have equal counts (else an error naming the join), and
 * derived repartition topics of a group take the group's count. Changelogs follow their sub-topology.
 */
import type { TopologyPlan } from '../processors/index.ts'
import { TopologyError } from './errors.ts'

export function resolvePartitionCounts(plan: TopologyPlan, known: (topic: string) => number | undefined): Map<string, number> {
  const repartition = new Map(plan.internalTopics.filter((t) => t.kind === 'repartition').map((t) => [t.name, t.partitions]))
  const counts = new Map<string, number>()
  for (const sub of plan.subtopologies) {
    for (const topic of sub.sourceTopics) {
      if (repartition.has(topic)) continue
      const count = known(topic) ?? plan.declaredPartitions.get(topic)
      if (count === undefined) throw new TopologyError('UNKNOWN_PARTITIONS', `the partition count of source topic ${topic} is unknown`)
      const declared = plan.declaredPartitions.get(topic)
      if (declared !== undefined && declared !== count) {
        throw new TopologyError('PARTITION_MISMATCH', `topic ${topic} is declared with ${declared} partitions but has ${count}`)
      }
      counts.set(topic, count)
    }
  }
  for (const global of plan.globalStores) {
    const count = known(global.topic) ?? plan.declaredPartitions.get(global.topic)
    if (count !== undefined) counts.set(global.topic, count)
  }
  for (const [topic, fixed] of repartition) if (fixed !== undefined) counts.set(topic, fixed)

  // Sub-topologies writing each repartition topic.
  const writers = new Map<string, number[]>()
  plan.subtopologies.forEach((sub, index) => {
    for (const node of sub.nodes) {
      if (node.kind === 'sink' && typeof node.topic === 'string' && repartition.has(node.topic)) {
        writers.set(node.topic, [...(writers.get(node.topic) ?? []), index])
      }
    }
  })
  for (let round = 0; round <= plan.subtopologies.length + 1; round++) {
    let changed = false
    for (const [topic, fixed] of repartition) {
      if (fixed !== undefined) continue
      let max: number | undefined
      for (const index of writers.get(topic) ?? []) {
        for (const source of plan.subtopologies[index]?.sourceTopics ?? []) {
          const c = counts.get(source)
          if (c !== undefined) max = Math.max(max ?? 0, c)
        }
      }
      if (max !== undefined && (counts.get(topic) ?? 0) < max) {
        counts.set(topic, max)
        changed = true
      }
    }
    for (const group of plan.copartitionGroups) {
      const userTopics = group.topics.filter((t) => !repartition.has(t) || repartition.get(t) !== undefined)
      const userCounts = new Set(userTopics.map((t) => counts.get(t)).filter((c) => c !== undefined))
      if (userCounts.size > 1) {
        throw new TopologyError(
          'NOT_COPARTITIONED',
          `${group.nodeName} joins topics that are not co-partitioned: ${userTopics.map((t) => `${t} (${counts.get(t)})`).join(', ')}`,
          { nodeName: group.nodeName }
        )
      }
      const derived = group.topics.filter((t) => repartition.has(t) && repartition.get(t) === undefined)
      const target = userCounts.size === 1 ? ([...userCounts][0] as number) : Math.max(0, ...derived.map((t) => counts.get(t) ?? 0))
      if (target === 0) continue
      for (const topic of derived) {
        if (counts.get(topic) !== target) {
          counts.set(topic, target)
          changed = true
        }
      }
    }
    if (!changed) break
  }
  for (const [topic] of repartition) {
    if (!counts.has(topic)) throw new TopologyError('UNKNOWN_PARTITIONS', `cannot derive the partition count of repartition topic ${topic}`)
  }
  return counts
}
